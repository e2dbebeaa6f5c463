"""The two ingest stages the Airflow DAG runs, and both together for the CLI and benchmarks.

1. ``land_and_normalize``: read the source (landing what is received), normalise to Parquet in
   ``s3://raw/<dept>/<dataset>/<D>/``, rejected rows to ``s3://quarantine/<dept>/<dataset>/<D>/ingest.jsonl``,
   the manifest beside the Parquet; the batch row becomes ``landed``. Nothing in ``raw.*`` changes yet.
2. ``load_raw``: COPY the Parquet into ``raw.<dept>__<dataset>`` and the rejects into ``platform.quarantine``,
   replacing the date's rows, in one transaction; the batch row becomes ``loaded``.

Both are idempotent per logical date. They return small JSON-able dicts for XCom; data never goes there.

File drops (CSV, XLSX) are planned first (``deliveries.plan_files``): a date whose files were all ingested
before under the same declared schema is a *duplicate delivery* — recorded, and the stored manifest is
returned with ``duplicate_delivery: true`` so ``load_raw`` leaves ``raw`` untouched. A delivery that cannot
be used as delivered (``BatchRejected``: unreadable, truncated, corrupt, schema drift) is copied to
quarantine with a reason and fails the batch before anything reaches ``raw``.
"""

from __future__ import annotations

import json
import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from govlake.ingest.batches import mark_failed, upsert_batch
from govlake.ingest.context import CHUNK_ROWS, BatchContext, parse_logical_date
from govlake.ingest.errors import BatchRejected, IngestError
from govlake.ingest.landing import clear_prefix, read_json, s3_uri, sha256_file, upload_file, upload_json
from govlake.ingest.normalize import Normalizer, raw_schema, schema_hash
from govlake.ingest.sources import SourceReader, make_reader
from govlake.ingest.watermark import Window, window_for
from govlake.registry import REGISTRY_DIR, get_dataset
from govlake.settings import Settings, get_settings
from govlake.warehouse import connect, ensure_platform_schema

log = logging.getLogger(__name__)

PARQUET_NAME = "part-00000.parquet"
PULLED_KINDS = ("database", "rest_api")  # the platform fetches these; file drops are delivered to it
MANIFEST_NAME = "_manifest.json"
# How much of the manifest goes through XCom; the S3 manifest keeps the full list of landed files.
XCOM_LANDED_FILES = 20


def batch_context(
    dataset_key: str, logical_date: str, settings: Settings | None = None, registry_dir: Path = REGISTRY_DIR
) -> BatchContext:
    return BatchContext(
        get_dataset(dataset_key, registry_dir), parse_logical_date(logical_date), settings or get_settings()
    )


class RejectSink:
    """Quarantine records streamed to a local JSONL file, so a wholly bad delivery cannot fill memory."""

    def __init__(self, ctx: BatchContext) -> None:
        self.ctx = ctx
        self.path = ctx.workdir / "ingest.jsonl"
        self.file = self.path.open("w", encoding="utf-8")
        self.count = 0
        self.base = {
            "batch_id": ctx.batch_id,
            "department": ctx.dataset.department,
            "dataset": ctx.dataset.code,
            "logical_date": ctx.logical_date.isoformat(),
            "stage": "ingest",
            "severity": "blocking",
        }

    def write(self, rejects: list[dict]) -> None:
        for reject in rejects:
            self.file.write(json.dumps({**self.base, **reject}, ensure_ascii=False, default=str) + "\n")
        self.count += len(rejects)

    def close(self) -> None:
        self.file.close()


def _normalize_all(
    ctx: BatchContext, reader: SourceReader, normalizer: Normalizer, parquet: Path, sink: RejectSink
) -> tuple[int, int, int]:
    """Stream every chunk through normalisation into the Parquet file and the reject sink."""
    extracted = loaded = rejected = 0
    pending: list[pa.Table] = []  # small chunks (API pages, sheets) gathered into full row groups
    pending_rows = 0
    with pq.ParquetWriter(parquet, raw_schema(ctx.dataset), compression="zstd") as writer:
        for chunk in reader.chunks():
            result = normalizer.normalize(chunk)
            if result.good.num_rows:
                pending.append(result.good)
                pending_rows += result.good.num_rows
            if pending_rows >= CHUNK_ROWS:
                writer.write_table(pa.concat_tables(pending))
                pending, pending_rows = [], 0
            sink.write(result.rejects)
            pa.default_memory_pool().release_unused()
            extracted += result.rows_in
            loaded += result.good.num_rows
            rejected += result.rows_rejected
        if pending:
            writer.write_table(pa.concat_tables(pending))
    return extracted, loaded, rejected


