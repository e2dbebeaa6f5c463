"""Load: the batch's Parquet from ``s3://raw`` into ``raw.<dept>__<dataset>`` with COPY, in one transaction.

Why delete + COPY rather than partitions: ``warehouse/raw.py`` owns the table shape (a plain table with an
index on ``_logical_date``) and a delete of one day's rows is cheap next to the COPY; the delete, the
COPY, the date's ingest quarantine and the batch row commit together, so readers see the old day or the
new day, never a mix. (A list partition per date would make the replace a metadata-only swap — worth it
once a day's rows run to tens of millions; the contract for callers would not change.)

The date's ingest-stage quarantine records are replaced the way validation replaces its own
(:mod:`govlake.ledger`, in the same transaction): a re-run — the rejects are exactly the records
already there, whatever the ingest stamp — rewrites them keeping their detection times; a corrected
re-delivery keeps the earlier records as history (``superseded_at`` = this load's time), resolves at that
time the rows it now loads clean and any whole-file rejection of the date (the file is usable now), and a
row still rejected keeps its key's ``first_detected_at``. A failed load rolls back and supersedes nothing.

Why CSV through COPY: Arrow's C++ CSV writer turns a record batch into COPY's input at several hundred
thousand rows a second (without holding the GIL), and it runs in a second thread, at most ``PREFETCH``
batches ahead, while the main thread feeds COPY — so the load runs close to a plain COPY of the same rows
and memory stays bounded even when PostgreSQL is the slower side. Nulls are written unquoted-empty and
text always quoted, which is exactly how COPY's CSV format tells NULL from an empty string.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
import pyarrow.csv as pcsv
from psycopg import sql

from govlake.ingest.batches import upsert_batch
from govlake.ingest.context import BatchContext
from govlake.ingest.delivered_files import mark_ingested
from govlake.ingest.errors import IngestError
from govlake.ingest.landing import download_file, read_json, sha256_file
from govlake.ingest.prefetch import prefetch
from govlake.lake.parquet_files import record_batches
from govlake.ledger import Replacement, row_key, same_findings, set_aside, settle
from govlake.registry import LINEAGE_COLUMNS, Dataset
from govlake.warehouse import connect, ensure_platform_schema
from govlake.warehouse.raw import ensure_raw_table

QUARANTINE_COLUMNS = (
    "batch_id",
    "department",
    "dataset",
    "logical_date",
    "stage",
    "source_file",
    "source_row",
    "rule",
    "dimension",
    "severity",
    "column_name",
    "message",
    "record",
)
_CSV_OPTIONS = pcsv.WriteOptions(include_header=False, batch_size=8192)
PREFETCH = 2  # encoded batches waiting for COPY: bounds memory at ~3 batches of CSV
COPY_BATCH_ROWS = 10_000  # ~2.5 MB of CSV per write: as fast as bigger batches, far less memory


def raw_columns(dataset: Dataset) -> list[str]:
    return [c.name for c in dataset.columns] + [name for name, _ in LINEAGE_COLUMNS]


def copy_parquet(
    conn: psycopg.Connection, table: str, columns: list[str], parquet: Path, batch_rows: int = COPY_BATCH_ROWS
) -> int:
    """Stream a Parquet file into ``table`` with COPY ... FROM STDIN (CSV), one record batch at a time."""
    schema, name = table.split(".")
    statement = sql.SQL("copy {}.{} ({}) from stdin with (format csv)").format(
        sql.Identifier(schema), sql.Identifier(name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor() as cur:
        with cur.copy(statement) as copy:
            for block in prefetch(
                csv_blocks(parquet, columns, batch_rows), PREFETCH, name="govlake-csv-encode"
            ):
                copy.write(block)
        return cur.rowcount


def csv_blocks(parquet: Path, columns: list[str], batch_rows: int) -> Iterator[memoryview]:
    """The Parquet file as COPY-ready CSV, one record batch at a time."""
    for batch in record_batches(parquet, batch_rows, columns):
        buffer = io.BytesIO()
        pcsv.write_csv(batch, buffer, _CSV_OPTIONS)
        yield buffer.getbuffer()


def copy_quarantine(conn: psycopg.Connection, jsonl: Path, table: str = "platform.quarantine") -> int:
    """Stream the batch's ingest rejects (JSONL, one per failure) into ``table``."""
    statement = sql.SQL("copy {} ({}) from stdin").format(
        sql.Identifier(*table.split(".")), sql.SQL(", ").join(map(sql.Identifier, QUARANTINE_COLUMNS))
    )
    with conn.cursor() as cur:
        with cur.copy(statement) as copy, jsonl.open(encoding="utf-8") as lines:
            for line in lines:
                reject = json.loads(line)
                reject["record"] = json.dumps(reject["record"], ensure_ascii=False)
                copy.write_row([reject.get(c) for c in QUARANTINE_COLUMNS])
        return cur.rowcount


