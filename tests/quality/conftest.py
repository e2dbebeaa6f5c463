"""Fixtures for the quality tests: a scratch warehouse database with the contracted relations.

The suites name the real relations (``staging.stg_…``, ``reference.divisions``, ``audit.population``),
so instead of renaming them for tests we create a throw-away database on the running cluster holding
tables of the same names and columns (the registry's columns plus lineage for staging, the library
contracts for audit), and drop it afterwards. Other engineers' objects in ``govlake`` are never touched.
S3 objects are written under dedicated 1999 dates and removed at the end.
"""

from __future__ import annotations

import csv
import dataclasses
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from govlake.lake import s3_client
from govlake.quality.suites import load_suites
from govlake.registry import LINEAGE_COLUMNS, get_dataset
from govlake.settings import PROJECT_DIR, Settings
from govlake.warehouse import connect, ensure_platform_schema

TEST_DATES = tuple(date(1999, 1, day) for day in range(1, 8))
SEED_DIVISIONS = PROJECT_DIR / "dbt_project" / "seeds" / "divisions.csv"

LIBRARY_DDL = """
create table audit.population (
    resident_id text, name text, gender text, birth_date date, ethnicity text, division_code text,
    prefecture_code text, address text, household_id text, status text, death_date date,
    in_household_registry boolean, insurance_types text[], source_departments text[], conflict_fields text[],
    updated_at timestamptz, built_for_date date);
create table audit.legal_entities (
    credit_code text, entity_name text, entity_type text, legal_rep_name text, legal_rep_id text,
    legal_rep_in_population boolean, industry_code text, registered_capital numeric, established_date date,
    division_code text, prefecture_code text, address text, status text, insured_employees integer,
    built_for_date date);
"""


def _staging_ddl(target: str, department: str, dataset: str) -> sql.Composed:
    ds = get_dataset(f"{department}__{dataset}")
    schema, table = target.split(".")
    cols = [sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.sql_type)) for c in ds.columns]
    cols += [sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in LINEAGE_COLUMNS]
    return sql.SQL("create table {}.{} ({})").format(
        sql.Identifier(schema), sql.Identifier(table), sql.SQL(", ").join(cols)
    )


def _load_divisions(conn: psycopg.Connection, path: Path) -> None:
    conn.execute(
        "create table reference.divisions (code text primary key, name text, level text, parent_code text)"
    )
    with (
        path.open(encoding="utf-8") as f,
        conn.cursor().copy("copy reference.divisions (code, name, level, parent_code) from stdin") as copy,
    ):
        for row in csv.DictReader(f):
            copy.write_row((row["code"], row["name"], row["level"], row["parent_code"] or None))


@pytest.fixture(scope="session")
def scratch_settings(settings: Settings) -> Iterator[Settings]:
    """Settings pointing at a fresh database on the running cluster (`make test` starts the stack)."""
    base = settings
    name = f"govlake_gx_test_{os.getpid()}"
    try:
        with psycopg.connect(base.pg_url("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as exc:
        pytest.fail(f"the dev stack's PostgreSQL is not reachable ({exc}); run `govlake stack up`")
    settings = dataclasses.replace(base, warehouse_db=name)
    try:
        with connect(settings, autocommit=True) as conn:
            ensure_platform_schema(conn)
            conn.execute("create schema staging; create schema reference")
            _load_divisions(conn, SEED_DIVISIONS)
            for suite in load_suites().values():
                if suite.kind == "staging":
                    conn.execute(_staging_ddl(suite.target, suite.department, suite.dataset))
            conn.execute(LIBRARY_DDL)
        yield settings
    finally:
        with psycopg.connect(base.pg_url("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        _remove_test_objects(base)


def _remove_test_objects(settings: Settings) -> None:
    client = s3_client(settings)
    for suite in load_suites().values():
        if suite.kind != "staging":
            continue
        for day in TEST_DATES:
            client.remove_object(
                "quarantine", f"{suite.department}/{suite.dataset}/{day.isoformat()}/validate.jsonl"
            )


@pytest.fixture
def scratch_warehouse(scratch_settings: Settings) -> Iterator[psycopg.Connection]:
    """An autocommit connection to the scratch database; staging/audit rows are emptied after each test."""
    with connect(scratch_settings, autocommit=True) as conn:
        yield conn
        for suite in load_suites().values():
            conn.execute(f"truncate {suite.target}")
        conn.execute("truncate platform.quarantine, platform.validation_runs cascade")
