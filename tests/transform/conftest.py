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
from govlake.settings import Settings, get_settings
from govlake.transform import runner
from govlake.warehouse import connect


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
def warehouse(settings: Settings) -> Iterator[psycopg.Connection]:
    try:
        conn = connect(settings, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(
            f"warehouse not reachable at {settings.pg_host}:{settings.pg_port} ({exc}); run `govlake stack up`"
        )
    with conn:
        yield conn


@pytest.fixture(scope="session")
def schema_prefix(warehouse: psycopg.Connection) -> Iterator[str]:
    prefix = f"tr{os.getpid()}_"
    yield prefix
    for layer in ("staging", "audit", "reference"):
        warehouse.execute(f'drop schema if exists "{prefix}{layer}" cascade')
    shutil.rmtree(runner._target_path(prefix), ignore_errors=True)


@pytest.fixture(scope="session")
def validity_functions(schema_prefix: str, settings: Settings) -> str:
    """Create the SQL functions in the prefixed reference schema; returns that schema."""
    runner.ensure_validity_functions(settings, schema_prefix=schema_prefix)
    return f"{schema_prefix}reference"