def _check_raw_table(conn: psycopg.Connection, dataset: Dataset) -> None:
    schema, name = dataset.raw_table.split(".")
    present = {
        r[0]
        for r in conn.execute(
            "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
            (schema, name),
        ).fetchall()
    }
    missing = [c for c in raw_columns(dataset) if c not in present]
    if missing:
        raise IngestError(
            f"{dataset.raw_table} lacks column(s) {', '.join(missing)} declared in {dataset.registry_file.name} "
            "— migrate the raw table (add the columns) before loading"
        )


def _fetch(ctx: BatchContext, summary: dict) -> tuple[dict, Path, Path]:
    """The full manifest and the batch's files, checked against the checksum the normalise stage recorded."""
    manifest = read_json(ctx.s3, summary["manifest_uri"])
    if manifest["checksum"] != summary["checksum"]:
        raise IngestError(
            f"{summary['manifest_uri']} has checksum {manifest['checksum']}, the task was handed "
            f"{summary['checksum']}: the batch was re-normalised meanwhile — re-run land_and_normalize"
        )
    parquet = download_file(ctx.s3, manifest["raw_uri"], ctx.workdir / "part.parquet")
    actual = sha256_file(parquet)
    if actual != manifest["checksum"]:
        raise IngestError(
            f"{manifest['raw_uri']}: sha256 {actual} does not match its manifest ({manifest['checksum']})"
        )
    jsonl = download_file(ctx.s3, manifest["quarantine_uri"], ctx.workdir / "ingest.jsonl")
    return manifest, parquet, jsonl


# A record about the whole delivery (a rejected file, rejection.py), not about one of its rows.
WHOLE_FILE = sql.SQL("coalesce(q.record->>'batch_level' = 'true', false)")
# What makes two ingest records the same defect report: the row as received, where it was, what failed.
_COMPARED = sql.SQL("source_file, source_row, rule, column_name, record")


@dataclass(frozen=True)
class Replaced:
    """What loading the date did to its ingest-stage quarantine records."""

    loaded: int  # rows COPied into raw
    rerun: bool  # the rejects were exactly those already recorded: rewritten, detection times kept
    superseded: int  # records of an earlier delivery (or a rejected file) kept as history
    resolved: int  # of those, the ones this delivery corrected


def _replacement(ctx: BatchContext, loaded_at: datetime, same_delivery: bool) -> Replacement:
    """The date's ingest-stage records, replaced by this load's (the shared supersede/resolve step)."""
    dataset = ctx.dataset
    schema, name = dataset.raw_table.split(".")
    return Replacement(
        dataset=dataset,
        logical_date=ctx.logical_date,
        stage="ingest",
        loaded_at=loaded_at,
        same_delivery=sql.Literal(same_delivery),
        delivered_keys=sql.SQL("select {} from {} s where s._logical_date = {}").format(
            row_key(dataset, "s"), sql.Identifier(schema, name), sql.Literal(ctx.logical_date)
        ),
        as_received=True,
        whole_file=WHOLE_FILE,
    )


def _stage_rejects(conn: psycopg.Connection, jsonl: Path, expected: int) -> None:
    """The batch's rejects into the temp table ``ingest_rejects``, to be compared before they are recorded."""
    conn.execute(
        sql.SQL(
            "create temp table ingest_rejects on commit drop as select {} from platform.quarantine with no data"
        ).format(sql.SQL(", ").join(map(sql.Identifier, QUARANTINE_COLUMNS)))
    )
    quarantined = copy_quarantine(conn, jsonl, "ingest_rejects")
    if quarantined != expected:
        raise IngestError(f"quarantine: COPY wrote {quarantined} records, the manifest says {expected}")


def _same_rejects(conn: psycopg.Connection, replacement: Replacement) -> bool:
    """Whether this load's rejects are exactly the date's current row-level records (as a multiset).

    Why content and not the ingest stamp: re-running the DAG on the same files (or re-pulling an unchanged
    source) normalises again under a new ``_ingested_at``, yet it is the same delivery — it must not
    supersede. A re-delivery whose defects are all the same ones changes nothing a re-run would not.
    """
    current = sql.SQL("select {} from platform.quarantine q where {} and not {}").format(
        _COMPARED, replacement.scope("q"), WHOLE_FILE
    )
    return same_findings(conn, current, sql.SQL("select {} from ingest_rejects").format(_COMPARED))


