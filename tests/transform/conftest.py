"""Fixtures for the transform tests: the real warehouse and throw-away dbt schemas in it.

dbt builds run with a per-session schema prefix (``tr<pid>_staging``, ``tr<pid>_audit``,
``tr<pid>_reference``) so that tests never overwrite the shared ``audit``/``staging``/``reference``
schemas other engineers and the daily cycle use; the schemas are dropped at the end of the session.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

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
