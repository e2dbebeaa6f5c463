"""Resolution: a corrected re-delivery marks the earlier quarantine records resolved (real Postgres)."""

from __future__ import annotations

import random
from datetime import date

import pytest
from psycopg.types.json import Jsonb
from support.quality_rows import insert_rows, person

from govlake.quality import get_suite, quarantine_failures, validate
from govlake.quality.resolution import resolve_corrected, resolve_sql
from govlake.registry import get_dataset

pytestmark = pytest.mark.integration

HOUSEHOLD = "stg_public_security__household_registrations"
KEY = "public_security__household_registration"
FIRST, SECOND = date(1999, 1, 6), date(1999, 1, 7)


def _validate(settings, day: date) -> None:
    quarantine_failures(HOUSEHOLD, day, validate(HOUSEHOLD, day, settings), settings)


def _records(conn, day: date) -> dict[int, tuple]:
    return {
        row: (rule, resolved_at, by_batch)
        for row, rule, resolved_at, by_batch in conn.execute(
            "select source_row, rule, (resolved_at at time zone 'UTC')::date, resolved_by_batch"
            " from platform.quarantine where logical_date = %s",
            (day,),
        )
    }


def test_corrected_rows_resolve_earlier_records_with_time_to_correct(
    scratch_warehouse, scratch_settings
) -> None:
    rng = random.Random(5)
    target = get_suite(HOUSEHOLD).target
    first = [person(FIRST, i, rng) for i in range(1, 101)]
    first[9]["gender"] = "未知"  # fixed on the second day
    first[19]["status"] = "失踪"  # fixed on the second day
    first[29]["division_code"] = "520100"  # delivered again on the second day, still wrong
    insert_rows(scratch_warehouse, target, first)
    _validate(scratch_settings, FIRST)
    # rejected at ingest (name missing); the record is the source row, keyed by source column names
    ingest_id = first[39]["resident_id"]
    scratch_warehouse.execute(
        "insert into platform.quarantine (batch_id, department, dataset, logical_date, stage, source_row, rule,"
        " dimension, column_name, message, record) values (%s, 'public_security', 'household_registration', %s,"
        " 'ingest', 500, 'required', 'completeness', 'name', '必填项为空', %s)",
        (f"{KEY}__{FIRST}", FIRST, Jsonb({"gmsfhm": ingest_id, "xm": None})),
    )
    assert len(_records(scratch_warehouse, FIRST)) == 4

    second = [
        dict(r, **{k: v for k, v in person(SECOND, n, rng).items() if k.startswith("_")})
        for n, r in enumerate((first[9], first[19], first[29], first[39]), start=1)
    ]
    second[0]["gender"], second[1]["status"] = "女", "正常"
    insert_rows(scratch_warehouse, target, second)
    _validate(scratch_settings, SECOND)

    assert resolve_corrected(KEY, SECOND, scratch_settings) == 3
    records = _records(scratch_warehouse, FIRST)
    batch = f"{KEY}__{SECOND.isoformat()}"
    assert records[10] == ("gender_in_set", SECOND, batch)
    assert records[20] == ("status_in_set", SECOND, batch)
    assert records[500] == ("required", SECOND, batch)
    assert records[30] == ("division_code_is_county", None, None)  # still wrong: stays open
    assert _records(scratch_warehouse, SECOND)[3][1] is None  # the new reject is open too

    # re-running the date changes nothing; time-to-correct is one delivery day
    assert resolve_corrected(KEY, SECOND, scratch_settings) == 3
    days = scratch_warehouse.execute(
        "select distinct (resolved_at at time zone 'UTC')::date - logical_date from platform.quarantine"
        " where resolved_at is not null"
    ).fetchall()
    assert days == [(1,)]
    assert resolve_corrected(KEY, FIRST, scratch_settings) == 0  # a date never resolves itself


def test_a_correction_is_a_row_not_quarantined_in_its_own_file() -> None:
    """A batch may span files that each number their rows from 1 (an API's pages): a clean row on one page
    must not be taken for the quarantined row of the same number on another."""
    text = resolve_sql(get_dataset(KEY)).as_string(None)
    assert (
        "x.batch_id = s._batch_id and x.source_file = s._source_file and x.source_row = s._source_row" in text
    )
