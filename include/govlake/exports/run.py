"""One export run: a subscription's rows for a date into the consumer's outbox, a manifest, a link.

The rows are read over the consumer department's own database role, so an item its grant does not
cover cannot be exported even if a subscription names it; the run checks that first and fails with the
items named (before anything is written). Output for a date replaces that date's earlier output::

    s3://exchange/<department>/exports/<resource>/<YYYY-MM-DD>/data.<csv|parquet|xlsx>
    s3://exchange/<department>/exports/<resource>/<YYYY-MM-DD>/_manifest.json   (rows, sha256, items, grants)

The department's webhook then receives the manifest and a presigned download link that expires.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from psycopg.types.json import Jsonb

from govlake.catalog.store import get_entry
from govlake.exports.export_files import write_csv, write_parquet, write_xlsx
from govlake.lake import s3_client
from govlake.settings import Settings, get_settings
from govlake.sharing.access import record_access, stream_rows
from govlake.sharing.dispatch import visible_items
from govlake.sharing.subscriptions import Subscription
from govlake.sharing.zone import ZONE_SCHEMA
from govlake.warehouse import connect
from govlake.warehouse.department_roles import ensure_department_role, role_name

log = logging.getLogger(__name__)

BUCKET = "exchange"
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class ExportError(RuntimeError):
    """An export cannot run as subscribed; the message names the subscription and what to do."""


def export_prefix(sub: Subscription, logical_date: str) -> str:
    return f"{sub.consumer}/exports/{sub.resource}/{logical_date}/"


def _column_types(conn, resource: str, items: list[str]) -> list[str]:
    rows = dict(
        conn.execute(
            "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
            "join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = %s and c.relname = %s and a.attnum > 0",
            (ZONE_SCHEMA, resource),
        ).fetchall()
    )
    return [rows.get(i, "text") for i in items]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write(sub: Subscription, path: Path, items: list[str], types: list[str], settings: Settings) -> int:
    rows = stream_rows(sub.consumer, sub.resource, items, sub.filter, settings)
    if sub.format == "csv":
        return write_csv(path, items, rows)
    if sub.format == "xlsx":
        return write_xlsx(path, items, rows)
    return write_parquet(path, items, types, rows)


def _notify(sub: Subscription, payload: dict[str, Any]) -> str:
    if not sub.webhook:
        return "no webhook"
    import requests

    try:
        resp = requests.post(
            sub.webhook,
            data=json.dumps(payload, ensure_ascii=False).encode(),
            timeout=10,
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
    except requests.RequestException as exc:
        raise ExportError(
            f"{sub.dag_id}: the export is in place but {sub.webhook} did not answer ({exc}); "
            "the task's retry notifies again"
        ) from exc
    if resp.status_code >= 300:
        raise ExportError(f"{sub.dag_id}: webhook {sub.webhook} answered HTTP {resp.status_code}")
    return f"HTTP {resp.status_code}"


def run_export(sub: Subscription, logical_date: str, settings: Settings | None = None) -> dict[str, Any]:
    """Export one subscription for one date; returns the manifest (small, for XCom)."""
    settings = settings or get_settings()
    day = dt.date.fromisoformat(logical_date).isoformat()
    with connect(settings, autocommit=True) as conn:
        ensure_department_role(conn, sub.consumer, settings)  # idempotent: keeps its password
        entry = get_entry(conn, sub.resource)
        allowed = visible_items(conn, sub.consumer, entry)
        uncovered = [i for i in sub.items if i not in allowed]
        if uncovered:
            raise ExportError(
                f"{sub.source_file}: {sub.dag_id} names {', '.join(uncovered)}, which {sub.consumer} may not read "
                f"now (no active grant, or 不予共享); request them (`govlake request submit`) or remove them"
            )
        grants = [
            r[0]
            for r in conn.execute(
                "select grant_id from platform.share_grants where grantee = %s and resource_key = %s "
                "and revoked_at is null and now() >= valid_from and now() < valid_until order by 1",
                (role_name(sub.consumer), entry.entry_key),
            ).fetchall()
        ]
        types = _column_types(conn, entry.entry_key, list(sub.items))
    prefix = export_prefix(sub, day)
    client = s3_client(settings)
    with tempfile.TemporaryDirectory(prefix="govlake-export-") as tmp:
        path = Path(tmp) / f"data.{sub.format}"
        rows = _write(sub, path, list(sub.items), types, settings)
        checksum, size = _sha256(path), path.stat().st_size
        for old in client.list_objects(BUCKET, prefix=prefix, recursive=True):
            client.remove_object(BUCKET, old.object_name)
        client.fput_object(BUCKET, prefix + path.name, str(path), content_type=CONTENT_TYPES[sub.format])
    manifest = {
        "subscription": sub.dag_id,
        "consumer": sub.consumer,
        "resource": entry.entry_key,
        "resource_code": entry.resource_code,
        "logical_date": day,
        "format": sub.format,
        "items": list(sub.items),
        "filter": sub.filter,
        "rows": rows,
        "bytes": size,
        "sha256": checksum,
        "file": f"s3://{BUCKET}/{prefix}data.{sub.format}",
        "grant_ids": grants,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    body = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
    client.put_object(
        BUCKET, prefix + "_manifest.json", io.BytesIO(body), len(body), content_type="application/json"
    )
    link = client.presigned_get_object(
        BUCKET, prefix + f"data.{sub.format}", expires=timedelta(hours=sub.link_hours)
    )
    expires_at = (dt.datetime.now(dt.UTC) + timedelta(hours=sub.link_hours)).isoformat()
    notified = _notify(sub, {**manifest, "download_url": link, "expires_at": expires_at})
    with connect(settings, autocommit=True) as conn:
        conn.execute(
            """
            insert into platform.export_runs (subscription, logical_date, consumer, resource_key, uri, format,
                row_count, sha256, manifest, notified)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            on conflict (subscription, logical_date) do update set uri = excluded.uri, format = excluded.format,
                row_count = excluded.row_count, sha256 = excluded.sha256, manifest = excluded.manifest,
                notified = excluded.notified, exported_at = now()
            """,
            (
                sub.dag_id,
                day,
                sub.consumer,
                entry.entry_key,
                manifest["file"],
                sub.format,
                rows,
                checksum,
                Jsonb(manifest),
                notified,
            ),
        )
        record_access(
            conn,
            sub.consumer,
            "export",
            entry.entry_key,
            list(sub.items),
            rows,
            {"subscription": sub.dag_id, "logical_date": day, "file": manifest["file"]},
        )
    log.info("%s: %d rows to %s (%s)", sub.dag_id, rows, manifest["file"], notified)
    return {**manifest, "download_url": link, "expires_at": expires_at, "notified": notified}
