"""The records of a date's earlier delivery, when a corrected re-delivery of the same date is loaded.

Shared by both stages that write a date's quarantine records — ingest (rows that could not be loaded, and
whole-file rejections) and validate (rows failing a blocking rule) — so that "corrected" and
"time-to-correct" mean one thing whichever stage found the defect:

* the date's current records of the stage are set aside in the temp table ``quarantine_previous``;
* those of the very delivery now in place (a re-run) are deleted — the caller writes them again and
  :func:`settle` gives them back their detection times, so a re-run changes nothing;
* those of an earlier delivery are kept as history, ``superseded_at`` = when the re-delivery was loaded;
* after the caller has written the new records, a superseded record whose row (same primary key) the
  re-delivery brought and that has no current record is resolved at the load time; a row still failing keeps
  its key's ``first_detected_at``, so a defect fixed on the third try measures from the first report. A
  whole-file record (no row: the file could not be used) is resolved by any accepted re-delivery.

Everything runs on the caller's connection, inside the caller's transaction (with the load or the
quarantine insert): a failed attempt rolls back and supersedes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import psycopg
from psycopg import sql

from govlake.registry import Dataset


@dataclass(frozen=True)
class Replacement:
    """One stage's records of one dataset's date, being replaced by those of the delivery now in place."""

    dataset: Dataset
    logical_date: date
    stage: str
    loaded_at: datetime  # when the delivery now in place was loaded: superseded_at and resolved_at
    # A boolean over the record alias ``q``: it belongs to the delivery now in place (this is a re-run).
    same_delivery: sql.Composable
    # A SELECT of the key text (:func:`row_key`) of every row the delivery now in place brought.
    delivered_keys: sql.Composable
    # The records hold the row as received, under the source's column names (ingest), not the staged row.
    as_received: bool = False
    # A boolean over ``q``: a record about the whole delivery (no row) that an accepted re-delivery resolves.
    whole_file: sql.Composable | None = None

    def scope(self, alias: str = "q") -> sql.Composed:
        """The date's current records of the stage, as SQL with literals (no parameters: see quality.sql)."""
        return sql.SQL(
            "{a}.department = {d} and {a}.dataset = {s} and {a}.logical_date = {day} and {a}.stage = {stage}"
            " and {a}.superseded_at is null"
        ).format(
            a=sql.Identifier(alias),
            d=sql.Literal(self.dataset.department),
            s=sql.Literal(self.dataset.code),
            day=sql.Literal(self.logical_date),
            stage=sql.Literal(self.stage),
        )

    def record_key(self, alias: str) -> sql.Composed:
        return record_key(self.dataset, alias, as_received=self.as_received)


@dataclass(frozen=True)
class SetAside:
    rerun: int  # records of the delivery now in place, deleted to be written again
    superseded: int  # records of an earlier delivery, kept as history


def record_key(dataset: Dataset, alias: str, *, as_received: bool = False) -> sql.Composed:
    """A record's primary key as text (null when a key column is missing from the row).

    Validate-stage records hold the staged row (registry names); ingest-stage records hold the row as
    received (source names, untrimmed text), trimmed here as normalisation trims it.
    """
    parts = []
    for name in dataset.primary_key:
        value = sql.SQL("{}.record->>{}").format(sql.Identifier(alias), sql.Literal(name))
        if as_received:
            source = sql.SQL("{}.record->>{}").format(
                sql.Identifier(alias), sql.Literal(dataset.column(name).source_name)
            )
            value = sql.SQL("nullif(btrim(coalesce({}, {}), E' \\t\\r\\n'), '')").format(value, source)
        parts.append(value)
    return _key_text(parts)


def row_key(dataset: Dataset, alias: str) -> sql.Composed:
    """A delivered row's primary key as text, rendered the way ``to_jsonb`` put it into ``record``."""
    parts = [
        sql.SQL("to_jsonb({}.{}) #>> array[]::text[]").format(sql.Identifier(alias), sql.Identifier(k))
        for k in dataset.primary_key
    ]
    return _key_text(parts)


def _key_text(parts: list[sql.Composable]) -> sql.Composed:
    present = sql.SQL(" and ").join(sql.SQL("{} is not null").format(p) for p in parts)
    return sql.SQL("case when {} then concat_ws('|', {}) end").format(present, sql.SQL(", ").join(parts))


