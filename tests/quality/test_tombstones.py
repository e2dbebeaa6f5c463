"""A row the source deleted outright arrives as a tombstone (key only, ``_deleted``): staging validation
leaves it out — there is nothing to judge but a key loaded before — while a soft-deleted row that still
carries content is judged like any other. Real PostgreSQL (a scratch database)."""

from __future__ import annotations

import random
from datetime import date

import pytest
from support.quality_rows import insert_rows, person, wrong_check

from govlake.quality import get_suite, quarantine_failures, validate
from govlake.registry import TOMBSTONE_FILE_SUFFIX

pytestmark = pytest.mark.integration

HOUSEHOLD = "stg_public_security__household_registrations"
DAY = date(1999, 1, 7)


def test_tombstones_of_hard_deletes_are_not_validated(scratch_warehouse, scratch_settings) -> None:
    rng = random.Random(11)
    rows = [dict(person(DAY, i, rng), _deleted=False) for i in range(1, 101)]
    # 10 tombstones: the key and nothing else, from the batch's tombstone file
    for row in rows[:10]:
        row.update({c: None for c in row if not c.startswith("_") and c not in ("resident_id", "updated_at")})
        row.update(
            _deleted=True, _source_file=f"landing/household_registration_19990107{TOMBSTONE_FILE_SUFFIX}"
        )
    # a soft-deleted row with content is still judged: its wrong check digit is quarantined
    rows[50].update(_deleted=True, resident_id=wrong_check(rows[50]["resident_id"]))
    insert_rows(scratch_warehouse, get_suite(HOUSEHOLD).target, rows)

    outcome = validate(HOUSEHOLD, DAY, scratch_settings)
    summary = quarantine_failures(HOUSEHOLD, DAY, outcome, scratch_settings)

    assert outcome.success, outcome.summary()
    assert max(r.element_count or 0 for r in outcome.results) == 90
    quarantined = scratch_warehouse.execute(
        "select source_row, rule from platform.quarantine where logical_date = %s and stage = 'validate'",
        (DAY,),
    ).fetchall()
    assert quarantined == [(51, "resident_id_check_digit")]
    assert summary.distinct_rows == 1