def _manifest(
    ctx: BatchContext,
    reader: SourceReader,
    normalizer: Normalizer,
    window: Window | None,
    counts: tuple[int, int, int],
    checksum: str,
    sink: RejectSink,
) -> dict:
    prefix = ctx.date_prefix
    extracted, loaded, rejected = counts
    return {
        "batch_id": ctx.batch_id,
        "department": ctx.dataset.department,
        "dataset": ctx.dataset.code,
        "dataset_key": ctx.dataset.key,
        "logical_date": ctx.logical_date.isoformat(),
        "source_kind": ctx.dataset.source_kind,
        "source": reader.source,
        "landed_files": reader.landed_files,
        "rows_extracted": extracted,
        "rows_loaded": loaded,
        "rows_rejected": rejected,
        "quarantine_records": sink.count,
        "raw_uri": s3_uri("raw", prefix + PARQUET_NAME),
        "manifest_uri": s3_uri("raw", prefix + MANIFEST_NAME),
        "quarantine_uri": s3_uri("quarantine", prefix + "ingest.jsonl"),
        "checksum": checksum,
        "schema_hash": schema_hash(ctx.dataset),
        "columns": [{"name": c.name, "type": c.type} for c in ctx.dataset.columns],
        "ingested_at": normalizer.ingested_at.isoformat(),
        "extra_columns_seen": sorted(normalizer.extra_columns_seen),
        "watermark": window.to_json(normalizer.watermark_max) if window else None,
        "files_read": getattr(reader, "files_read", []),
        "tombstones": normalizer.tombstones,
        "details": reader.details,
    }


def _publish_to_lake(ctx: BatchContext, manifest: dict, parquet: Path, sink: RejectSink) -> None:
    """Replace the date's objects in raw and quarantine; the manifest goes last, marking the batch complete."""
    prefix = ctx.date_prefix
    clear_prefix(ctx.s3, "raw", prefix, keep={prefix + PARQUET_NAME})
    upload_file(ctx.s3, manifest["raw_uri"], parquet, "application/vnd.apache.parquet")
    clear_prefix(ctx.s3, "quarantine", prefix + "ingest")
    upload_file(ctx.s3, manifest["quarantine_uri"], sink.path, "application/x-ndjson")
    upload_json(ctx.s3, manifest["manifest_uri"], manifest)


def xcom_summary(manifest: dict) -> dict:
    """The manifest without a possibly long list of landed files (the S3 manifest has them all)."""
    summary = dict(manifest)
    files = manifest["landed_files"]
    summary["landed_files"] = files[:XCOM_LANDED_FILES]
    summary["landed_files_count"] = len(files)
    return summary


def _fail(ctx: BatchContext, error: Exception, manifest: dict | None) -> None:
    with connect(ctx.settings, autocommit=True) as conn:
        mark_failed(conn, ctx, error, manifest)


def _duplicate_delivery(ctx: BatchContext) -> dict | None:
    """The stored manifest when the date is loaded under the same declared schema, else None."""
    with connect(ctx.settings) as conn:
        row = conn.execute(
            "select manifest ->> 'manifest_uri' from platform.batches where batch_id = %s and status = 'loaded' "
            "and schema_hash = %s",
            (ctx.batch_id, schema_hash(ctx.dataset)),
        ).fetchone()
    if not row or not row[0]:
        return None
    try:
        manifest = read_json(ctx.s3, row[0])
    except Exception:  # noqa: BLE001 - no readable manifest: re-ingest rather than trust the record
        return None
    return {**manifest, "duplicate_delivery": True}


def _normalize_and_publish(ctx: BatchContext, reader: SourceReader, window: Window | None) -> dict:
    normalizer = Normalizer(
        ctx.dataset, ctx.batch_id, ctx.logical_date, datetime.now(UTC), window.column if window else None
    )
    parquet, sink = ctx.workdir / PARQUET_NAME, RejectSink(ctx)
    try:
        counts = _normalize_all(ctx, reader, normalizer, parquet, sink)
    finally:
        sink.close()
    manifest = _manifest(ctx, reader, normalizer, window, counts, sha256_file(parquet), sink)
    _publish_to_lake(ctx, manifest, parquet, sink)
    return manifest


