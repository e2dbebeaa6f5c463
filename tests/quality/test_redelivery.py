"""A corrected re-delivery of the *same* date: the earlier delivery's quarantine records are kept as history
(superseded), the rows it brings clean are resolved with time-to-correct measured from the first report,
and the rows still wrong stay open — in the correction list, the reconciliation and the scorecard.

Real PostgreSQL (a scratch database) and S3. A "delivery" is what ingest's load leaves behind: the date's
staged rows replaced (a new ``_ingested_at``) and ``platform.batches.finished_at`` moved.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from support.quality_rows import insert_rows, person, record_loaded_batch

from govlake.lake import s3_client
from govlake.publish.reconcile import reconcile
from govlake.quality import get_suite, quarantine_failures, validate
from govlake.quality.corrections import object_prefix, publish_correction_lists
from govlake.quality.validate import held_batches
from govlake.scorecards import run_scorecards

pytestmark = pytest.mark.integration

HOUSEHOLD = "stg_public_security__household_registrations"
DEPARTMENT, DATASET = "public_security", "household_registration"
DAY = date(1999, 1, 2)
BATCH = f"{DEPARTMENT}__{DATASET}__{DAY.isoformat()}"
ROWS = 40
BACKDATE = timedelta(days=3)  # the first report went out three days before the re-delivery


def _persons() -> list[dict]:
    rng = random.Random(52)
    return [person(DAY, i, rng) for i in range(1, ROWS + 1)]


def _first_delivery() -> list[dict]:
    """Six of forty rows wrong (15 %: the batch is held); row 6 breaks two rules."""
    rows = _persons()
    for i in (0, 1, 2, 5):
        rows[i]["gender"] = "未知"
    for i in (3, 4, 5):
        rows[i]["status"] = "失踪"
    return rows


def _deliver(conn: psycopg.Connection, rows: list[dict], version: int) -> datetime:
    """Replace the date's staged rows (renumbered, a new ingest stamp); returns its load time."""
    target = get_suite(HOUSEHOLD).target
    conn.execute(f"delete from {target} where _logical_date = %s", (DAY,))
    stamped = [
        dict(r, _source_row=n, _ingested_at=datetime(1999, 1, 3, version, tzinfo=UTC))
        for n, r in enumerate(rows, start=1)
    ]
    insert_rows(conn, target, stamped)
    return record_loaded_batch(conn, DEPARTMENT, DATASET, DAY, len(rows))


def _validate(settings):
    return quarantine_failures(HOUSEHOLD, DAY, validate(HOUSEHOLD, DAY, settings), settings)


def _backdate_detection(conn: psycopg.Connection) -> None:
    """As if the first validation (and the correction list) had gone out three days ago."""
    conn.execute(
        "update platform.quarantine"
        " set detected_at = detected_at - %s, first_detected_at = first_detected_at - %s",
        (BACKDATE, BACKDATE),
    )


def _records(conn: psycopg.Connection) -> list[dict]:
    """Every record of the date, keyed by resident ID and rule, with its state."""
    cur = conn.execute(
        "select record->>'resident_id' as resident_id, rule, source_row, detected_at, first_detected_at,"
        " superseded_at, resolved_at, resolved_by_batch from platform.quarantine"
        " where logical_date = %s order by quarantine_id",
        (DAY,),
    )
    names = [c.name for c in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur]


def _state(records: list[dict]) -> dict[str, int]:
    return {
        "open": sum(1 for r in records if r["superseded_at"] is None and r["resolved_at"] is None),
        "resolved": sum(1 for r in records if r["resolved_at"] is not None),
        "superseded": sum(1 for r in records if r["superseded_at"] is not None),
        "total": len(records),
    }


def _listed_rows(settings) -> list[int]:
    """Row numbers in the department's CSV correction list for the date."""
    prefix = object_prefix(DEPARTMENT, DAY)
    client = s3_client(settings)
    key = next(
        o.object_name
        for o in client.list_objects("exchange", prefix=prefix)
        if o.object_name.endswith(".csv")
    )
    response = client.get_object("exchange", key)
    try:
        text = response.read().decode("utf-8-sig")
    finally:
        response.close()
        response.release_conn()
    return sorted(int(r["行号"]) for r in csv.DictReader(io.StringIO(text)))


def _card(settings) -> dict:
    cards = run_scorecards("week", DAY, settings, departments=[DEPARTMENT], render=False)
    return next(c for c in cards if c["department"] == DEPARTMENT)


