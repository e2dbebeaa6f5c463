"""Every batch is validated before a library reads it — including one that landed without a build of its
own — and a batch the staging gate failed is held until a corrected re-delivery of its date passes.

Real PostgreSQL (a scratch database) and S3: the build for the last date catches up the earlier batches,
records a verdict per batch in ``platform.batch_validations``, and reconciliation counts the failed batch's
good rows as held, not published.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date

import psycopg
import pytest
from support.quality_rows import insert_rows, person, record_loaded_batch, wrong_check

from govlake.publish.reconcile import reconcile
from govlake.quality import get_suite, quarantine_failures, validate
from govlake.quality.validate import dates_to_validate, held_batches

pytestmark = pytest.mark.integration

HOUSEHOLD = "stg_public_security__household_registrations"
D1, D2, D3, D4 = (date(1999, 1, d) for d in (3, 4, 5, 6))
ROWS = 100


def _batch_id(day: date) -> str:
    return f"public_security__household_registration__{day.isoformat()}"


def _deliver(conn: psycopg.Connection, day: date, bad_rows: int) -> None:
    """A loaded batch of ROWS persons for ``day``, the first ``bad_rows`` with a wrong check digit."""
    rng = random.Random(day.toordinal())
    rows = [person(day, i, rng) for i in range(1, ROWS + 1)]
    for row in rows[:bad_rows]:
        row["resident_id"] = wrong_check(row["resident_id"])
    conn.execute(f"delete from {get_suite(HOUSEHOLD).target} where _logical_date = %s", (day,))
    insert_rows(conn, get_suite(HOUSEHOLD).target, rows)
    record_loaded_batch(conn, "public_security", "household_registration", day, ROWS)


def _build(cycle: date, settings) -> list[date]:
    """What a build's validate_staging task does for the household suite (orchestration.tasks)."""
    days = dates_to_validate(HOUSEHOLD, cycle, settings)
    for day in days:
        quarantine_failures(HOUSEHOLD, day, validate(HOUSEHOLD, day, settings, cycle_date=cycle), settings)
    return days


def _verdicts(conn: psycopg.Connection) -> dict[str, tuple[bool, date]]:
    rows = conn.execute("select batch_id, success, cycle_date from platform.batch_validations").fetchall()
    return {batch: (success, cycle) for batch, success, cycle in rows}


@pytest.fixture
def warehouse(scratch_warehouse: psycopg.Connection) -> Iterator[psycopg.Connection]:
    yield scratch_warehouse
    scratch_warehouse.execute(
        "truncate platform.batches, platform.batch_validations, platform.reconciliation"
    )


def test_a_build_catches_up_unvalidated_batches_and_holds_the_failed_one(warehouse, scratch_settings) -> None:
    _deliver(warehouse, D1, bad_rows=0)
    _deliver(warehouse, D2, bad_rows=30)  # 30 % bad: over the 5 % blocking threshold
    _deliver(warehouse, D3, bad_rows=1)  # 1 %: passes, the bad row is quarantined

    # no build ran for D1 and D2: the D3 build validates all three, each batch on its own
    assert _build(D3, scratch_settings) == [D1, D2, D3]
    assert _verdicts(warehouse) == {
        _batch_id(D1): (True, D3),
        _batch_id(D2): (False, D3),
        _batch_id(D3): (True, D3),
    }
    assert held_batches(HOUSEHOLD, D3, scratch_settings) == [_batch_id(D2)]
    # every bad row is quarantined under its own batch's date, with its rule
    quarantined = warehouse.execute(
        "select logical_date, count(*) from platform.quarantine where stage = 'validate'"
        " and rule = 'resident_id_check_digit' group by 1 order by 1"
    ).fetchall()
    assert quarantined == [(D2, 30), (D3, 1)]

    # re-running the D3 build re-checks exactly what it checked; the next build checks only its own date
    assert dates_to_validate(HOUSEHOLD, D3, scratch_settings) == [D1, D2, D3]
    assert dates_to_validate(HOUSEHOLD, D4, scratch_settings) == [D4]

    # the failed batch's 70 good rows are held, not published; the others balance as published
    ledger = {r.batch_id: r for r in reconcile(D3, published=True, settings=scratch_settings)}
    assert set(ledger) == {_batch_id(D1), _batch_id(D2), _batch_id(D3)}
    held = ledger[_batch_id(D2)]
    assert (held.rows_published, held.rows_quarantined, held.rows_held) == (0, 30, 70)
    assert (ledger[_batch_id(D3)].rows_published, ledger[_batch_id(D3)].rows_quarantined) == (99, 1)
    assert all(r.balanced for r in ledger.values())


def test_a_corrected_redelivery_of_a_held_batch_is_validated_by_the_next_build(
    warehouse, scratch_settings
) -> None:
    _deliver(warehouse, D2, bad_rows=30)
    _build(D2, scratch_settings)
    assert held_batches(HOUSEHOLD, D2, scratch_settings) == [_batch_id(D2)]

    _deliver(warehouse, D2, bad_rows=0)  # the department re-delivers D2, corrected
    _deliver(warehouse, D3, bad_rows=0)
    assert _build(D3, scratch_settings) == [D2, D3]
    assert _verdicts(warehouse)[_batch_id(D2)] == (True, D3)
    assert held_batches(HOUSEHOLD, D3, scratch_settings) == []
    # the accepted-batches rule the libraries read through (dbt stg_platform__accepted_batches)
    accepted = warehouse.execute(
        "select b.batch_id from platform.batches b join platform.batch_validations v using (batch_id)"
        " where b.status = 'loaded' and v.success and v.validated_at >= b.finished_at order by 1"
    ).fetchall()
    assert [r[0] for r in accepted] == [_batch_id(D2), _batch_id(D3)]

    _deliver(warehouse, D3, bad_rows=0)  # re-delivered after its verdict: no longer accepted until re-checked
    assert dates_to_validate(HOUSEHOLD, D4, scratch_settings) == [D3, D4]
