"""``platform.batches``: one row per batch, upserted by each stage so a re-run never adds a row."""

from __future__ import annotations

import psycopg
from psycopg.types.json import Jsonb

from govlake.ingest.context import BatchContext

_COLUMNS = (
    "batch_id",
    "department",
    "dataset",
    "logical_date",
    "source_kind",
    "source",
    "landed_uris",
    "raw_uri",
    "manifest",
    "rows_extracted",
    "rows_loaded",
    "rows_rejected",
    "schema_hash",
    "checksum",
    "status",
    "error",
)


def upsert_batch(
    conn: psycopg.Connection,
    ctx: BatchContext,
    status: str,
    manifest: dict | None,
    error: str | None = None,
    *,
    restart: bool = False,
    finished: bool = False,
) -> None:
    """Write the batch row from the manifest (or from what is known so far, on failure).

    ``restart`` resets started_at (the land stage begins a new attempt); ``finished`` stamps finished_at.
    """
    m = manifest or {}
    values = {
        "batch_id": ctx.batch_id,
        "department": ctx.dataset.department,
        "dataset": ctx.dataset.code,
        "logical_date": ctx.logical_date,
        "source_kind": ctx.dataset.source_kind,
        "source": m.get("source") or ctx.dataset.source_kind,
        "landed_uris": m.get("landed_files", []),
        "raw_uri": m.get("raw_uri"),
        "manifest": Jsonb(m) if m else None,
        "rows_extracted": m.get("rows_extracted", 0),
        "rows_loaded": m.get("rows_loaded", 0),
        "rows_rejected": m.get("rows_rejected", 0),
        "schema_hash": m.get("schema_hash"),
        "checksum": m.get("checksum"),
        "status": status,
        "error": error,
    }
    updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[1:])
    conn.execute(
        f"insert into platform.batches ({', '.join(_COLUMNS)}, finished_at) "
        f"values ({', '.join('%s' for _ in _COLUMNS)}, {'now()' if finished else 'null'}) "
        f"on conflict (batch_id) do update set {updates}, finished_at = excluded.finished_at"
        f"{', started_at = now()' if restart else ''}",
        [values[c] for c in _COLUMNS],
    )


def mark_failed(conn: psycopg.Connection, ctx: BatchContext, error: Exception, manifest: dict | None) -> None:
    """Record a failed attempt without losing what an earlier attempt stored (its watermark in particular)."""
    conn.execute(
        "insert into platform.batches (batch_id, department, dataset, logical_date, source_kind, source, "
        "manifest, status, error, finished_at) values (%s, %s, %s, %s, %s, %s, %s, 'failed', %s, now()) "
        "on conflict (batch_id) do update set status = 'failed', error = excluded.error, finished_at = now(), "
        "manifest = coalesce(platform.batches.manifest, excluded.manifest)",
        (
            ctx.batch_id,
            ctx.dataset.department,
            ctx.dataset.code,
            ctx.logical_date,
            ctx.dataset.source_kind,
            ctx.dataset.source_kind,
            Jsonb(manifest) if manifest else None,
            f"{type(error).__name__}: {error}",
        ),
    )
