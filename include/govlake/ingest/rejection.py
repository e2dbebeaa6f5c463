"""A whole delivery rejected: the file to quarantine with a reason JSON, one ``platform.quarantine`` record.

What a steward finds for a rejected batch of ``<dept>/<dataset>`` on date D:

* ``s3://quarantine/<dept>/<dataset>/<D>/<file>`` — a copy of the delivered file as received (landing keeps
  the original too);
* ``s3://quarantine/<dept>/<dataset>/<D>/<file>.reason.json`` — rule, dimension, column, file, row, message;
* a ``platform.quarantine`` row (stage ``ingest``, ``record ->> 'batch_level' = 'true'``) naming the column.

Nothing reaches ``raw``: the load stage never ran, so the warehouse still holds what the previous good
delivery of the date loaded (if any) and ``platform.batches`` says ``failed`` with the same message. The
rejection supersedes no record (the loaded delivery's stay current); re-running the same rejected delivery
refreshes its record instead of adding one. The next delivery of the date that loads marks the batch-level
record superseded and resolved at its load time — the file was corrected — so time-to-correct is measured
for rejected files too (``ingest/load.py``, :mod:`govlake.ledger`).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import PurePosixPath

from minio.commonconfig import CopySource
from psycopg.types.json import Jsonb

from govlake.ingest.context import BatchContext
from govlake.ingest.errors import BatchRejected
from govlake.ingest.landing import s3_uri, split_uri, upload_json
from govlake.warehouse import connect, ensure_platform_schema

log = logging.getLogger(__name__)


def _landing_key(source_file: str | None) -> str | None:
    if not source_file or not source_file.startswith("s3://landing/"):
        return None
    return split_uri(source_file.split("#", 1)[0])[1]


def rejected_files(ctx: BatchContext, reader: object | None, error: BatchRejected) -> list[str]:
    """Landing keys to quarantine: the file the error names, else the one being read, else all read."""
    key = _landing_key(error.source_file)
    if key:
        return [key]
    current = getattr(reader, "current", None)
    if current is not None:
        return [current.key]
    return [k for k in (_landing_key(u) for u in getattr(reader, "landed_files", []) or []) if k]


def reason_document(ctx: BatchContext, error: BatchRejected, files: list[str]) -> dict:
    return {
        "batch_id": ctx.batch_id,
        "department": ctx.dataset.department,
        "dataset": ctx.dataset.code,
        "logical_date": ctx.logical_date.isoformat(),
        "rule": error.rule,
        "dimension": error.dimension,
        "column": error.column,
        "source_file": error.source_file,
        "source_row": error.source_row,
        "message": str(error),
        "delivered_files": [s3_uri("landing", k) for k in files],
        "quarantined_at": datetime.now(UTC).isoformat(),
        "what_to_do": "fix the delivery and drop the corrected file into the same landing folder, "
        "or change the registry if the change is intended; then re-run the DAG for this date",
    }


def quarantine_batch(ctx: BatchContext, reader: object | None, error: BatchRejected) -> list[str]:
    """Copy the rejected delivery to quarantine with its reason and record it; returns the quarantine URIs."""
    files = rejected_files(ctx, reader, error)
    doc = reason_document(ctx, error, files)
    uris = []
    for key in files:
        target = f"{ctx.date_prefix}{PurePosixPath(key).name}"
        try:
            ctx.s3.copy_object("quarantine", target, CopySource("landing", key))
            uris.append(s3_uri("quarantine", target))
        except Exception:  # the record and reason still go out; the original stays in landing
            log.exception("could not copy s3://landing/%s to quarantine", key)
    reason_name = f"{PurePosixPath(files[0]).name}.reason.json" if files else "_batch.reason.json"
    reason_uri = s3_uri("quarantine", ctx.date_prefix + reason_name)
    upload_json(ctx.s3, reason_uri, {**doc, "quarantined_copies": uris})
    _record(ctx, error, {**doc, "batch_level": True, "reason_uri": reason_uri, "quarantined_copies": uris})
    return [*uris, reason_uri]


# The date's open whole-file record of the same defect (same file, rule and column): a re-run of the rejected
# delivery, or an Airflow retry of an API that is still down. Its record is refreshed (the message may name
# another row or HTTP answer) rather than written twice, keeping when the defect was first detected.
_SAME_REJECTION = (
    "select quarantine_id from platform.quarantine where batch_id = %(batch_id)s and stage = 'ingest'"
    " and superseded_at is null and resolved_at is null and record ->> 'batch_level' = 'true'"
    " and rule = %(rule)s and source_file is not distinct from %(source_file)s"
    " and column_name is not distinct from %(column)s order by quarantine_id limit 1"
)


def _record(ctx: BatchContext, error: BatchRejected, record: dict) -> None:
    """Record the rejection, superseding nothing: the date's loaded delivery (if any) is still in ``raw``
    and its records stay current. A re-run of the same rejection (same file, rule, column) refreshes its
    record, keeping when it was first detected; a different one is recorded beside it. Both stay open until a delivery of the date is
    loaded, which resolves them (``ingest/load.py``)."""
    params = {
        "batch_id": ctx.batch_id,
        "rule": error.rule,
        "message": str(error),
        "source_file": error.source_file,
        "source_row": error.source_row,
        "column": error.column,
        "record": Jsonb(json.loads(json.dumps(record, default=str))),
    }
    with connect(ctx.settings, autocommit=True) as conn:
        ensure_platform_schema(conn)
        with conn.transaction():
            # Not interleaved with a load of the date, which supersedes and resolves these records.
            conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (ctx.batch_id,))
            same = conn.execute(_SAME_REJECTION, params).fetchone()
            if same:
                conn.execute(
                    "update platform.quarantine set record = %(record)s, message = %(message)s,"
                    " source_row = %(source_row)s where quarantine_id = %(id)s",
                    {**params, "id": same[0]},
                )
                return
            conn.execute(
                "insert into platform.quarantine (batch_id, department, dataset, logical_date, stage, source_file, "
                "source_row, rule, dimension, severity, column_name, message, record, first_detected_at) "
                "values (%s, %s, %s, %s, 'ingest', %s, %s, %s, %s, 'blocking', %s, %s, %s, now())",
                (
                    ctx.batch_id,
                    ctx.dataset.department,
                    ctx.dataset.code,
                    ctx.logical_date,
                    error.source_file,
                    error.source_row,
                    error.rule,
                    error.dimension,
                    error.column,
                    str(error),
                    params["record"],
                ),
            )
