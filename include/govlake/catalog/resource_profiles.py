"""画像: a profile of every catalogued resource, computed after each publish and stored, so the
resource page shows it at once (``platform.resource_profiles``).

Per resource and cycle date: the row count, and per column the null rate, the distinct count, and —
only for items that are 无条件共享, of grade 一般 and carry no personal information — the value range
and the most frequent values (a profile must not reveal what the exchange masks). Department datasets
are profiled in ``raw``, libraries in ``base``. Tables larger than ``SAMPLE_ABOVE`` rows are profiled
on a Bernoulli sample of about that size (the row count stays exact); the profile says so.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from govlake.catalog.model import UNCONDITIONAL, CatalogEntry
from govlake.catalog.store import list_entries
from govlake.settings import Settings
from govlake.warehouse import connect, ensure_platform_schema

log = logging.getLogger(__name__)

SAMPLE_ABOVE = 200_000
TOP_VALUES = 5
FRESHNESS_COLUMNS = ("updated_at", "update_time", "modified_at", "last_updated", "changed_at", "loaded_at")


def relation_of(entry: CatalogEntry) -> tuple[str, str]:
    return ("base", entry.entry_key) if entry.kind == "library" else ("raw", entry.entry_key)


def _columns(conn: psycopg.Connection, schema: str, table: str) -> dict[str, str]:
    rows = conn.execute(
        "select column_name, data_type from information_schema.columns where table_schema = %s "
        "and table_name = %s order by ordinal_position",
        (schema, table),
    ).fetchall()
    return dict(rows)


def _revealable(entry: CatalogEntry, column: str) -> bool:
    try:
        item = entry.item(column)
    except KeyError:
        return False
    return (
        item.sharing_type == UNCONDITIONAL and item.pi in ("none", "") and item.grade in ("一般", "一般数据")
    )


def _comparable(data_type: str) -> bool:
    return data_type in (
        "integer", "bigint", "smallint", "numeric", "double precision", "real", "date",
        "timestamp with time zone", "timestamp without time zone",
    )  # fmt: skip


def profile_entry(conn: psycopg.Connection, entry: CatalogEntry) -> dict[str, Any] | None:
    """The profile of one resource (None when its table does not exist yet)."""
    schema, table = relation_of(entry)
    columns = _columns(conn, schema, table)
    if not columns:
        return None
    target = sql.Identifier(schema, table)
    total = conn.execute(sql.SQL("select count(*) from {}").format(target)).fetchone()[0]
    sampled = total > SAMPLE_ABOVE
    if not sampled:
        return _profile(conn, entry, schema, table, columns, total, sql.SQL("{} as s").format(target), False)
    # the sample is drawn once, into a temporary table every statistic below reads: a Bernoulli sample
    # reads every page of the table, and drawing it per statement (once for the counts, once more for each
    # column whose top values are shown) read a 10 M-row table that many times, a different sample each
    conn.execute(
        sql.SQL(
            "create temporary table profile_sample as select * from {} tablesample bernoulli ({})"
        ).format(target, sql.Literal(round(100.0 * SAMPLE_ABOVE / total, 4)))
    )
    try:
        return _profile(conn, entry, schema, table, columns, total, sql.SQL("profile_sample as s"), True)
    finally:
        conn.execute("drop table if exists profile_sample")


def _profile(
    conn: psycopg.Connection,
    entry: CatalogEntry,
    schema: str,
    table: str,
    columns: dict[str, str],
    total: int,
    source: sql.Composable,
    sampled: bool,
) -> dict[str, Any]:
    names = list(columns)
    parts: list[sql.Composable] = [sql.SQL("count(*)")]
    for name in names:
        col = sql.Identifier(name)
        parts += [sql.SQL("count({})").format(col), sql.SQL("count(distinct {})").format(col)]
        if _comparable(columns[name]) and _revealable(entry, name):
            parts += [sql.SQL("min({})::text").format(col), sql.SQL("max({})::text").format(col)]
        else:
            parts += [sql.SQL("null::text"), sql.SQL("null::text")]
    fresh_col = next((c for c in FRESHNESS_COLUMNS if c in columns), None)
    parts.append(sql.SQL("max({})").format(sql.Identifier(fresh_col)) if fresh_col else sql.SQL("null"))
    row = conn.execute(sql.SQL("select {} from {}").format(sql.SQL(", ").join(parts), source)).fetchone()
    seen = row[0] or 0
    profile_columns = []
    for n, name in enumerate(names):
        non_null, distinct, low, high = row[1 + 4 * n : 5 + 4 * n]
        top: list[list[Any]] = []
        if _revealable(entry, name) and seen:
            top = [
                [str(v), c]
                for v, c in conn.execute(
                    sql.SQL(
                        "select {c}, count(*) from {s} where {c} is not null group by 1 order by 2 desc, 1 limit {k}"
                    ).format(c=sql.Identifier(name), s=source, k=sql.Literal(TOP_VALUES))
                ).fetchall()
            ]
        profile_columns.append(
            {
                "name": name,
                "type": columns[name],
                "nulls": seen - non_null,
                "null_rate": round((seen - non_null) / seen, 4) if seen else None,
                "distinct": distinct,
                "min": low,
                "max": high,
                "top": top,
                "sampled": sampled,
            }
        )
    freshness = row[-1] if isinstance(row[-1], dt.datetime) else None
    return {
        "relation": f"{schema}.{table}",
        "rows": total,
        "freshness": freshness,
        "columns": profile_columns,
    }


def profile_resources(logical_date: str | dt.date, settings: Settings | None = None) -> dict[str, int]:
    """Profile every catalogued resource for the cycle date and store it; returns rows per resource."""
    day = dt.date.fromisoformat(str(logical_date))
    done: dict[str, int] = {}
    with connect(settings, autocommit=True) as conn:
        ensure_platform_schema(conn)
        for entry in list_entries(conn):
            try:
                profile = profile_entry(conn, entry)
            except psycopg.Error as exc:  # one unreadable table must not hide the other profiles
                log.warning("could not profile %s: %s", entry.entry_key, exc)
                continue
            if profile is None:
                continue
            conn.execute(
                """
                insert into platform.resource_profiles (resource_key, logical_date, relation, row_count, freshness, columns)
                values (%s, %s, %s, %s, %s, %s)
                on conflict (resource_key, logical_date) do update set relation = excluded.relation,
                    row_count = excluded.row_count, freshness = excluded.freshness, columns = excluded.columns,
                    profiled_at = now()
                """,
                (
                    entry.entry_key,
                    day,
                    profile["relation"],
                    profile["rows"],
                    profile["freshness"],
                    Jsonb(profile["columns"]),
                ),
            )
            done[entry.entry_key] = profile["rows"]
    log.info("profiled %d resources for %s", len(done), day)
    return done
