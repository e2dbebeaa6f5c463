"""The suites for the seven new departments run on scratch tables with the registry's columns."""

from __future__ import annotations

import random
from datetime import date

import pytest
from support.quality_rows import insert_rows, lineage, make_ric, wrong_check

from govlake.quality import get_suite, load_suites, quarantine_failures, validate

pytestmark = pytest.mark.integration

NEW_DEPARTMENTS = {
    "health",
    "civil_affairs",
    "agriculture",
    "statistics",
    "natural_resources",
    "transport",
    "finance",
}
DAY = date(1999, 1, 2)


def _new_suites() -> list[str]:
    return sorted(s.name for s in load_suites().values() if s.department in NEW_DEPARTMENTS)


def test_every_new_registry_dataset_has_a_suite() -> None:
    from govlake.registry import iter_datasets

    wanted = {d.staging_view for d in iter_datasets() if d.department in NEW_DEPARTMENTS}
    assert wanted == {get_suite(name).target for name in _new_suites()}


@pytest.mark.parametrize("suite", _new_suites())
def test_rule_sql_runs_on_the_registry_columns(suite, scratch_warehouse, scratch_settings) -> None:
    outcome = validate(suite, DAY, scratch_settings)
    errors = {r.rule: r.details["exception"] for r in outcome.results if "exception" in r.details}
    assert errors == {} and outcome.success


def test_birth_certificate_defects_are_quarantined(scratch_warehouse, scratch_settings) -> None:
    rng = random.Random(2)
    rows = []
    for i in range(1, 41):
        born = date(1998, rng.randint(1, 12), rng.randint(1, 28))
        rows.append(
            {
                "certificate_no": f"Q52{i:07d}",
                "newborn_name": f"婴{i}",
                "gender": "女",
                "birth_date": born,
                "birth_place": "医院",
                "issuing_institution": "贵阳市妇幼保健院",
                "division_code": "520102",
                "mother_name": f"母{i}",
                "mother_id": make_ric("520102", date(1990, 3, 3), i),
                "father_name": f"父{i}",
                "father_id": make_ric("520103", date(1989, 4, 4), i),
                "issue_date": born,
                **lineage("health", "birth_certificates", DAY, i),
            }
        )
    rows[0]["mother_id"] = wrong_check(rows[0]["mother_id"])
    rows[1]["birth_date"] = date(1999, 2, 1)
    rows[1]["issue_date"] = date(1999, 2, 1)
    rows[2]["issue_date"] = date(1997, 1, 1)
    rows[3]["certificate_no"] = rows[4]["certificate_no"]
    rows[5]["gender"] = "?"
    insert_rows(scratch_warehouse, get_suite("stg_health__birth_certificates").target, rows)
    outcome = validate("stg_health__birth_certificates", DAY, scratch_settings)
    summary = quarantine_failures("stg_health__birth_certificates", DAY, outcome, scratch_settings)
    assert summary.rows_by_rule == {
        "mother_id_check_digit": 1,
        "birth_date_not_after_logical_date": 1,
        "issue_date_not_after_logical_date": 1,
        "issue_date_not_before_birth_date": 1,
        "certificate_no_unique_in_batch": 1,
        "gender_in_set": 1,
    }
