"""Validate + quarantine against the real Postgres and S3, on scratch batches with injected defects."""

from __future__ import annotations

import json
import logging
import random
from datetime import date

import pytest
from support.quality_rows import enrollment, entity, insert_rows, make_ric, person, wrong_check

from govlake.lake import s3_client
from govlake.quality import get_suite, quarantine_failures, validate
from govlake.quality.suites import DIMENSIONS

pytestmark = pytest.mark.integration

HOUSEHOLD = "stg_public_security__household_registrations"
MARKET = "stg_market_regulation__market_entities"
SOCIAL = "stg_human_resources__social_insurance_enrollments"


def _household_batch_with_defects(day: date) -> tuple[list[dict], set[tuple[int, str]]]:
    """200 clean rows, then one row per defect kind; returns the rows and the (source_row, rule) expected."""
    rng = random.Random(7)
    rows = [person(day, i, rng) for i in range(1, 201)]
    expected: set[tuple[int, str]] = set()

    def defect(row: int, rule: str, **changes) -> None:
        rows[row - 1].update(changes)
        expected.add((row, rule))

    defect(10, "resident_id_check_digit", resident_id=wrong_check(rows[9]["resident_id"]))
    defect(20, "resident_id_format", resident_id=rows[19]["resident_id"][:17])
    defect(
        30,
        "birth_date_matches_resident_id",
        birth_date=date(1980, 2, 29) if rows[29]["birth_date"].year != 1980 else date(1981, 3, 1),
    )
    future = date(2000, 5, 5)
    defect(
        40, "birth_date_not_after_logical_date", birth_date=future, resident_id=make_ric("520102", future, 40)
    )
    defect(50, "death_date_not_after_logical_date", status="死亡", death_date=date(1999, 3, 1))
    defect(60, "division_code_is_county", division_code="520100")  # a prefecture, not a county
    defect(70, "gender_in_set", gender="未知")
    defect(80, "status_in_set", status="失踪")
    defect(90, "resident_id_not_null", resident_id=None)
    # the later of two rows with one resident ID fails; the first is kept
    defect(
        101,
        "resident_id_unique_in_batch",
        resident_id=rows[100 - 1]["resident_id"],
        birth_date=rows[99]["birth_date"],
    )
    # 死亡 without a death date: a consistency *warning*, recorded but not quarantined
    rows[110 - 1].update(status="死亡")
    return rows, expected


def _quarantined(conn, dataset: str, day: date) -> set[tuple[int, str]]:
    rows = conn.execute(
        "select source_row, rule from platform.quarantine where dataset = %s and logical_date = %s and stage = 'validate'",
        (dataset, day),
    ).fetchall()
    assert len(rows) == len(set(rows)), "a row appears twice for one rule"
    return set(rows)


def _s3_lines(settings, suite_name: str, day: date) -> list[dict]:
    suite = get_suite(suite_name)
    key = f"{suite.department}/{suite.dataset}/{day.isoformat()}/validate.jsonl"
    response = s3_client(settings).get_object("quarantine", key)
    try:
        return [json.loads(line) for line in response.read().decode("utf-8").splitlines()]
    finally:
        response.close()
        response.release_conn()


def test_injected_defects_are_quarantined_exactly_in_table_and_s3(
    scratch_warehouse, scratch_settings
) -> None:
    day = date(1999, 1, 1)
    rows, expected = _household_batch_with_defects(day)
    insert_rows(scratch_warehouse, get_suite(HOUSEHOLD).target, rows)
    # another date's rows are not part of this batch
    insert_rows(
        scratch_warehouse, get_suite(HOUSEHOLD).target, [dict(rows[9], _logical_date=date(1999, 1, 2))]
    )

    outcome = validate(HOUSEHOLD, day, scratch_settings)
    summary = quarantine_failures(HOUSEHOLD, day, outcome, scratch_settings)

    assert outcome.success, outcome.summary()  # every defect is under 5 % of the batch
    assert _quarantined(scratch_warehouse, "household_registration", day) == expected
    assert summary.rows_quarantined == len(expected) and summary.distinct_rows == len(expected)
    by_rule = {r.rule: r for r in outcome.results}
    assert by_rule["resident_id_check_digit"].element_count == 200
    assert by_rule["death_date_matches_status"].unexpected_count == 1
    assert (
        not by_rule["death_date_matches_status"].success
        and by_rule["death_date_matches_status"] in outcome.warnings
    )

    stored = scratch_warehouse.execute(
        "select rule, dimension, severity, column_name, message, record->>'resident_id', batch_id, source_file"
        " from platform.quarantine where source_row = 10 and logical_date = %s",
        (day,),
    ).fetchone()
    bad_id = rows[9]["resident_id"]
    assert stored[:4] == ("resident_id_check_digit", "accuracy", "blocking", "resident_id")
    assert stored[4].startswith(f"公民身份号码 {bad_id} 校验码错误 (应为 ") and stored[4].endswith(
        "— rule resident_id_check_digit"
    )
    assert stored[5] == bad_id
    assert stored[6] == "public_security__household_registration__1999-01-01" and stored[7].endswith(
        "test.csv"
    )
    dims = dict(
        scratch_warehouse.execute("select distinct rule, dimension from platform.quarantine").fetchall()
    )
    assert (
        dims["division_code_is_county"] == "conformity"
        and dims["birth_date_matches_resident_id"] == "consistency"
    )

    lines = _s3_lines(scratch_settings, HOUSEHOLD, day)
    assert {(line["source_row"], line["rule"]) for line in lines} == expected
    assert all(
        line["stage"] == "validate" and line["record"]["_logical_date"] == "1999-01-01" for line in lines
    )
    assert (
        summary.s3_uri == "s3://quarantine/public_security/household_registration/1999-01-01/validate.jsonl"
    )


