"""The one-pass scan (``rule_scan``) against the per-rule path it replaces, on generated batches.

Every staging suite gets a batch drawn from pools that hit its rules: the string literals of its own rule
SQL (set members, codes), valid and broken resident IDs and credit codes, county and non-county codes,
dates before and after the logical date, nulls, and duplicated keys. Both engines validate and quarantine
the same batch; the validation results, the quarantine records (file, row, rule, dimension, severity,
column, message, row) and the S3 lines must be identical.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from support.quality_rows import insert_rows, make_ric, make_uscc, wrong_check

from govlake.quality import load_suites, quarantine_failures, validate
from govlake.quality.rule_scan import VERDICTS, fold_suite
from govlake.registry import TOMBSTONE_FILE_SUFFIX, get_dataset

pytestmark = pytest.mark.integration

DAY = date(1999, 1, 6)
ROWS = 400
STAGING = sorted(s.name for s in load_suites().values() if s.kind == "staging")
COUNTIES = ("520102", "520103", "520111", "520302", "522301")


def _pools(suite) -> list[str]:
    literals = set()
    for rule in suite.rules:
        literals |= set(re.findall(r"'([^'{}]{1,40})'", rule.query or rule.kwargs["unexpected_rows_query"]))
    rng = random.Random(3)
    ids = [make_ric(rng.choice(COUNTIES), date(rng.randint(1940, 1998), 3, 9), i) for i in range(30)]
    codes = [make_uscc(rng.choice(COUNTIES), i) for i in range(20)]
    broken = [wrong_check(v) for v in ids[:5] + codes[:5]] + [v[:17] for v in ids[:3]] + ["X" * 18]
    months = ["1998-12", "1999-01", "1999-13", "1999-1"]
    return sorted(literals) + ids + codes + broken + list(COUNTIES) * 4 + ["520100", "520000", ""] + months


def _value(sql_type: str, pool: list[str], rng: random.Random):
    if rng.random() < 0.06:
        return None
    if sql_type == "text":
        return rng.choice(pool)
    if sql_type == "date":
        return DAY + timedelta(days=rng.choice((-20000, -9000, -400, -30, -1, 0, 1, 3, 400)))
    if sql_type == "timestamptz":
        return datetime(1999, 1, 6, 12, tzinfo=UTC) + timedelta(days=rng.choice((-300, -2, 0, 1, 2, 5)))
    if sql_type == "bigint":
        return rng.choice((-5, 0, 1, 3, 12, 1999, 2000, 100000))
    return rng.choice((-1, 0, 0.5, 3, 100, 1e9))


def _batch(suite, seed: int) -> list[dict]:
    dataset = get_dataset(f"{suite.department}__{suite.dataset}")
    rng = random.Random(seed)
    pool = _pools(suite)
    rows = []
    for n in range(1, ROWS + 1):
        row = {c.name: _value(c.sql_type, pool, rng) for c in dataset.columns}
        if n > 20 and rng.random() < 0.15:  # a duplicate of an earlier row's key (or of the whole row)
            row.update({k: v for k, v in rows[rng.randrange(len(rows))].items() if not k.startswith("_")})
        file = f"landing/{suite.department}/{suite.dataset}/{DAY}/part-{n % 2}.csv"
        if n % 97 == 0:
            file = f"landing/x/{DAY}/deleted{TOMBSTONE_FILE_SUFFIX}"
        row |= {
            "_batch_id": dataset.batch_id(DAY.isoformat()),
            "_logical_date": DAY,
            "_source_file": file,
            "_source_row": n // 2 + 1,
            "_ingested_at": datetime(1999, 1, 7, tzinfo=UTC),
            "_deleted": n % 97 == 0,
        }
        rows.append(row)
    return rows


def _results(outcome) -> dict:
    return {
        r.rule: (
            r.success,
            r.element_count,
            r.unexpected_count,
            r.unexpected_percent,
            r.severity,
            r.dimension,
        )
        for r in outcome.results
    }


def _records(conn, suite) -> list[tuple]:
    return conn.execute(
        "select batch_id, source_file, source_row, rule, dimension, severity, column_name, message,"
        " record, batch_ingested_at, superseded_at from platform.quarantine"
        " where department = %s and dataset = %s and logical_date = %s"
        " order by rule, source_file, source_row, message",
        (suite.department, suite.dataset, DAY),
    ).fetchall()


@pytest.mark.parametrize("parts", ["1", "3"])
@pytest.mark.parametrize("name", STAGING)
def test_one_pass_equals_per_rule(name, parts, scratch_warehouse, scratch_settings, monkeypatch) -> None:
    """In one part, and cut into three (each on its own connection, as a large batch is): the same."""
    monkeypatch.setenv("GOVLAKE_VALIDATION_PARTS", parts)
    suite = load_suites()[name]
    insert_rows(scratch_warehouse, suite.target, _batch(suite, seed=len(name)))

    per_rule = validate(name, DAY, scratch_settings, engine="per_rule")
    summary_per_rule = quarantine_failures(name, DAY, per_rule, scratch_settings)
    records_per_rule = _records(scratch_warehouse, suite)
    assert per_rule.scan_run_id is None

    one_pass = validate(name, DAY, scratch_settings, engine="one_pass")
    assert one_pass.scan_run_id is not None
    assert _results(one_pass) == _results(per_rule)
    quarantined_messages = {r[7].rsplit(" — rule ", 1)[0] for r in records_per_rule}
    for a, b in zip(one_pass.results, per_rule.results, strict=True):
        samples = a.details.get("sample_messages", [])
        assert len(samples) == len(b.details.get("sample_messages", [])), a.rule
        if a.severity == "blocking":
            assert set(samples) <= quarantined_messages, a.rule
    # the same findings of the same delivery: the re-run replaces the records (a plain re-run, no supersede)
    summary_one_pass = quarantine_failures(name, DAY, one_pass, scratch_settings)
    assert summary_one_pass.rows_by_rule == summary_per_rule.rows_by_rule
    assert summary_one_pass.distinct_rows == summary_per_rule.distinct_rows
    assert summary_one_pass.superseded == 0
    assert _records(scratch_warehouse, suite) == records_per_rule
    # the scan's scratch rows are gone once the quarantine has read them
    left = scratch_warehouse.execute(
        f"select count(*) from {VERDICTS} where run_id = %s", (one_pass.scan_run_id,)
    ).fetchone()[0]
    assert left == 0
    scratch = scratch_warehouse.execute(
        "select count(*) from pg_tables where schemaname = 'platform' and tablename like 'rule\\_scan%'"
    ).fetchone()[0]
    assert scratch == 0  # the duplicates' scratch tables are dropped

    failing = {r.rule for r in one_pass.results if r.unexpected_count}
    row_rules = {r.rule for r in suite.rules if r.is_row_rule}
    # the generated batch must exercise the suite: most of its rules find rows
    assert len(failing) >= len(row_rules) // 2, (name, sorted(row_rules - failing))


def test_every_household_defect_kind_is_folded_and_found(scratch_warehouse, scratch_settings) -> None:
    """The hand-made batch with one row per defect kind (test_quality_gate) through both engines."""
    from quality.test_quality_gate import HOUSEHOLD, _household_batch_with_defects, _quarantined

    suite = load_suites()[HOUSEHOLD]
    folded, separate = fold_suite(suite)
    assert separate == [] and len(folded) == len(suite.rules)
    rows, expected = _household_batch_with_defects(DAY)
    insert_rows(scratch_warehouse, suite.target, rows)
    for engine in ("per_rule", "one_pass"):
        outcome = validate(HOUSEHOLD, DAY, scratch_settings, engine=engine)
        quarantine_failures(HOUSEHOLD, DAY, outcome, scratch_settings)
        assert _quarantined(scratch_warehouse, "household_registration", DAY) == expected, engine


def test_a_rule_that_cannot_be_folded_runs_its_own_query() -> None:
    suite = load_suites()["stg_human_resources__social_insurance_enrollments"]
    _, separate = fold_suite(suite)
    assert {suite.rules[i - 1].rule for i in separate} == {
        "name_matches_household_registration",
        "birth_date_matches_household_registration",
        "employer_active_in_market_registry",
    }