def _record_rejects(conn: psycopg.Connection, manifest: dict) -> None:
    cols = sql.SQL(", ").join(map(sql.Identifier, QUARANTINE_COLUMNS))
    conn.execute(
        sql.SQL(
            "insert into platform.quarantine ({cols}, batch_ingested_at, first_detected_at)"
            " select {cols}, {version}::timestamptz, now() from ingest_rejects"
        ).format(cols=cols, version=sql.Literal(manifest.get("ingested_at")))
    )


def _replace_quarantine(
    conn: psycopg.Connection, ctx: BatchContext, manifest: dict, jsonl: Path, loaded: int
) -> Replaced:
    """The date's ingest records become this load's: a re-run rewrites them in place; a re-delivery keeps
    the earlier ones as history (superseded), resolving what it corrected at this load's time."""
    loaded_at = conn.execute("select now()").fetchone()[0]  # = platform.batches.finished_at of this load
    _stage_rejects(conn, jsonl, manifest["quarantine_records"])
    same = _same_rejects(conn, _replacement(ctx, loaded_at, False))
    replacement = _replacement(ctx, loaded_at, same)
    aside = set_aside(conn, replacement)
    _record_rejects(conn, manifest)
    resolved = settle(conn, replacement, aside)
    return Replaced(loaded, same, aside.superseded, resolved)


def _replace_date(
    conn: psycopg.Connection, ctx: BatchContext, manifest: dict, parquet: Path, jsonl: Path
) -> Replaced:
    dataset = ctx.dataset
    schema, name = dataset.raw_table.split(".")
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (ctx.batch_id,))
        conn.execute(
            sql.SQL("delete from {}.{} where _logical_date = %s").format(
                sql.Identifier(schema), sql.Identifier(name)
            ),
            (ctx.logical_date,),
        )
        loaded = copy_parquet(conn, dataset.raw_table, raw_columns(dataset), parquet)
        if loaded != manifest["rows_loaded"]:
            raise IngestError(
                f"{dataset.raw_table}: COPY loaded {loaded} rows, the manifest says {manifest['rows_loaded']}"
            )
        replaced = _replace_quarantine(conn, ctx, manifest, jsonl, loaded)
        if manifest.get("files_read"):
            mark_ingested(conn, ctx, manifest["files_read"])
        upsert_batch(conn, ctx, "loaded", manifest, finished=True)
    return replaced


def _already_loaded(ctx: BatchContext, summary: dict) -> dict | None:
    """A duplicate delivery: the date is loaded from these very files; report it, touch nothing."""
    with connect(ctx.settings) as conn:
        row = conn.execute(
            "select rows_loaded from platform.batches where batch_id = %s and status = 'loaded' and checksum = %s",
            (ctx.batch_id, summary.get("checksum")),
        ).fetchone()
    if row is None:
        return None
    return {
        "batch_id": ctx.batch_id,
        "logical_date": ctx.logical_date.isoformat(),
        "raw_table": ctx.dataset.raw_table,
        "raw_uri": summary.get("raw_uri"),
        "rows_extracted": summary.get("rows_extracted"),
        "rows_loaded": row[0],
        "rows_rejected": summary.get("rows_rejected"),
        "quarantine_records": summary.get("quarantine_records"),
        "duplicate_delivery": True,
        "load_seconds": 0.0,
        "rows_per_second": None,
    }


def run_load(ctx: BatchContext, summary: dict) -> dict:
    if summary.get("duplicate_delivery"):
        done = _already_loaded(ctx, summary)
        if done is not None:
            return done
    manifest, parquet, jsonl = _fetch(ctx, summary)
    with connect(ctx.settings, autocommit=True) as conn:
        ensure_platform_schema(conn)
        ensure_raw_table(conn, ctx.dataset)
        _check_raw_table(conn, ctx.dataset)
        started = time.perf_counter()
        replaced = _replace_date(conn, ctx, manifest, parquet, jsonl)
        seconds = time.perf_counter() - started
    loaded = replaced.loaded
    return {
        "batch_id": ctx.batch_id,
        "logical_date": ctx.logical_date.isoformat(),
        "raw_table": ctx.dataset.raw_table,
        "raw_uri": manifest["raw_uri"],
        "rows_extracted": manifest["rows_extracted"],
        "rows_loaded": loaded,
        "rows_rejected": manifest["rows_rejected"],
        "quarantine_records": manifest["quarantine_records"],
        "tombstones": manifest.get("tombstones", 0),  # soft and hard deletes among rows_loaded
        "quarantine_rerun": replaced.rerun,  # the same defects as already recorded: nothing superseded
        "quarantine_superseded": replaced.superseded,  # earlier delivery's records (and rejected files)
        "quarantine_resolved": replaced.resolved,  # of those, corrected by this delivery
        "load_seconds": round(seconds, 3),
        "rows_per_second": round(loaded / seconds) if seconds > 0 else None,
    }