def test_rerun_of_the_same_date_changes_nothing(scratch_warehouse, scratch_settings) -> None:
    day = date(1999, 1, 3)
    rows, expected = _household_batch_with_defects(day)
    insert_rows(scratch_warehouse, get_suite(HOUSEHOLD).target, rows)
    first = quarantine_failures(HOUSEHOLD, day, validate(HOUSEHOLD, day, scratch_settings), scratch_settings)
    second = quarantine_failures(HOUSEHOLD, day, validate(HOUSEHOLD, day, scratch_settings), scratch_settings)

    assert first.rows_by_rule == second.rows_by_rule
    assert _quarantined(scratch_warehouse, "household_registration", day) == expected
    count = scratch_warehouse.execute(
        "select count(*) from platform.quarantine where logical_date = %s", (day,)
    ).fetchone()
    assert count[0] == len(expected)
    runs = scratch_warehouse.execute(
        "select count(*) from platform.validation_runs where validation_id = %s", (f"{HOUSEHOLD}__{day}",)
    ).fetchone()
    assert runs[0] == 1
    assert len(_s3_lines(scratch_settings, HOUSEHOLD, day)) == len(expected)


def test_batch_above_threshold_fails_but_its_bad_rows_are_still_quarantined(
    scratch_warehouse, scratch_settings
) -> None:
    day = date(1999, 1, 4)
    rng = random.Random(3)
    rows = [entity(day, i, rng) for i in range(1, 101)]
    for row in rows[:10]:  # 10 % bad check characters: above the 5 % the suite tolerates
        row["credit_code"] = wrong_check(row["credit_code"])
    rows[50]["legal_rep_id"] = wrong_check(rows[50]["legal_rep_id"])  # a warning: recorded, not quarantined
    insert_rows(scratch_warehouse, get_suite(MARKET).target, rows)

    outcome = validate(MARKET, day, scratch_settings)
    summary = quarantine_failures(MARKET, day, outcome, scratch_settings)

    assert not outcome.success
    assert [r.rule for r in outcome.blocking_failures] == ["credit_code_check_digit"]
    failure = outcome.blocking_failures[0]
    assert (failure.unexpected_count, failure.element_count, failure.unexpected_percent) == (10, 100, 10.0)
    assert "credit_code_check_digit" in outcome.summary()
    assert summary.rows_by_rule == {"credit_code_check_digit": 10}
    assert _quarantined(scratch_warehouse, "market_entities", day) == {
        (i, "credit_code_check_digit") for i in range(1, 11)
    }
    run = scratch_warehouse.execute(
        "select success, blocking_failures from platform.validation_runs where validation_id = %s",
        (outcome.validation_id,),
    ).fetchone()
    assert run == (False, 1)
    warning = scratch_warehouse.execute(
        "select success, severity, unexpected_count from platform.validation_results"
        " where validation_id = %s and expectation = 'legal_rep_id_valid'",
        (outcome.validation_id,),
    ).fetchone()
    assert warning == (False, "warning", 1)


