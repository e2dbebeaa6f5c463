"""The warehouse (PostgreSQL): connections, the platform schema and bulk loading into ``raw``."""

from __future__ import annotations

import hashlib
from importlib import resources

import psycopg

from govlake.settings import Settings, get_settings


def connect(settings: Settings | None = None, database: str | None = None, **kwargs) -> psycopg.Connection:
    """A psycopg connection to the warehouse (or another database of the local cluster)."""
    settings = settings or get_settings()
    return psycopg.connect(settings.pg_url(database or settings.warehouse_db), **kwargs)


def platform_schema_sql() -> str:
    """Every DDL file under ``warehouse/schema/`` in name order (``00_core.sql`` first).

    Each stage that keeps records adds its own numbered file (quality, sharing, catalog, ...), so the
    platform schema grows without one file every change has to touch. Every file is idempotent.
    """
    folder = resources.files("govlake.warehouse").joinpath("schema")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    return "\n\n".join(f.read_text(encoding="utf-8") for f in files)


def platform_schema_digest(schema_sql: str | None = None) -> str:
    """The version of the platform schema files: sha256 of their text, in order."""
    return hashlib.sha256((schema_sql or platform_schema_sql()).encode("utf-8")).hexdigest()


def ensure_platform_schema(conn: psycopg.Connection) -> None:
    """Create the layer schemas and the platform's tables if they are missing (idempotent).

    Applied once per version of the schema files (their digest in ``platform.schema_applied``); every later
    call is one lookup. Running the files each time was not free: ``ALTER TABLE … ADD COLUMN IF NOT EXISTS``
    takes an ACCESS EXCLUSIVE lock even when the column exists, so a task starting while another read
    platform.quarantine (a validation, a dbt build) waited for that reader — and every later reader of the
    table queued behind its lock request: tasks that take seconds alone ending together after a minute,
    as the daily cycle's four cross-department validations did at 10 M persons (3–11 s alone, 61–66 s).
    """
    schema_sql = platform_schema_sql()
    digest = platform_schema_digest(schema_sql)
    with conn.transaction():  # a transaction of its own, as below: the caller's connection is left idle
        if _schema_applied(conn, digest):
            return
    with conn.transaction():
        # Serialise concurrent callers (parallel ingest tasks) so CREATE IF NOT EXISTS cannot race.
        conn.execute("select pg_advisory_xact_lock(hashtext('govlake.platform_schema'))")
        if _schema_applied(conn, digest):  # another caller applied it while this one waited
            return
        conn.execute(schema_sql)
        conn.execute(
            "insert into platform.schema_applied (digest) values (%s) on conflict (digest) do nothing",
            (digest,),
        )


def _schema_applied(conn: psycopg.Connection, digest: str) -> bool:
    if conn.execute("select to_regclass('platform.schema_applied')").fetchone()[0] is None:
        return False
    return conn.execute(
        "select exists (select from platform.schema_applied where digest = %s)", (digest,)
    ).fetchone()[0]


def bootstrap_warehouse(settings: Settings | None = None) -> None:
    """Layer schemas, platform tables and one raw table per registry dataset (idempotent).

    Run on ``govlake stack up`` and before every dbt build, so staging views compile even for a
    dataset that has not delivered yet, and a department added to the registry gets its raw table.
    """
    from govlake.registry import iter_datasets
    from govlake.warehouse.raw import ensure_raw_table

    with connect(settings) as conn:
        ensure_platform_schema(conn)
        for dataset in iter_datasets():
            ensure_raw_table(conn, dataset)
