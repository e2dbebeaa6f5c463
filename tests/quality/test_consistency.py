"""Cross-department consistency: 人社厅 enrollments at entities 市场监管局 records as 注销/吊销 (warning)."""

from __future__ import annotations

import random
from datetime import date

import pytest
from psycopg.types.json import Jsonb
from support.quality_rows import enrollment, entity, insert_rows, lineage, person

from govlake.quality import get_suite, quarantine_failures, validate
from govlake.quality.sql import clean_reference_rows, latest_clean_rows

HOUSEHOLD = "stg_public_security__household_registrations"
MARKET = "stg_market_regulation__market_entities"
SOCIAL = "stg_human_resources__social_insurance_enrollments"
DAY = date(1999, 1, 4)
RULE = "employer_active_in_market_registry"


def test_latest_clean_rows_excludes_quarantined_rows_and_later_dates() -> None:
    query = latest_clean_rows("staging.stg_x__ys", "ys", "code", "employer_code", "status")
    assert "distinct on (code)" in query and "(select max(_logical_date) from b)" in query
    assert "from platform.quarantine where dataset = 'ys'" in query and "{" not in query
    assert "platform.batch_validations where not success" in query
    # the same reference condition the rules that read the other department another way use
    assert clean_reference_rows("ys") in query
    # a row is its batch, file and row number: a batch may span files that each number their rows from 1
    assert clean_reference_rows("ys", "h").startswith("(h._batch_id, h._source_file, h._source_row) not in")
    with pytest.raises(ValueError):
        clean_reference_rows("ys'; drop table x; --")


@pytest.mark.integration
def test_enrollment_at_a_closed_entity_is_a_warning_not_a_reject(scratch_warehouse, scratch_settings) -> None:
    rng = random.Random(3)
    entities = [entity(DAY, i, rng) for i in range(1, 6)]
    entities[0]["status"] = "注销"  # closed: its paying employees are inconsistent
    entities[1]["status"] = "吊销"  # revoked, but this market row is itself quarantined: not evidence
    insert_rows(scratch_warehouse, get_suite(MARKET).target, entities)
    scratch_warehouse.execute(
        "insert into platform.quarantine (batch_id, department, dataset, logical_date, stage, source_file,"
        " source_row, rule, dimension, message, record) values (%s, 'market_regulation', 'market_entities', %s,"
        " 'validate', %s, 2, 'test', 'accuracy', 'test', %s)",
        (entities[1]["_batch_id"], DAY, entities[1]["_source_file"], Jsonb({})),
    )
    people = [person(DAY, i, rng) for i in range(1, 9)]
    insert_rows(scratch_warehouse, get_suite(HOUSEHOLD).target, people)
    enrollments = [enrollment(DAY, i, p) for i, p in enumerate(people, start=1)]
    for e, (employer, status) in zip(
        enrollments,
        [
            (0, "参保缴费"),
            (0, "参保缴费"),
            (0, "暂停缴费"),
            (1, "参保缴费"),
            (2, "参保缴费"),
            (None, "参保缴费"),
        ],
        strict=False,
    ):
        e["employer_credit_code"] = entities[employer]["credit_code"] if employer is not None else None
        e["status"] = status
    insert_rows(scratch_warehouse, get_suite(SOCIAL).target, enrollments)

    outcome = validate(SOCIAL, DAY, scratch_settings)
    summary = quarantine_failures(SOCIAL, DAY, outcome, scratch_settings)

    result = next(r for r in outcome.results if r.rule == RULE)
    assert (result.severity, result.dimension, result.unexpected_count, result.success) == (
        "warning",
        "consistency",
        2,
        False,
    )
    assert result in outcome.warnings and outcome.success
    assert RULE not in summary.rows_by_rule  # warnings are reported, never quarantined
    assert any("在市场监管局登记为注销" in m for m in result.details["sample_messages"])