def same_findings(conn: psycopg.Connection, current: sql.Composable, new: sql.Composable) -> bool:
    """Whether two queries return the same rows as multisets: a stage's new findings against the date's
    current records. Equal findings mean the same delivery — a re-run re-reads the same files or re-pulls an
    unchanged source under a new ingest stamp, and must not supersede anything."""
    row = conn.execute(
        sql.SQL("select not exists ({c} except all {n}) and not exists ({n} except all {c})").format(
            c=current, n=new
        )
    ).fetchone()
    return bool(row and row[0])


def set_aside(conn: psycopg.Connection, r: Replacement) -> SetAside:
    """Keep the date's current records in ``quarantine_previous``; delete those of the delivery now in place
    (the caller writes them again) and mark those of an earlier delivery superseded."""
    conn.execute(
        sql.SQL(
            "create temp table quarantine_previous on commit drop as"
            " select q.quarantine_id, q.source_file, q.source_row, q.rule, q.column_name, q.detected_at,"
            " coalesce(q.first_detected_at, q.detected_at) as first_detected_at,"
            " coalesce({whole_file}, false) as whole_file,"
            " case when coalesce({whole_file}, false) then null else {key} end as row_key,"
            " coalesce({same}, false) and not coalesce({whole_file}, false) as same_delivery"
            " from platform.quarantine q where {scope}"
        ).format(whole_file=r.whole_file, key=r.record_key("q"), same=r.same_delivery, scope=r.scope("q"))
    )
    conn.execute("analyze quarantine_previous")  # temp tables have no statistics: the joins below need them
    rerun = conn.execute(
        "delete from platform.quarantine q using quarantine_previous p"
        " where q.quarantine_id = p.quarantine_id and p.same_delivery"
    ).rowcount
    superseded = conn.execute(
        "update platform.quarantine q set superseded_at = %s from quarantine_previous p"
        " where q.quarantine_id = p.quarantine_id and not p.same_delivery",
        (r.loaded_at,),
    ).rowcount
    return SetAside(rerun, superseded)


def settle(conn: psycopg.Connection, r: Replacement, aside: SetAside) -> int:
    """After the new records are written: give them their detection times, resolve what the re-delivery
    corrected. Returns how many superseded records were resolved."""
    _carry_detection(conn, r, aside)
    return _resolve_superseded(conn, r) if aside.superseded else 0


def _carry_detection(conn: psycopg.Connection, r: Replacement, aside: SetAside) -> None:
    """New records keep when their defect was first reported: a re-run keeps each record's own detection
    (same row, rule and column); a row still failing after a re-delivery keeps its key's first detection."""
    if aside.rerun:
        conn.execute(
            sql.SQL(
                "update platform.quarantine q"
                " set detected_at = p.detected_at, first_detected_at = p.first_detected_at"
                " from quarantine_previous p where {scope} and p.same_delivery and q.rule = p.rule"
                " and q.source_row is not distinct from p.source_row"
                " and q.source_file is not distinct from p.source_file"
                " and q.column_name is not distinct from p.column_name"
            ).format(scope=r.scope("q"))
        )
    if aside.superseded:
        conn.execute(
            sql.SQL(
                "update platform.quarantine q"
                " set first_detected_at = least(q.first_detected_at, k.first_detected_at)"
                " from (select row_key, min(first_detected_at) as first_detected_at from quarantine_previous"
                "   where not same_delivery and row_key is not null group by row_key) k"
                " where {scope} and {key} = k.row_key"
            ).format(scope=r.scope("q"), key=r.record_key("q"))
        )


def _resolve_superseded(conn: psycopg.Connection, r: Replacement) -> int:
    """Superseded records whose key the re-delivery brought with no current record (the row came back
    clean), and whole-file records (the file is usable now), resolved at the re-delivery's load time."""
    return conn.execute(
        sql.SQL(
            "update platform.quarantine o"
            " set resolved_at = {loaded_at}::timestamptz, resolved_by_batch = o.batch_id,"
            " resolution_key = p.row_key"
            " from quarantine_previous p"
            " where o.quarantine_id = p.quarantine_id and not p.same_delivery and o.resolved_at is null"
            " and (p.whole_file or (p.row_key in (select k from ({delivered}) d(k))"
            "   and p.row_key not in (select {key} from platform.quarantine q where {scope}"
            "     and {key} is not null)))"
        ).format(
            loaded_at=sql.Literal(r.loaded_at),
            delivered=r.delivered_keys,
            key=r.record_key("q"),
            scope=r.scope("q"),
        )
    ).rowcount
