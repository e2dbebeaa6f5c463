"""Scratch schemas, roles and S3 prefixes for the publish tests, all removed afterwards.

Platform rows the tests write carry ``pub_test`` targets or batch ids and are deleted too.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from support.synthetic_libraries import AUDIT, BASE, CONSUMER, FIXTURES, REFERENCE, SHARE

from govlake.settings import Settings
from govlake.warehouse import connect, ensure_platform_schema
from govlake.warehouse.department_roles import department_of, drop_department_role


@pytest.fixture(scope="session")
def pub_settings(settings: Settings) -> Settings:
    """The stack's settings, after checking its PostgreSQL answers."""
    try:
        with connect(settings) as conn:
            ensure_platform_schema(conn)
    except psycopg.OperationalError as exc:
        pytest.fail(f"the dev stack's PostgreSQL is not reachable ({exc}); run `govlake stack up`")
    return settings


@pytest.fixture
def pg(pub_settings: Settings) -> Iterator[psycopg.Connection]:
    with connect(pub_settings, autocommit=True) as conn:
        yield conn


@pytest.fixture
def scratch(pub_settings: Settings) -> Iterator[Settings]:
    """Fresh pub_test_* schemas (with a divisions reference table); dropped with their rows and roles after."""
    with connect(pub_settings, autocommit=True) as conn:
        _drop_scratch(conn, pub_settings)
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(REFERENCE)))
        _load_divisions(conn, REFERENCE)
    yield pub_settings
    with connect(pub_settings, autocommit=True) as conn:
        _drop_scratch(conn, pub_settings)


def _drop_scratch(conn: psycopg.Connection, settings: Settings) -> None:
    for schema in (SHARE, BASE, AUDIT, REFERENCE):
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
    conn.execute("delete from platform.publications where target like 'pub\\_test\\_%%'")
    drop_department_role(conn, department_of(CONSUMER), settings)  # also its line in departments.env


def _load_divisions(conn: psycopg.Connection, schema: str) -> None:
    """The divisions seed's shape (code,name,level,parent_code as text), from the test fixture copy."""
    table = sql.Identifier(schema, "divisions")
    conn.execute(
        sql.SQL("create table {} (code text primary key, name text, level text, parent_code text)").format(
            table
        )
    )
    with (
        (FIXTURES / "guizhou_divisions.csv").open(encoding="utf-8") as fh,
        conn.cursor() as cur,
        cur.copy(sql.SQL("copy {} from stdin").format(table)) as copy,
    ):
        for row in csv.DictReader(fh):
            copy.write_row((row["code"], row["name"], row["level"], row["parent_code"] or None))
