"""File drops and timeliness: which delivered files a batch reads, and whether they came on time.

**Duplicates and corrections** (``platform.delivered_files``, one row per landing key and content hash):

* A file is identified by its sha256. A file whose bytes were already ingested — for this date under the
  same key, or under another key or date — is not read again. If every file of the date is such a repeat
  and the date's batch is loaded under the same declared schema, the whole run is a *duplicate delivery*:
  recorded (``duplicate_deliveries`` counts re-uploads of identical bytes), nothing is re-normalised or
  re-loaded.
* Bytes at a key that differ from what was ingested for that date are a *corrected re-delivery*: the date
  is re-normalised and re-loaded from the files now present, and the rows of the earlier version are
  marked ``superseded`` when the new load commits.
* Earlier versions are kept by copying each newly seen file, server-side, to
  ``landing/<dept>/<dataset>/<date>/_versions/<sha256[:16]>/<file>`` before it is read. Why copies rather
  than S3 bucket versioning: the department overwrites its own key, and a copy made when the platform
  first reads the bytes survives that on any S3 server (SeaweedFS, MinIO, …) without bucket settings.

**Timeliness** (``platform.deliveries``): for logical date D the delivery is expected by local midnight
that ends D plus an allowance per update cycle (registry ``source.deliver_within_hours`` overrides it). A
file drop is ``late`` when its newest file was last modified after that, ``missing`` when nothing is there
when the run looks; a pulled source (database, API) is ``on_time`` when extracted, ``missing`` when the
extraction fails. Late and missing deliveries are notified once per status on the alert webhook.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath

import psycopg
from minio.commonconfig import CopySource

from govlake.ingest.context import PROVINCE_TZ, BatchContext
from govlake.ingest.errors import IngestError
from govlake.ingest.landing import download_file, s3_uri, sha256_file
from govlake.warehouse import connect, ensure_platform_schema

log = logging.getLogger(__name__)

VERSIONS_DIR = "_versions/"
# How long after the end of the logical day a delivery may come and still be on time.
ALLOWANCE_HOURS = {"实时": 1, "每日": 8, "每周": 24, "每月": 72, "每季度": 168, "每年": 720}


@dataclass
class DeliveredFile:
    key: str
    size: int
    last_modified: datetime | None
    sha256: str = ""
    path: Path | None = None
    status: str = "pending"  # pending (to read) | known (read before, read again) | duplicate
    duplicate_of: str | None = None
    version_uri: str | None = None
    redelivered: bool = False

    @property
    def uri(self) -> str:
        return s3_uri("landing", self.key)

    @property
    def name(self) -> str:
        return PurePosixPath(self.key).name

    @property
    def to_read(self) -> bool:
        return self.status in ("pending", "known")

    def summary(self) -> dict:
        out = asdict(self)
        out.pop("path")
        out["last_modified"] = self.last_modified.isoformat() if self.last_modified else None
        return out


@dataclass
class FilePlan:
    files: list[DeliveredFile] = field(default_factory=list)
    unchanged: bool = False  # every file was ingested before for this date: nothing to re-load

    @property
    def to_read(self) -> list[DeliveredFile]:
        return [f for f in self.files if f.to_read]

    @property
    def delivered_at(self) -> datetime | None:
        stamps = [f.last_modified for f in self.files if f.last_modified]
        return max(stamps) if stamps else None


# -- which files ------------------------------------------------------------------------------------------


def list_delivered(ctx: BatchContext, suffixes: Sequence[str]) -> list[DeliveredFile]:
    """The files the department dropped for the date (the platform's ``_versions/`` copies excluded)."""
    found = []
    for obj in ctx.s3.list_objects("landing", prefix=ctx.date_prefix, recursive=True):
        key = obj.object_name
        if key[len(ctx.date_prefix) :].startswith(VERSIONS_DIR) or not key.lower().endswith(tuple(suffixes)):
            continue
        found.append(DeliveredFile(key, int(obj.size or 0), obj.last_modified))
    return sorted(found, key=lambda f: f.key)


def _ingested_elsewhere(conn: psycopg.Connection, ctx: BatchContext, shas: list[str]) -> dict[str, str]:
    """sha256 -> '<date>/<key>' of files already ingested for this dataset (any date, any key)."""
    rows = conn.execute(
        "select sha256, logical_date::text || ' ' || file_key from platform.delivered_files "
        "where department = %s and dataset = %s and sha256 = any(%s) and status = 'ingested' "
        "order by logical_date, file_key",
        (ctx.dataset.department, ctx.dataset.code, shas),
    ).fetchall()
    found: dict[str, str] = {}
    for sha, where in rows:
        found.setdefault(sha, where)
    return found


def _ingested_today(conn: psycopg.Connection, ctx: BatchContext) -> dict[tuple[str, str], datetime | None]:
    rows = conn.execute(
        "select file_key, sha256, last_modified from platform.delivered_files "
        "where department = %s and dataset = %s and logical_date = %s and status = 'ingested'",
        (ctx.dataset.department, ctx.dataset.code, ctx.logical_date),
    ).fetchall()
    return {(k, s): m for k, s, m in rows}


def _classify(files: list[DeliveredFile], today: dict, elsewhere: dict[str, str], day: str) -> None:
    seen: dict[str, str] = {}
    for f in files:  # files ingested for this date under this key come first: they are the originals
        if (f.key, f.sha256) in today:
            f.status = "known"
            f.redelivered = today[(f.key, f.sha256)] not in (None, f.last_modified)
            seen.setdefault(f.sha256, f.key)
    for f in files:
        if f.status == "known":
            continue
        if f.sha256 in seen:
            f.status, f.duplicate_of = "duplicate", f"{day} {seen[f.sha256]}"
        elif f.sha256 in elsewhere:
            f.status, f.duplicate_of = "duplicate", elsewhere[f.sha256]
        else:
            seen[f.sha256] = f.key


def keep_version(ctx: BatchContext, f: DeliveredFile) -> str:
    """Server-side copy of newly seen bytes to ``<date>/_versions/<sha[:16]>/<file>``: survives overwrites."""
    key = f"{ctx.date_prefix}{VERSIONS_DIR}{f.sha256[:16]}/{f.name}"
    ctx.s3.copy_object("landing", key, CopySource("landing", f.key))
    return s3_uri("landing", key)


def plan_files(ctx: BatchContext, suffixes: Sequence[str], kind: str) -> FilePlan:
    """Download and hash the date's files, decide what to read, keep versions, record every file."""
    files = list_delivered(ctx, suffixes)
    if not files:
        record_timeliness(ctx, None, files=0, detail=f"no {kind} file under s3://landing/{ctx.date_prefix}")
        raise IngestError(
            f"no {kind} file for {ctx.dataset.key} on {ctx.logical_date}: nothing under "
            f"s3://landing/{ctx.date_prefix} — has the department delivered this date? (recorded as missing)"
        )
    for i, f in enumerate(files):
        f.path = download_file(ctx.s3, f.uri, ctx.workdir / f"{i:04d}-{f.name}")
        f.sha256 = sha256_file(f.path)
    with connect(ctx.settings, autocommit=True) as conn:
        ensure_platform_schema(conn)
        today = _ingested_today(conn, ctx)
        elsewhere = _ingested_elsewhere(conn, ctx, [f.sha256 for f in files])
        _classify(files, today, elsewhere, ctx.logical_date.isoformat())
        known = {(f.key, f.sha256) for f in files if f.status == "known"}
        plan = FilePlan(
            files,
            unchanged=bool(known) and known == set(today) and not any(f.status == "pending" for f in files),
        )
        for f in files:
            if f.status == "pending":
                f.version_uri = keep_version(ctx, f)
            if f.status == "duplicate" and f.path:
                f.path.unlink(missing_ok=True)
        record_files(conn, ctx, files)
    record_timeliness(ctx, plan.delivered_at, files=len(files))
    return plan


def record_files(conn: psycopg.Connection, ctx: BatchContext, files: list[DeliveredFile]) -> None:
    for f in files:
        status = {"known": "ingested"}.get(f.status, f.status)
        conn.execute(
            "insert into platform.delivered_files (department, dataset, logical_date, file_key, sha256, bytes, "
            "last_modified, status, duplicate_of, version_uri, batch_id) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "on conflict (department, dataset, logical_date, file_key, sha256) do update set "
            "duplicate_deliveries = platform.delivered_files.duplicate_deliveries + %s, "
            "last_modified = excluded.last_modified, seen_at = now(), "
            "status = case when platform.delivered_files.status = 'ingested' then 'ingested' "
            "else excluded.status end, "
            "duplicate_of = excluded.duplicate_of, "
            "version_uri = coalesce(excluded.version_uri, platform.delivered_files.version_uri)",
            (
                ctx.dataset.department,
                ctx.dataset.code,
                ctx.logical_date,
                f.key,
                f.sha256,
                f.size,
                f.last_modified,
                status,
                f.duplicate_of,
                f.version_uri,
                ctx.batch_id,
                1 if (f.redelivered or f.status == "duplicate") else 0,
            ),
        )


def mark_ingested(conn: psycopg.Connection, ctx: BatchContext, read: list[dict]) -> None:
    """In the load transaction: the files read become ``ingested``, earlier versions of the date ``superseded``."""
    pairs = [(f["key"], f["sha256"]) for f in read]
    keys = [k for k, _ in pairs]
    shas = [s for _, s in pairs]
    where = "department = %s and dataset = %s and logical_date = %s"
    args = (ctx.dataset.department, ctx.dataset.code, ctx.logical_date)
    conn.execute(
        f"update platform.delivered_files set status = 'superseded' where {where} and status = 'ingested' "
        "and (file_key, sha256) not in (select * from unnest(%s::text[], %s::text[]))",
        (*args, keys, shas),
    )
    conn.execute(
        f"update platform.delivered_files set status = 'ingested', batch_id = %s where {where} "
        "and (file_key, sha256) in (select * from unnest(%s::text[], %s::text[]))",
        (ctx.batch_id, *args, keys, shas),
    )


def mark_quarantined(ctx: BatchContext, files: list[DeliveredFile]) -> None:
    with connect(ctx.settings, autocommit=True) as conn:
        for f in files:
            conn.execute(
                "update platform.delivered_files set status = 'quarantined' where department = %s and dataset = %s "
                "and logical_date = %s and file_key = %s and sha256 = %s and status <> 'ingested'",
                (ctx.dataset.department, ctx.dataset.code, ctx.logical_date, f.key, f.sha256),
            )


# -- timeliness -------------------------------------------------------------------------------------------


def expected_by(ctx: BatchContext) -> datetime:
    hours = ctx.dataset.source.get("deliver_within_hours")
    if hours is None:
        hours = ALLOWANCE_HOURS.get(ctx.dataset.update_cycle, 8)
    return ctx.day_end + timedelta(hours=float(hours))


def timeliness_status(delivered_at: datetime | None, due: datetime) -> tuple[str, timedelta | None]:
    if delivered_at is None:
        return "missing", None
    if delivered_at > due:
        return "late", delivered_at - due
    return "on_time", None


def record_timeliness(
    ctx: BatchContext,
    delivered_at: datetime | None,
    *,
    files: int = 0,
    detail: str | None = None,
    pulled: bool = False,
) -> str:
    """Upsert the date's timeliness row; notify once when it becomes late or missing. Returns the status.

    ``pulled``: the platform fetched the data itself (database, API), so a successful extraction is on time
    whenever the run happens (a backfill of last year is not a late delivery).
    """
    due = expected_by(ctx)
    status, late_by = timeliness_status(delivered_at, due)
    if pulled and delivered_at is not None:
        status, late_by = "on_time", None
    with connect(ctx.settings, autocommit=True) as conn:
        ensure_platform_schema(conn)
        row = conn.execute(
            "insert into platform.deliveries (department, dataset, logical_date, source_kind, update_cycle, "
            "expected_by, delivered_at, late_by, status, files, detail) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "on conflict (department, dataset, logical_date) do update set expected_by = excluded.expected_by, "
            "delivered_at = excluded.delivered_at, late_by = excluded.late_by, status = excluded.status, "
            "files = excluded.files, detail = excluded.detail, checked_at = now() "
            "returning notified_status",
            (
                ctx.dataset.department,
                ctx.dataset.code,
                ctx.logical_date,
                ctx.dataset.source_kind,
                ctx.dataset.update_cycle,
                due,
                delivered_at,
                late_by,
                status,
                files,
                detail,
            ),
        ).fetchone()
        changed = status != "on_time" and (row is None or row[0] != status)
        if changed and _notify_timeliness(ctx, status, due, delivered_at, late_by, detail):
            conn.execute(
                "update platform.deliveries set notified_at = now(), notified_status = %s "
                "where department = %s and dataset = %s and logical_date = %s",
                (status, ctx.dataset.department, ctx.dataset.code, ctx.logical_date),
            )
    return status


def _local(value: datetime | None) -> str:
    return value.astimezone(PROVINCE_TZ).strftime("%Y-%m-%d %H:%M") if value else "—"


def _notify_timeliness(
    ctx: BatchContext,
    status: str,
    due: datetime,
    delivered_at: datetime | None,
    late_by: timedelta | None,
    detail: str | None,
) -> bool:
    from govlake.alerts import send_alert

    ds = ctx.dataset
    what = "未按时交付 (missing)" if status == "missing" else f"迟交 (late by {late_by})"
    title = f"govlake 时效性: {ds.department_name} {ds.name} {ctx.logical_date} {what}"
    lines = [
        f"dataset: {ds.key} ({ds.update_cycle}, {ds.source_kind})",
        f"logical date: {ctx.logical_date}",
        f"expected by: {_local(due)} (北京时间)",
        f"delivered at: {_local(delivered_at)}",
    ] + ([detail] if detail else [])
    return send_alert(
        title,
        lines,
        {
            "kind": "timeliness",
            "department": ds.department,
            "dataset": ds.code,
            "logical_date": ctx.logical_date.isoformat(),
            "status": status,
            "expected_by": due.isoformat(),
            "delivered_at": delivered_at.isoformat() if delivered_at else None,
            "late_by_seconds": late_by.total_seconds() if late_by else None,
        },
        ctx.settings,
    )
