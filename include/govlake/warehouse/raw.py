"""The ``raw`` layer: one table per registry dataset, declared columns typed, plus lineage columns."""

from __future__ import annotations

import psycopg
from psycopg import sql

from govlake.registry import LINEAGE_COLUMNS, Dataset


def _lineage_type(name: str, sql_type: str) -> sql.Composable:
    """Lineage columns are never null; flags default to false so older loaders' rows stay valid."""
    default = " default false" if sql_type == "boolean" else ""
    return sql.SQL(f"{sql_type} not null{default}")


def _add_missing_lineage(conn: psycopg.Connection, dataset: Dataset) -> None:
    """Tables created before a lineage column existed (e.g. ``_deleted``) get it added, once."""
    schema, table = dataset.raw_table.split(".")
    present = _columns(conn, schema, table)
    for name, sql_type in LINEAGE_COLUMNS:
        if name not in present:
            conn.execute(
                sql.SQL("alter table {}.{} add column if not exists {} {}").format(
                    sql.Identifier(schema),
                    sql.Identifier(table),
                    sql.Identifier(name),
                    _lineage_type(name, sql_type),
                )
            )


def raw_table_ddl(dataset: Dataset) -> sql.Composed:
    schema, table = dataset.raw_table.split(".")
    cols = [sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.sql_type)) for c in dataset.columns]
    cols += [sql.SQL("{} {}").format(sql.Identifier(n), _lineage_type(n, t)) for n, t in LINEAGE_COLUMNS]
    return sql.SQL("create table if not exists {}.{} ({})").format(
        sql.Identifier(schema), sql.Identifier(table), sql.SQL(", ").join(cols)
    )


def ensure_raw_table(conn: psycopg.Connection, dataset: Dataset) -> None:
    """Create ``raw.<department>__<dataset>`` if missing, with an index on the logical date partition key.

    Looked at first, changed only when something is missing: ``CREATE INDEX IF NOT EXISTS`` takes a SHARE
    lock on the table before it finds the index, so every build's bootstrap would wait for a load writing
    the table (and the readers after it for the bootstrap)."""
    schema, table = dataset.raw_table.split(".")
    if _raw_table_complete(conn, dataset):
        return
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (dataset.raw_table,))
        conn.execute("create schema if not exists raw")
        conn.execute(raw_table_ddl(dataset))
        _add_missing_lineage(conn, dataset)
        conn.execute(
            sql.SQL("create index if not exists {} on {}.{} (_logical_date)").format(
                sql.Identifier(f"{table}__logical_date_idx"), sql.Identifier(schema), sql.Identifier(table)
            )
        )


def _raw_table_complete(conn: psycopg.Connection, dataset: Dataset) -> bool:
    schema, table = dataset.raw_table.split(".")
    with conn.transaction():
        index = conn.execute("select to_regclass(%s)", (f"{schema}.{table}__logical_date_idx",)).fetchone()[0]
        if index is None:
            return False
        present = _columns(conn, schema, table)
    return all(name in present for name, _ in LINEAGE_COLUMNS)


def _columns(conn: psycopg.Connection, schema: str, table: str) -> set[str]:
    return {
        r[0]
        for r in conn.execute(
            "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
            (schema, table),
        ).fetchall()
    }