def test_clean_batch_passes_and_cross_department_conflicts_are_only_warnings(
    scratch_warehouse, scratch_settings
) -> None:
    day = date(1999, 1, 5)
    rng = random.Random(5)
    people = [person(day, i, rng) for i in range(1, 51)]
    insert_rows(scratch_warehouse, get_suite(HOUSEHOLD).target, people)
    enrollments = [enrollment(day, i, p) for i, p in enumerate(people, start=1)]
    enrollments[0]["name"] = "另一个名字"
    insert_rows(scratch_warehouse, get_suite(SOCIAL).target, enrollments)
    # a stale object from an earlier run of this date must not survive a clean re-run
    s3_client(scratch_settings).put_object(
        "quarantine", "human_resources/social_insurance_enrollment/1999-01-05/validate.jsonl", _Empty(), 0
    )

    outcome = validate(SOCIAL, day, scratch_settings)
    summary = quarantine_failures(SOCIAL, day, outcome, scratch_settings)

    assert outcome.success and not outcome.blocking_failures, outcome.summary()
    assert [r.rule for r in outcome.warnings] == ["name_matches_household_registration"]
    assert summary.rows_quarantined == 0 and summary.s3_uri is None
    assert _quarantined(scratch_warehouse, "social_insurance_enrollment", day) == set()
    names = [
        o.object_name
        for o in s3_client(scratch_settings).list_objects("quarantine", "human_resources/", recursive=True)
    ]
    assert "human_resources/social_insurance_enrollment/1999-01-05/validate.jsonl" not in names


def test_results_rows_carry_dimension_and_severity_for_every_expectation(
    scratch_warehouse, scratch_settings
) -> None:
    day = date(1999, 1, 6)
    insert_rows(
        scratch_warehouse,
        get_suite(HOUSEHOLD).target,
        [person(day, i, random.Random(i)) for i in range(1, 21)],
    )
    outcome = validate(HOUSEHOLD, day, scratch_settings)
    rows = scratch_warehouse.execute(
        "select expectation, dimension, severity, element_count from platform.validation_results where validation_id = %s",
        (outcome.validation_id,),
    ).fetchall()
    assert {r[0] for r in rows} == {r.rule for r in get_suite(HOUSEHOLD).rules}
    assert all(r[1] in DIMENSIONS and r[2] in ("blocking", "warning") and r[3] == 20 for r in rows)


def test_library_gates(scratch_warehouse, scratch_settings) -> None:
    day = date(1999, 1, 7)
    empty = validate("audit.population", day, scratch_settings)
    assert [r.rule for r in empty.blocking_failures] == ["population_not_empty"]

    rng = random.Random(9)
    people = [person(day, i, rng) for i in range(1, 31)]
    library = [
        {k: p[k] for k in ("resident_id", "name", "gender", "birth_date", "division_code", "status")}
        | {"built_for_date": day}
        for p in people
    ]
    insert_rows(scratch_warehouse, "audit.population", library)
    assert validate("population", day, scratch_settings).success

    insert_rows(
        scratch_warehouse,
        "audit.population",
        [dict(library[0]), dict(library[1], resident_id=wrong_check(library[1]["resident_id"]))],
    )
    outcome = validate("population", day, scratch_settings)
    assert {r.rule for r in outcome.blocking_failures} == {"resident_id_unique", "resident_id_valid"}
    assert quarantine_failures("population", day, outcome, scratch_settings).rows_quarantined == 0
    valid = next(r for r in outcome.results if r.rule == "resident_id_valid")
    assert valid.details["sample_messages"][0].startswith("公民身份号码 ")


def test_a_library_gate_never_pulls_its_table_into_the_client(
    scratch_warehouse, scratch_settings, caplog
) -> None:
    """GX learns a query asset's columns by running the query unlimited: with the library as a query, the
    gate held the whole population in memory (856 MiB at a million persons). As a table asset, GX reads
    the columns from the catalog, and every statement that reads the table aggregates or is limited."""
    day = date(1999, 1, 7)
    rng = random.Random(4)
    insert_rows(
        scratch_warehouse,
        "audit.population",
        [
            {k: p[k] for k in ("resident_id", "name", "gender", "birth_date", "division_code", "status")}
            | {"built_for_date": day}
            for p in (person(day, i, rng) for i in range(1, 11))
        ],
    )
    with caplog.at_level(logging.INFO, logger="sqlalchemy.engine.Engine"):
        assert validate("population", day, scratch_settings).success
    statements = [
        " ".join(r.getMessage().lower().split()) for r in caplog.records if r.name.startswith("sqlalchemy")
    ]
    assert any("audit.population" in s or "population" in s for s in statements)  # GX did query it
    assert "select * from audit.population" not in statements
    assert not any(s.startswith("select * from audit.population") and "limit" not in s for s in statements)


class _Empty:
    def read(self, size: int = -1) -> bytes:
        return b""


def test_a_missing_target_fails_the_gate_with_the_error_recorded(scratch_warehouse, scratch_settings) -> None:
    day = date(1999, 1, 7)
    scratch_warehouse.execute("alter table audit.legal_entities rename to legal_entities_elsewhere")
    try:
        outcome = validate("legal_entities", day, scratch_settings)
    finally:
        scratch_warehouse.execute("alter table audit.legal_entities_elsewhere rename to legal_entities")
    assert not outcome.success
    assert len(outcome.blocking_failures) == len(get_suite("legal_entities").rules)
    assert "legal_entities" in (outcome.blocking_failures[0].details.get("exception") or "")
