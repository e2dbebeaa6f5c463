"""Hard-delete capture for department databases: keys gone from the source become tombstone rows.

A watermark extract only sees rows that changed; a row deleted outright leaves nothing to extract. So on
every batch the source's primary keys are snapshotted — in the same REPEATABLE READ transaction as the
extract, so the two agree — and streamed with COPY into a temporary table beside ``raw`` in the warehouse.
One SQL anti-join there finds the keys whose newest loaded version (dates before D, ranked as the
intermediate models rank them: watermark, logical date, source row) is live but that the source no longer
has. Neither key set passes through Python memory.

Those keys are written as a small CSV and landed next to the extract
(``<dataset>_<YYYYMMDD>_deleted.csv``: the key columns, the watermark and ``_deleted``), then read as a
tombstone chunk: the same shape a soft delete has — ``_deleted = true``, key columns set, other columns
null. The tombstone's watermark is the end of D (minus 1 µs, inside the window) or just after the key's
newest version, whichever is later, so that it ranks as the newest version and staging drops the key.

Needs a watermark (a tombstone must be stamped to rank newest); ``source.capture_deletes: false`` turns it
off for a source whose keys are not stable. A re-run of an old date compares with the source as it is now,
so it may stamp a later deletion on that date; the next date's batch sets any such key straight.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from govlake.registry import Column, Dataset

SNAPSHOT_TABLE = "_govlake_source_keys"
TOMBSTONE_FLAG = "_deleted"
# Tombstone files end so; staging validation leaves their rows out (govlake.quality.suites.Suite.batch_sql).
INTEGER_TEXT = r"^[+-]?[0-9]{1,18}$"


def capture_enabled(dataset: Dataset, watermark: str | None) -> bool:
    """Database sources with a watermark capture deletes unless the registry says ``capture_deletes: false``."""
    return (
        dataset.source_kind == "database"
        and watermark is not None
        and dataset.source.get("capture_deletes", True) is not False
    )


def key_columns(dataset: Dataset) -> list[Column]:
    return [dataset.column(name) for name in dataset.primary_key]


def _identifier(qualified: str) -> sql.Identifier:
    schema, _, table = qualified.rpartition(".")
    return sql.Identifier(schema, table) if schema else sql.Identifier(table)


def snapshot_query(table: str, keys: list[Column]) -> sql.Composed:
    """The source's keys as the normaliser would read them: text, trimmed, empty as null."""
    columns = sql.SQL(", ").join(
        sql.SQL("nullif(btrim({}::text), '')").format(sql.Identifier(c.source_name)) for c in keys
    )
    return sql.SQL("copy (select {} from {}) to stdout").format(columns, _identifier(table))


def snapshot_keys(
    source: psycopg.Connection, warehouse: psycopg.Connection, table: str, keys: list[Column]
) -> int:
    """Stream the source's keys into a temporary warehouse table (dropped at commit); returns the count."""
    names = [sql.Identifier(f"k{i}") for i in range(len(keys))]
    warehouse.execute(
        sql.SQL("create temp table {} ({}) on commit drop").format(
            sql.Identifier(SNAPSHOT_TABLE), sql.SQL(", ").join(sql.SQL("{} text").format(n) for n in names)
        )
    )
    target = sql.SQL("copy {} from stdin").format(sql.Identifier(SNAPSHOT_TABLE))
    with source.cursor().copy(snapshot_query(table, keys)) as out, warehouse.cursor().copy(target) as into:
        for data in out:
            into.write(data)
    warehouse.execute(sql.SQL("analyze {}").format(sql.Identifier(SNAPSHOT_TABLE)))
    return warehouse.execute(
        sql.SQL("select count(*) from {}").format(sql.Identifier(SNAPSHOT_TABLE))
    ).fetchone()[0]


def _matches(column: Column, index: int) -> sql.Composed:
    """``newest.<key>`` equals the snapshot's text key, compared in the raw column's type."""
    raw = sql.SQL("newest.{}").format(sql.Identifier(column.name))
    snap = sql.SQL("s.{}").format(sql.Identifier(f"k{index}"))
    if column.type == "string":
        return sql.SQL("{} = {}").format(raw, snap)
    if column.type == "integer":  # '007' in a text column is the key 7 once normalised
        return sql.SQL("{} = case when {} ~ {} then {}::bigint end").format(
            raw, snap, sql.Literal(INTEGER_TEXT), snap
        )
    return sql.SQL("{}::text = {}").format(raw, snap)


def tombstone_query(dataset: Dataset, watermark: Column, logical_date: str, stamp: datetime) -> sql.Composed:
    """``COPY (...) TO STDOUT``: one CSV row (source column names) per key that vanished from the source."""
    keys = key_columns(dataset)
    key_ids = sql.SQL(", ").join(sql.Identifier(c.name) for c in keys)
    wm = sql.Identifier(watermark.name)
    selected = [
        sql.SQL("newest.{} as {}").format(sql.Identifier(c.name), sql.Identifier(c.source_name)) for c in keys
    ]
    selected.append(
        sql.SQL("greatest({}::timestamptz, newest.{} + interval '1 microsecond') as {}").format(
            sql.Literal(stamp), wm, sql.Identifier(watermark.source_name)
        )
    )
    selected.append(sql.SQL("true as {}").format(sql.Identifier(TOMBSTONE_FLAG)))
    # The keys the source no longer has are found first, then only their versions are ranked: the anti-join
    # is on the key alone, so it keeps or drops all of a key's versions together and the newest one left is
    # the newest one there is. Ranking first sorted every version of every key the warehouse ever loaded
    # (10 M 公安厅 persons: most of the check's 86-105 s a day) to keep the few the source dropped.
    return sql.SQL(
        "copy (select {selected} from ("
        " select distinct on ({keys}) {keys}, {wm}, _deleted from {raw} as newest where _logical_date < {day}"
        " and not exists (select 1 from {snapshot} s where {match})"
        " order by {keys}, {wm} desc nulls last, _logical_date desc, _source_row desc"
        ") newest where not coalesce(newest._deleted, false)"
        " order by {keys}) to stdout with (format csv, header true)"
    ).format(
        selected=sql.SQL(", ").join(selected),
        keys=key_ids,
        wm=wm,
        raw=sql.Identifier("raw", dataset.key),
        day=sql.Literal(logical_date),
        snapshot=sql.Identifier(SNAPSHOT_TABLE),
        match=sql.SQL(" and ").join(_matches(c, i) for i, c in enumerate(keys)),
    )


def tombstone_stamp(day_end: datetime) -> datetime:
    """Inside the batch's window (its high mark is exclusive), later than any version loaded before D."""
    return day_end - timedelta(microseconds=1)


def write_tombstones(
    source: psycopg.Connection,
    warehouse: psycopg.Connection,
    dataset: Dataset,
    table: str,
    watermark: Column,
    logical_date: str,
    day_end: datetime,
    path: Path,
) -> tuple[int, int]:
    """Write the tombstone CSV for the batch; returns (source keys, tombstones). Nothing loaded yet: (n, 0)."""
    if warehouse.execute("select to_regclass(%s)", (dataset.raw_table,)).fetchone()[0] is None:
        return 0, 0
    snapshot = snapshot_keys(source, warehouse, table, key_columns(dataset))
    warehouse.execute("set timezone to 'Asia/Shanghai'")  # stamps as a clerk reads them, with the offset
    with warehouse.cursor() as cur, path.open("wb") as out:
        with cur.copy(tombstone_query(dataset, watermark, logical_date, tombstone_stamp(day_end))) as copy:
            for data in copy:
                out.write(data)
        return snapshot, max(cur.rowcount, 0)