@pytest.fixture
def warehouse(scratch_warehouse: psycopg.Connection, scratch_settings) -> Iterator[psycopg.Connection]:
    yield scratch_warehouse
    scratch_warehouse.execute(
        "truncate platform.batches, platform.batch_validations, platform.reconciliation,"
        " platform.correction_lists, platform.scorecards cascade"
    )
    client = s3_client(scratch_settings)
    for obj in client.list_objects("exchange", prefix=object_prefix(DEPARTMENT, DAY), recursive=True):
        client.remove_object("exchange", obj.object_name)


def test_a_fully_corrected_redelivery_resolves_every_record_at_the_redelivery_time(
    warehouse, scratch_settings
) -> None:
    _deliver(warehouse, _first_delivery(), version=1)
    first = _validate(scratch_settings)
    assert first.rows_quarantined == 7 and first.distinct_rows == 6 and first.superseded == 0
    assert held_batches(HOUSEHOLD, DAY, scratch_settings) == [BATCH]
    _backdate_detection(warehouse)
    detected = {(r["resident_id"], r["rule"]): r["detected_at"] for r in _records(warehouse)}

    fixed = list(reversed(_persons()))  # every row corrected, and the file in another order
    loaded_at = _deliver(warehouse, fixed, version=2)
    second = _validate(scratch_settings)
    assert (second.rows_quarantined, second.superseded, second.resolved) == (0, 7, 7)

    records = _records(warehouse)
    assert _state(records) == {"open": 0, "resolved": 7, "superseded": 7, "total": 7}
    for r in records:  # the history of what was wrong stays, resolved when the correction was loaded
        assert r["superseded_at"] == r["resolved_at"] == loaded_at and r["resolved_by_batch"] == BATCH
        assert r["detected_at"] == r["first_detected_at"] == detected[(r["resident_id"], r["rule"])]
        assert (
            r["resolved_at"] - r["first_detected_at"] > BACKDATE
        )  # time-to-correct: re-delivery − detection
    assert held_batches(HOUSEHOLD, DAY, scratch_settings) == []  # accepted

    # re-running the validation of the same content changes nothing
    for _ in range(2):
        again = _validate(scratch_settings)
        assert (again.rows_quarantined, again.superseded, again.resolved) == (0, 0, 0)
        assert _records(warehouse) == records

    ledger = {r.batch_id: r for r in reconcile(DAY, published=True, settings=scratch_settings)}
    assert (ledger[BATCH].rows_in, ledger[BATCH].rows_published, ledger[BATCH].rows_quarantined) == (
        ROWS,
        ROWS,
        0,
    )
    assert ledger[BATCH].balanced

    assert publish_correction_lists(DAY, scratch_settings) == []  # nothing left to tell the clerk

    card = _card(scratch_settings)
    assert (card["quarantine_open"], card["quarantine_resolved"]) == (0, 7)
    assert card["median_days_to_correct"] == BACKDATE.days


