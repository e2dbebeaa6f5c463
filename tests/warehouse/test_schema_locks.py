"""Tasks that make sure the platform and raw tables exist must not wait for the tasks using them.

Every ingest, validation, build and release starts by ensuring its tables. Ensuring by running the DDL
again is not free in PostgreSQL: ``ALTER TABLE … ADD COLUMN IF NOT EXISTS`` takes an ACCESS EXCLUSIVE lock
even when the column is there, and ``CREATE INDEX IF NOT EXISTS`` a SHARE lock before it finds the index —
so the new task waited for any reader (or writer) of the table, and every later reader queued behind it.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg import pq

from govlake.registry import get_dataset
from govlake.settings import Settings
from govlake.warehouse import connect, ensure_platform_schema, platform_schema_digest
from govlake.warehouse.raw import ensure_raw_table

pytestmark = pytest.mark.integration

DATASET = "public_security__household_registration"


def _impatient(stack: Settings) -> psycopg.Connection:
    """A connection that gives up on any lock after a second instead of queueing."""
    conn = connect(stack)
    conn.execute("set lock_timeout = '1s'")
    conn.commit()
    return conn


def test_ensuring_the_platform_schema_does_not_wait_for_a_reader_of_the_quarantine(stack: Settings) -> None:
    with connect(stack) as setup:
        ensure_platform_schema(setup)
    with connect(stack) as reader, _impatient(stack) as starting:
        # a validation or a dbt build reading the quarantine, its transaction still open
        reader.execute("select count(*) from platform.quarantine").fetchone()
        ensure_platform_schema(starting)  # raised LockNotAvailable when the DDL ran every time
        assert starting.info.transaction_status == pq.TransactionStatus.IDLE, (
            "the caller's connection is idle"
        )
        reader.rollback()


def test_a_new_version_of_the_schema_files_is_applied(stack: Settings) -> None:
    with connect(stack) as conn:
        ensure_platform_schema(conn)
        with conn.transaction():
            applied = conn.execute("select digest from platform.schema_applied").fetchall()
            assert (platform_schema_digest(),) in applied
            # as if the files had changed since: their digest unknown, an index they declare missing
            conn.execute("delete from platform.schema_applied")
            conn.execute("drop index platform.quarantine_batch_idx")
            ensure_platform_schema(conn)
            assert (
                conn.execute("select to_regclass('platform.quarantine_batch_idx')").fetchone()[0] is not None
            )
            assert conn.execute("select digest from platform.schema_applied").fetchall() == [
                (platform_schema_digest(),)
            ]
            raise psycopg.Rollback()


def test_ensuring_a_raw_table_does_not_wait_for_a_load_writing_it(stack: Settings) -> None:
    dataset = get_dataset(DATASET)
    with connect(stack) as setup:
        ensure_raw_table(setup, dataset)
    with connect(stack) as loader, _impatient(stack) as building:
        # a load into the table, its transaction still open (ROW EXCLUSIVE)
        loader.execute(f"update {dataset.raw_table} set _source_row = _source_row where false")
        ensure_raw_table(building, dataset)  # raised LockNotAvailable on CREATE INDEX IF NOT EXISTS
        loader.rollback()
