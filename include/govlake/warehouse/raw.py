"""The ``raw`` layer: one table per registry dataset, declared columns typed, plus lineage columns."""

from __future__ import annotations

import psycopg
from psycopg import sql

from govlake.registry import LINEAGE_COLUMNS, Dataset


def raw_table_ddl(dataset: Dataset) -> sql.Composed:
    schema, table = dataset.raw_table.split(".")
    cols = [sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.sql_type)) for c in dataset.columns]
    cols += [sql.SQL("{} {} not null").format(sql.Identifier(n), sql.SQL(t)) for n, t in LINEAGE_COLUMNS]
    return sql.SQL("create table if not exists {}.{} ({})").format(
        sql.Identifier(schema), sql.Identifier(table), sql.SQL(", ").join(cols)
    )


def ensure_raw_table(conn: psycopg.Connection, dataset: Dataset) -> None:
    """Create ``raw.<department>__<dataset>`` if missing, with an index on the logical date partition key."""
    schema, table = dataset.raw_table.split(".")
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (dataset.raw_table,))
        conn.execute("create schema if not exists raw")
        conn.execute(raw_table_ddl(dataset))
        conn.execute(
            sql.SQL("create index if not exists {} on {}.{} (_logical_date)").format(
                sql.Identifier(f"{table}__logical_date_idx"), sql.Identifier(schema), sql.Identifier(table)
            )
        )