def test_a_defect_fixed_on_the_third_try_measures_from_the_first_report(warehouse, scratch_settings) -> None:
    persons = _persons()
    _deliver(warehouse, _first_delivery(), version=1)
    _validate(scratch_settings)
    _backdate_detection(warehouse)
    first_report = {(r["resident_id"]): r["detected_at"] for r in _records(warehouse)}
    key = [p["resident_id"] for p in persons]

    # second try: rows 1, 2 and 4 fixed, row 3 withdrawn, rows 5 and 6 still wrong, row 10 newly wrong
    partial = [dict(p) for p in persons]
    partial[4]["status"] = partial[5]["status"] = "失踪"
    partial[9]["gender"] = "未知"
    del partial[2]
    second_loaded = _deliver(warehouse, partial, version=2)
    second = _validate(scratch_settings)
    assert (second.rows_quarantined, second.superseded, second.resolved) == (3, 7, 3)
    records = _records(warehouse)
    assert _state(records) == {"open": 3, "resolved": 3, "superseded": 7, "total": 10}
    resolved = {(r["resident_id"], r["rule"]) for r in records if r["resolved_at"] is not None}
    assert resolved == {(key[0], "gender_in_set"), (key[1], "gender_in_set"), (key[3], "status_in_set")}
    assert all(r["resolved_at"] == second_loaded for r in records if r["resolved_at"] is not None)
    withdrawn = [r for r in records if r["resident_id"] == key[2]]
    assert [(r["superseded_at"], r["resolved_at"]) for r in withdrawn] == [(second_loaded, None)]
    current = {r["resident_id"]: r for r in records if r["superseded_at"] is None}
    assert set(current) == {key[4], key[5], key[9]}
    # still wrong: the first report is kept; newly wrong: detected now
    assert current[key[4]]["first_detected_at"] == first_report[key[4]] < current[key[4]]["detected_at"]
    assert current[key[5]]["first_detected_at"] == first_report[key[5]]
    assert current[key[9]]["first_detected_at"] == current[key[9]]["detected_at"] > second_loaded

    # the clerk is told only about the rows still wrong, by their row numbers in the re-delivered file
    (listed,) = publish_correction_lists(DAY, scratch_settings)
    assert listed["rows"] == 3 and _listed_rows(scratch_settings) == [4, 5, 9]
    # reconciliation counts the re-delivery's rows: 39 in, 3 quarantined, the rest held (the batch failed)
    ledger = {r.batch_id: r for r in reconcile(DAY, published=True, settings=scratch_settings)}
    assert (ledger[BATCH].rows_in, ledger[BATCH].rows_quarantined, ledger[BATCH].rows_held) == (
        ROWS - 1,
        3,
        36,
    )
    assert ledger[BATCH].balanced

    # re-running the second try's validation is idempotent: same records, detection times kept
    for _ in range(2):
        again = _validate(scratch_settings)
        assert (again.rows_quarantined, again.superseded, again.resolved) == (3, 0, 0)
        assert _records(warehouse) == records

    # third try: everything fixed
    final = [dict(p) for p in persons]
    del final[2]
    third_loaded = _deliver(warehouse, final, version=3)
    third = _validate(scratch_settings)
    assert (third.rows_quarantined, third.superseded, third.resolved) == (0, 3, 3)
    records = _records(warehouse)
    assert _state(records) == {"open": 0, "resolved": 6, "superseded": 10, "total": 10}
    late = {r["resident_id"]: r for r in records if r["resolved_at"] == third_loaded}
    assert set(late) == {key[4], key[5], key[9]}
    assert late[key[4]]["resolved_at"] - late[key[4]]["first_detected_at"] > BACKDATE  # from the first report
    assert late[key[9]]["resolved_at"] - late[key[9]]["first_detected_at"] < BACKDATE
    assert held_batches(HOUSEHOLD, DAY, scratch_settings) == []
    assert publish_correction_lists(DAY, scratch_settings) == []
    assert warehouse.execute(
        "select count(*) from platform.correction_lists where logical_date = %s", (DAY,)
    ).fetchone() == (0,)  # the second try's list is withdrawn

    # the superseded-but-uncorrected history (row 3 withdrawn, rows 5 and 6 on the first try) is neither
    card = _card(scratch_settings)
    assert (card["quarantine_open"], card["quarantine_resolved"]) == (0, 6)


def test_the_same_rows_pulled_again_are_a_rerun_not_a_redelivery(warehouse, scratch_settings) -> None:
    """A re-run of the date re-extracts a database or API source: the same rows under a new ingest stamp.
    It finds exactly what is recorded, so nothing is superseded and detection times stay."""
    _deliver(warehouse, _first_delivery(), version=1)
    first = _validate(scratch_settings)
    assert (first.rows_quarantined, first.superseded) == (7, 0)
    _backdate_detection(warehouse)
    before = _records(warehouse)

    _deliver(warehouse, _first_delivery(), version=2)  # same rows, same order, stamped anew
    again = _validate(scratch_settings)
    assert (again.rows_quarantined, again.superseded, again.resolved) == (7, 0, 0)
    after = _records(warehouse)
    assert _state(after) == {"open": 7, "resolved": 0, "superseded": 0, "total": 7}
    assert [(r["resident_id"], r["rule"], r["detected_at"]) for r in after] == [
        (r["resident_id"], r["rule"], r["detected_at"]) for r in before
    ]

    # one row corrected: different findings, so a re-delivery (a withdrawn clean row alone would not be:
    # the same defects, nothing to supersede or resolve)
    corrected = _first_delivery()
    corrected[0]["gender"] = _persons()[0]["gender"]
    _deliver(warehouse, corrected, version=3)
    third = _validate(scratch_settings)
    assert (third.rows_quarantined, third.superseded, third.resolved) == (6, 7, 1)
