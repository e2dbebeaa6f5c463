"""Delete capture on the province generator's 财政厅 database: payments removed outright become tombstones.

The tiny province (seed 42, 2024-06-01, what ``tests/province`` also writes) is generated into the
department database; its ``finance.subsidy_payments`` is copied into the test department's scratch schema,
so deleting rows there leaves the generated tables as they were.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import psycopg
import pytest

from demo_province.systems import department_systems
from govlake.ingest import ingest
from govlake.settings import Settings
from govlake.warehouse import connect

from .conftest import DEPT, SCRATCH_SCHEMA

pytestmark = pytest.mark.integration
KEY = f"{DEPT}__subsidy_payments"
TABLE = f"{SCRATCH_SCHEMA}.subsidy_payments"
DAY = date(2024, 6, 1)
SEED = 42


@pytest.fixture(scope="module")
def payments(settings: Settings, registry_dir: Path) -> psycopg.Connection:
    from demo_province.generator import generate_province

    generate_province(settings, "tiny", SEED, DAY)
    conn = psycopg.connect(department_systems(settings).database_url(settings), autocommit=True)
    conn.execute(f"create schema if not exists {SCRATCH_SCHEMA}")
    conn.execute(f"drop table if exists {TABLE}")
    conn.execute(f"create table {TABLE} as select * from finance.subsidy_payments")
    yield conn
    conn.execute(f"drop table if exists {TABLE}")
    conn.close()


def _newest(settings: Settings) -> tuple[int, int]:
    """(live keys, tombstoned keys) by the newest version per payment, as int_subsidy_payments_* ranks."""
    with connect(settings) as conn:
        return conn.execute(
            "select count(*) filter (where not _deleted), count(*) filter (where _deleted) from ("
            f" select distinct on (payment_id) payment_id, _deleted from raw.{KEY}"
            " order by payment_id, updated_at desc nulls last, _logical_date desc, _source_row desc) newest"
        ).fetchone()


def test_payments_deleted_in_the_department_database_become_tombstones(
    settings: Settings, registry_dir: Path, payments: psycopg.Connection
) -> None:
    first = ingest(KEY, "2024-06-01", settings=settings, registry_dir=registry_dir)
    live_before, _ = _newest(settings)
    assert live_before >= 100 and first["tombstones"] == 0

    gone = payments.execute(
        f"delete from {TABLE} where payment_id in (select payment_id from {TABLE} "
        "where updated_at < '2024-06-02' order by payment_id limit 25) returning payment_id"
    ).fetchall()
    assert len(gone) == 25
    started = time.monotonic()
    second = ingest(KEY, "2024-06-02", settings=settings, registry_dir=registry_dir)
    print(f"ingest with delete capture over {live_before} keys: {time.monotonic() - started:.2f}s")
    assert second["tombstones"] == 25 and second["rows_rejected"] == 0
    assert _newest(settings) == (live_before - 25, 25)
    with connect(settings) as conn:
        tombstoned = conn.execute(
            f"select payment_id from raw.{KEY} where _logical_date = '2024-06-02' and _deleted order by 1"
        ).fetchall()
    assert sorted(r[0] for r in tombstoned) == sorted(r[0] for r in gone)
