"""The warehouse (PostgreSQL): connections, the platform schema and bulk loading into ``raw``."""

from __future__ import annotations

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


def ensure_platform_schema(conn: psycopg.Connection) -> None:
    """Create the layer schemas and the platform's tables if they are missing (idempotent)."""
    with conn.transaction():
        # Serialise concurrent callers (parallel ingest tasks) so CREATE IF NOT EXISTS cannot race.
        conn.execute("select pg_advisory_xact_lock(hashtext('govlake.platform_schema'))")
        conn.execute(platform_schema_sql())


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