@pytest.mark.integration
def test_a_held_batch_is_no_reference_for_other_departments(scratch_warehouse, scratch_settings) -> None:
    """市场监管局's batch failed its validation (held): its 注销 is not evidence against 人社厅 until it passes."""
    rng = random.Random(5)
    entities = [entity(DAY, i, rng) for i in range(1, 4)]
    entities[0]["status"] = "注销"
    insert_rows(scratch_warehouse, get_suite(MARKET).target, entities)
    people = [person(DAY, i, rng) for i in range(1, 4)]
    insert_rows(scratch_warehouse, get_suite(HOUSEHOLD).target, people)
    enrollments = [enrollment(DAY, i, p) for i, p in enumerate(people, start=1)]
    enrollments[0].update(employer_credit_code=entities[0]["credit_code"], status="参保缴费")
    insert_rows(scratch_warehouse, get_suite(SOCIAL).target, enrollments)

    def conflicts() -> int:
        outcome = validate(SOCIAL, DAY, scratch_settings)
        return next(r for r in outcome.results if r.rule == RULE).unexpected_count

    batch_id = entities[0]["_batch_id"]
    scratch_warehouse.execute(
        "insert into platform.batch_validations (batch_id, department, dataset, logical_date, validation_id,"
        " cycle_date, success, validated_at) values (%s, 'market_regulation', 'market_entities', %s, 'test',"
        " %s, false, now())",
        (batch_id, DAY, DAY),
    )
    try:
        assert conflicts() == 0
        scratch_warehouse.execute(
            "update platform.batch_validations set success = true where batch_id = %s", (batch_id,)
        )
        assert conflicts() == 1
    finally:
        scratch_warehouse.execute("delete from platform.batch_validations where batch_id = %s", (batch_id,))


@pytest.mark.integration
def test_a_newborn_is_compared_with_the_current_clean_household_rows(
    scratch_warehouse, scratch_settings
) -> None:
    """卫健委's birth date against 公安厅's row of the child in the mother's household: a row in a held batch
    is no reference, nor is a quarantined row — unless its finding was superseded by a later delivery."""
    suite, rule = "stg_health__birth_certificates", "birth_date_matches_household_registration"
    rng = random.Random(7)
    earlier = date(1999, 1, 3)
    mother = person(DAY, 1, rng)
    child = person(earlier, 2, rng) | {"household_id": mother["household_id"], "name": "婴一"}
    child["birth_date"] = date(1998, 12, 1)
    insert_rows(scratch_warehouse, get_suite(HOUSEHOLD).target, [mother])
    insert_rows(scratch_warehouse, get_suite(HOUSEHOLD).target, [child])
    certificate = {
        "certificate_no": "Q520000001",
        "newborn_name": "婴一",
        "gender": "女",
        "birth_date": date(1998, 12, 2),  # 公安厅 says 12-01: a conflict while its row is a reference
        "birth_place": "医院",
        "issuing_institution": "贵阳市妇幼保健院",
        "division_code": mother["division_code"],
        "mother_name": mother["name"],
        "mother_id": mother["resident_id"],
        "father_name": "父一",
        "father_id": None,
        "issue_date": date(1998, 12, 3),
        **lineage("health", "birth_certificates", DAY, 1),
    }
    insert_rows(scratch_warehouse, get_suite(suite).target, [certificate])

    def conflicts() -> int:
        return next(
            r for r in validate(suite, DAY, scratch_settings).results if r.rule == rule
        ).unexpected_count

    batch_id = child["_batch_id"]
    assert conflicts() == 1
    try:
        scratch_warehouse.execute(
            "insert into platform.batch_validations (batch_id, department, dataset, logical_date, validation_id,"
            " cycle_date, success, validated_at) values (%s, 'public_security', 'household_registration', %s,"
            " 'test', %s, false, now())",
            (batch_id, earlier, earlier),
        )
        assert conflicts() == 0  # held
        scratch_warehouse.execute(
            "update platform.batch_validations set success = true where batch_id = %s", (batch_id,)
        )
        scratch_warehouse.execute(
            "insert into platform.quarantine (batch_id, department, dataset, logical_date, stage, source_file,"
            " source_row, rule, dimension, message, record) values (%s, 'public_security',"
            " 'household_registration', %s, 'validate', %s, %s, 'test', 'accuracy', 'test', %s)",
            (batch_id, earlier, child["_source_file"], child["_source_row"], Jsonb({})),
        )
        assert conflicts() == 0  # quarantined
        scratch_warehouse.execute(
            "update platform.quarantine set superseded_at = now() where batch_id = %s and rule = 'test'",
            (batch_id,),
        )
        assert conflicts() == 1  # that finding belongs to an earlier delivery
    finally:
        scratch_warehouse.execute("delete from platform.batch_validations where batch_id = %s", (batch_id,))
        scratch_warehouse.execute(
            "delete from platform.quarantine where batch_id = %s and rule = 'test'", (batch_id,)
        )
