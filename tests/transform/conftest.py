"""Fixtures for the transform tests: the real warehouse and throw-away dbt schemas in it.

dbt builds run with a per-session schema prefix (``tr<pid>_staging``, ``tr<pid>_audit``,
``tr<pid>_reference``) so that tests never overwrite the shared ``audit``/``staging``/``reference``
schemas other engineers and the daily cycle use; the schemas are dropped at the end of the session.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Iterator

import psycopg
import pytest

from govlake.settings import Settings
from govlake.transform import runner
from govlake.warehouse import bootstrap_warehouse, connect


@pytest.fixture(scope="session")
def warehouse(stack: Settings) -> Iterator[psycopg.Connection]:
    bootstrap_warehouse(stack)
    with connect(stack, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def schema_prefix(warehouse: psycopg.Connection) -> Iterator[str]:
    prefix = f"tr{os.getpid()}_"
    yield prefix
    for layer in ("staging", "audit", "reference", "history"):
        warehouse.execute(f'drop schema if exists "{prefix}{layer}" cascade')
    shutil.rmtree(runner._target_path(prefix), ignore_errors=True)


@pytest.fixture(scope="session")
def validity_functions(schema_prefix: str, settings: Settings) -> str:
    """Create the SQL functions in the prefixed reference schema; returns that schema."""
    runner.ensure_validity_functions(settings, schema_prefix=schema_prefix)
    return f"{schema_prefix}reference"


@pytest.fixture(scope="session")
def accept_batches(
    warehouse: psycopg.Connection,
) -> Iterator[Callable[[Iterable[tuple[str, str, str]]], None]]:
    """Register test batches as ingest and the staging gate leave them — loaded, then validated with
    success — so that ``accepted_rows()`` (stg_platform__accepted_batches) lets their rows reach the
    libraries. Takes (batch_id, "<department>__<dataset>", logical date) triples; removed at the end."""
    registered: list[str] = []

    def accept(batches: Iterable[tuple[str, str, str]]) -> None:
        for batch_id, dataset_key, day in batches:
            department, dataset = dataset_key.split("__", 1)
            warehouse.execute(
                "insert into platform.batches (batch_id, department, dataset, logical_date, source_kind,"
                " source, status, finished_at) values (%s, %s, %s, %s, 'database', 'pytest', 'loaded',"
                " now() - interval '1 minute')",
                (batch_id, department, dataset, day),
            )
            warehouse.execute(
                "insert into platform.batch_validations (batch_id, department, dataset, logical_date,"
                " validation_id, cycle_date, success, validated_at)"
                " values (%s, %s, %s, %s, %s, %s, true, now())",
                (batch_id, department, dataset, day, f"pytest-{batch_id}", day),
            )
            registered.append(batch_id)

    yield accept
    for table in ("batch_validations", "batches"):
        warehouse.execute(f"delete from platform.{table} where batch_id = any(%s)", (registered,))