def _quarantine(ctx: BatchContext, reader: SourceReader | None, error: BatchRejected) -> None:
    """The rejected delivery to quarantine; a failure here is logged so the original error still surfaces."""
    from govlake.ingest.delivered_files import mark_quarantined
    from govlake.ingest.rejection import quarantine_batch, rejected_files

    try:
        quarantine_batch(ctx, reader, error)
        plan = getattr(reader, "plan", None)
        if plan is not None:
            keys = set(rejected_files(ctx, reader, error))
            mark_quarantined(ctx, [f for f in plan.to_read if f.key in keys])
    except Exception:  # noqa: BLE001
        log.exception("%s: could not quarantine the rejected delivery", ctx.batch_id)


def run_land_and_normalize(ctx: BatchContext) -> dict:
    from govlake.ingest.delivered_files import record_timeliness

    with connect(ctx.settings, autocommit=True) as conn:
        ensure_platform_schema(conn)
        window = window_for(conn, ctx)
    partial = {"watermark": window.to_json(None)} if window else None
    reader: SourceReader | None = None
    pulled = ctx.dataset.source_kind in PULLED_KINDS
    try:
        reader = make_reader(ctx, window)
        if hasattr(reader, "prepare"):
            reader.prepare()
            duplicate = _duplicate_delivery(ctx) if reader.unchanged else None
            if duplicate is not None:
                log.info(
                    "%s: every file was ingested before — duplicate delivery, nothing re-loaded", ctx.batch_id
                )
                return xcom_summary(duplicate)
        manifest = _normalize_and_publish(ctx, reader, window)
    except BatchRejected as exc:
        _quarantine(ctx, reader, exc)
        if pulled:
            record_timeliness(ctx, None, detail=str(exc)[:500])
        _fail(ctx, exc, partial)
        raise
    except Exception as exc:
        _fail(ctx, exc, partial)
        raise
    if pulled:
        record_timeliness(ctx, datetime.now(UTC), files=len(manifest["landed_files"]), pulled=True)
    with connect(ctx.settings, autocommit=True) as conn:
        upsert_batch(conn, ctx, "landed", manifest, restart=True)
    return xcom_summary(manifest)


def land_and_normalize(
    dataset_key: str,
    logical_date: str,
    *,
    settings: Settings | None = None,
    registry_dir: Path = REGISTRY_DIR,
) -> dict:
    """Land the source for the date and normalise it into ``s3://raw``; returns the manifest (XCom-sized)."""
    ctx = batch_context(dataset_key, logical_date, settings, registry_dir)
    try:
        return run_land_and_normalize(ctx)
    finally:
        shutil.rmtree(ctx.workdir, ignore_errors=True)


def load_raw(
    dataset_key: str,
    logical_date: str,
    manifest: dict,
    *,
    settings: Settings | None = None,
    registry_dir: Path = REGISTRY_DIR,
) -> dict:
    """COPY the normalised batch into ``raw.<dept>__<dataset>`` (replacing the date); returns the counts."""
    from govlake.ingest.load import run_load

    ctx = batch_context(dataset_key, logical_date, settings, registry_dir)
    if manifest.get("batch_id") != ctx.batch_id:
        raise IngestError(f"manifest is for batch {manifest.get('batch_id')!r}, not {ctx.batch_id!r}")
    try:
        return run_load(ctx, manifest)
    except Exception as exc:
        _fail(ctx, exc, None)
        raise
    finally:
        shutil.rmtree(ctx.workdir, ignore_errors=True)


def ingest(
    dataset_key: str,
    logical_date: str,
    *,
    settings: Settings | None = None,
    registry_dir: Path = REGISTRY_DIR,
) -> dict:
    """Both stages, for the CLI and benchmarks: land, normalise and load one logical date."""
    manifest = land_and_normalize(dataset_key, logical_date, settings=settings, registry_dir=registry_dir)
    return load_raw(dataset_key, logical_date, manifest, settings=settings, registry_dir=registry_dir)
