"""The two ingest stages the Airflow DAG runs, and both together for the CLI and benchmarks.

1. ``land_and_normalize``: read the source (landing what is received), normalise to Parquet in
   ``s3://raw/<dept>/<dataset>/<D>/``, rejected rows to ``s3://quarantine/<dept>/<dataset>/<D>/ingest.jsonl``,
   the manifest beside the Parquet; the batch row becomes ``landed``. Nothing in ``raw.*`` changes yet.
2. ``load_raw``: COPY the Parquet into ``raw.<dept>__<dataset>`` and the rejects into ``platform.quarantine``,
   replacing the date's rows, in one transaction; the batch row becomes ``loaded``.

Both are idempotent per logical date. They return small JSON-able dicts for XCom; data never goes there.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from govlake.ingest.batches import mark_failed, upsert_batch
from govlake.ingest.context import BatchContext, parse_logical_date
from govlake.ingest.errors import IngestError
from govlake.ingest.landing import clear_prefix, s3_uri, sha256_file, upload_file, upload_json
from govlake.ingest.normalize import Normalizer, raw_schema, schema_hash
from govlake.ingest.sources import SourceReader, make_reader
from govlake.ingest.watermark import Window, window_for
from govlake.registry import REGISTRY_DIR, get_dataset
from govlake.settings import Settings, get_settings
from govlake.warehouse import connect, ensure_platform_schema

PARQUET_NAME = "part-00000.parquet"
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
    with pq.ParquetWriter(parquet, raw_schema(ctx.dataset), compression="zstd") as writer:
        for chunk in reader.chunks():
            result = normalizer.normalize(chunk)
            if result.good.num_rows:
                writer.write_table(result.good)
            sink.write(result.rejects)
            pa.default_memory_pool().release_unused()
            extracted += result.rows_in
            loaded += result.good.num_rows
            rejected += result.rows_rejected
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


def run_land_and_normalize(ctx: BatchContext) -> dict:
    with connect(ctx.settings, autocommit=True) as conn:
        ensure_platform_schema(conn)
        window = window_for(conn, ctx)
    partial = {"watermark": window.to_json(None)} if window else None
    try:
        reader = make_reader(ctx, window)
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
    except Exception as exc:
        _fail(ctx, exc, partial)
        raise
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
