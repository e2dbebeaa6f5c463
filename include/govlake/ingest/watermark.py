"""Incremental extraction windows for sources that carry an ``updated_at``-like watermark column.

For logical date D a batch takes the rows whose watermark is greater than the highest watermark seen by
the previous successfully loaded batch (the *low* mark, exclusive) and earlier than local midnight that
starts D + 1 (the *high* mark, exclusive). The first batch has no low mark and takes everything.

The low mark used is stored in the batch's manifest (``platform.batches.manifest -> 'watermark'``), and a
re-run of D reuses it, so re-running a date re-extracts the same rows even after later dates have loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from govlake.ingest.context import PROVINCE_TZ, BatchContext
from govlake.ingest.errors import IngestError
from govlake.registry import Dataset


@dataclass(frozen=True)
class Window:
    column: str  # the watermark column as the source names it
    low: datetime | None  # exclusive; None on the first run
    high: datetime  # exclusive

    def contains(self, value: datetime) -> bool:
        return (self.low is None or value > self.low) and value < self.high

    def to_json(self, max_seen: datetime | None) -> dict:
        """The window in local time (what a clerk compares with the source), exact to the microsecond."""

        def local(value: datetime | None) -> str | None:
            return value.astimezone(PROVINCE_TZ).isoformat() if value else None

        return {
            "column": self.column,
            "low": local(self.low),
            "high": local(self.high),
            "max_seen": local(max_seen),
        }


def watermark_source_column(dataset: Dataset) -> str | None:
    """The source's name for the watermark column; the registry may give the source or the platform name."""
    declared = dataset.source.get("watermark")
    if not declared:
        return None
    for column in dataset.columns:
        if declared in (column.source_name, column.name):
            if column.type != "timestamp":
                raise IngestError(
                    f"{dataset.registry_file}: source.watermark {declared!r} of {dataset.key} is declared as "
                    f"{column.type}; a watermark must be a timestamp column"
                )
            return column.source_name
    raise IngestError(
        f"{dataset.registry_file}: source.watermark {declared!r} of {dataset.key} is not a declared column"
    )


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _stored_low(conn: psycopg.Connection, batch_id: str) -> tuple[bool, datetime | None]:
    row = conn.execute(
        "select manifest -> 'watermark' ->> 'low' from platform.batches "
        "where batch_id = %s and manifest ? 'watermark'",
        (batch_id,),
    ).fetchone()
    return (row is not None, _parse(row[0]) if row else None)


def _previous_high(conn: psycopg.Connection, ctx: BatchContext) -> datetime | None:
    """Where the last loaded batch before D stopped: its highest watermark seen, else its own low mark."""
    row = conn.execute(
        "select coalesce(manifest -> 'watermark' ->> 'max_seen', manifest -> 'watermark' ->> 'low') "
        "from platform.batches where department = %s and dataset = %s and logical_date < %s "
        "and status = 'loaded' and manifest ? 'watermark' order by logical_date desc limit 1",
        (ctx.dataset.department, ctx.dataset.code, ctx.logical_date),
    ).fetchone()
    return _parse(row[0]) if row else None


def window_for(conn: psycopg.Connection, ctx: BatchContext) -> Window | None:
    """The extraction window of this batch, or None when the source has no watermark (take all)."""
    column = watermark_source_column(ctx.dataset)
    if column is None:
        return None
    has_stored, low = _stored_low(conn, ctx.batch_id)
    if not has_stored:
        low = _previous_high(conn, ctx)
    return Window(column=column, low=low, high=ctx.day_end)
