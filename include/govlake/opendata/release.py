"""Release an open dataset: build, scan, upload a new version, load the datastore, record it all.

A version is the logical date (``2026-11-27``). Re-running a date with the same data re-uploads the same
bytes under the same version (a re-run is a no-op); a date re-released with different data — a corrected
library — gets the next revision (``2026-11-27-r2``), so what was downloaded before stays downloadable and
its checksums stay true. ``latest.json`` only moves forward, so a backfill does not hide the newest
release. Nothing is uploaded unless every file passed the scan (``opendata.scan``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import tempfile
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from minio import Minio
from minio.error import S3Error
from psycopg import sql
from psycopg.types.json import Jsonb

from govlake.ingest.load import copy_parquet
from govlake.lake import s3_client
from govlake.opendata import release_files as f
from govlake.opendata.definitions import (
    OpenDataset,
    OpenRegistry,
    check_against_catalog,
    grade_violations,
    item_grades,
    load_open_registry,
    source_classes,
)
from govlake.opendata.deidentify import BuiltRows, build_rows
from govlake.opendata.rules import OutColumn
from govlake.opendata.scan import ReleaseBlocked, scan_files
from govlake.publish.publications import BLOCKED, PUBLISHED, Publication, as_date, record_publication
from govlake.settings import Settings, get_settings
from govlake.warehouse import connect, ensure_platform_schema

log = logging.getLogger(__name__)

OPEN_BUCKET = "open"
OPEN_SCHEMA = "open"
SQL_TYPES = {"string": "text", "integer": "bigint", "number": "double precision", "boolean": "boolean"}
DATA_OFFICE_TITLE = "贵州省大数据发展管理局"


@dataclass(frozen=True)
class Release:
    dataset: str
    version: str
    logical_date: str
    revision: int
    uri: str
    rows: int
    k_required: int
    k_achieved: int | None
    suppressed: int
    generalisation: dict[str, str]
    files: dict[str, str]  # file -> s3 URI
    checksums: dict[str, str] = field(default_factory=dict)
    datastore_table: str | None = None
    unchanged: bool = False  # a re-run that found the same data under this version

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def resource_id(dataset: str, version: str, file: str) -> str:
    """Stable across re-runs, so a client's bookmarked resource id keeps working."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"govlake:open:{dataset}/{version}/{file}"))


def datastore_table(dataset: str, version: str) -> str:
    name = f"{dataset}__{version}".replace("-", "_").lower()
    if len(name) <= 63:
        return name
    return f"{name[:46]}_{hashlib.sha256(name.encode()).hexdigest()[:16]}"


def latest_view(dataset: str) -> str:
    name = dataset.replace("-", "_").lower()
    return name if len(name) <= 63 else f"{name[:46]}_{hashlib.sha256(name.encode()).hexdigest()[:16]}"


def _read_json(client: Minio, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        response = client.get_object(bucket, key)
    except S3Error as exc:
        if exc.code in ("NoSuchKey", "NoSuchBucket"):
            return None
        raise
    try:
        return json.loads(response.read())
    finally:
        response.close()
        response.release_conn()


def _revision(version: str) -> int:
    _, _, rev = version[10:].partition("-r")
    return int(rev) if rev.isdigit() else 1


def choose_version(
    client: Minio, bucket: str, dataset: str, date: dt.date, data_sha: str
) -> tuple[str, int, bool]:
    """(version, revision, unchanged): the existing version holding the same data, else the next one."""
    day = date.isoformat()
    existing = []
    for obj in client.list_objects(bucket, prefix=f"{dataset}/{day}"):
        version = obj.object_name.rstrip("/").rsplit("/", 1)[-1]
        if version == day or (version.startswith(f"{day}-r") and version[len(day) + 2 :].isdigit()):
            existing.append(version)
    released = []
    for version in existing:
        meta = _read_json(client, bucket, f"{dataset}/{version}/{f.METADATA_FILE}")
        if meta is None:  # an emptied prefix (S3 servers with directories keep it): not a release
            continue
        released.append(version)
        if meta.get("distributions", {}).get("data.csv", {}).get("sha256") == data_sha:
            return version, _revision(version), True
    existing = released
    if not existing:
        return day, 1, False
    revision = max(_revision(v) for v in existing) + 1
    return f"{day}-r{revision}", revision, False


def _latest_pointer(
    client: Minio, bucket: str, dataset: str, date: dt.date, version: str, revision: int
) -> dict | None:
    """The new latest.json, or None when a later release is already the latest (a backfill)."""
    current = _read_json(client, bucket, f"{dataset}/latest.json")
    if current and (date.isoformat(), revision) < (current["logical_date"], int(current.get("revision", 1))):
        return None
    prefix = f"s3://{bucket}/{dataset}/{version}/"
    return {
        "dataset": dataset,
        "version": version,
        "logical_date": date.isoformat(),
        "revision": revision,
        "uri": prefix,
        "metadata": f"{prefix}{f.METADATA_FILE}",
    }


def build_metadata(
    dataset: OpenDataset,
    version: str,
    date: dt.date,
    built: BuiltRows,
    entries: list[dict[str, Any]],
    files: dict[str, f.Content],
) -> dict[str, Any]:
    method = (
        "primary small-cell suppression"
        + ("; full grid; no margins published" if dataset.grid else "; no margins published")
        if dataset.kind == "aggregate"
        else "direct identifiers removed; quasi-identifiers generalised (Datafly); records in classes below k removed"
    )
    return {
        "identifier": dataset.name,
        "version": version,
        "title": dataset.title,
        "description": dataset.description,
        "kind": dataset.kind,
        "publisher": dataset.publisher,
        "organization": dataset.organization,
        "issued": date.isoformat(),
        "temporal": {"reference_date": date.isoformat()},
        "spatial": dataset.spatial,
        "license": dataset.license,
        "open_type": dataset.open_type,
        "access_rights": "PUBLIC",
        "disclosure_control": {
            "method": method,
            "k_required": built.k_required,
            "k_achieved": built.k_achieved,
            "rows": built.rows,
            "cells" if dataset.kind == "aggregate" else "records": built.rows,
            ("suppressed_cells" if dataset.kind == "aggregate" else "suppressed_records"): built.suppressed,
            "quasi_identifiers": [q.name for q in dataset.quasi_identifiers]
            or [c.name for c in dataset.columns],
            "generalisation": built.level_names,
        },
        "columns": entries,
        "distributions": {
            name: {
                "media_type": f.CONTENT_TYPES[name],
                "format": f.FORMATS[name],
                "bytes": f.size(data),
                "sha256": f.sha256(data),
            }
            | ({"encoding": "UTF-8 with BOM"} if name.endswith(".csv") else {})
            for name, data in files.items()
        },
    }


def _upload(client: Minio, bucket: str, key: str, data: f.Content, content_type: str) -> None:
    if isinstance(data, bytes):
        client.put_object(bucket, key, io.BytesIO(data), len(data), content_type=content_type)
    else:
        client.fput_object(bucket, key, str(data), content_type=content_type)


def _organization_title(code: str) -> str:
    from govlake.registry import load_departments

    for dept in load_departments():
        if dept.code == code:
            return dept.name
    return DATA_OFFICE_TITLE


def _catalog_open_types() -> dict[str, str]:
    from govlake.catalog.entries import build_entries

    return {e.entry_key: e.open_type for e in build_entries(manifest_path=None, errors=[])}


def load_datastore(
    conn: psycopg.Connection,
    dataset: str,
    version: str,
    columns: list[OutColumn],
    parquet: Path,
    latest: bool,
) -> str:
    """The release as a table in schema ``open`` (what datastore_search reads), replaced in one transaction;
    the dataset's view follows the latest release. Loaded from the release's own ``data.parquet`` by COPY,
    a record batch at a time; ``_id`` numbers the rows in the file's order."""
    table = datastore_table(dataset, version)
    ident = sql.Identifier(OPEN_SCHEMA, table)
    with conn.transaction():
        conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(OPEN_SCHEMA)))
        conn.execute(sql.SQL("drop table if exists {} cascade").format(ident))
        conn.execute(
            sql.SQL("create table {} (_id bigint generated by default as identity primary key, {})").format(
                ident,
                sql.SQL(", ").join(
                    sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(SQL_TYPES[c.type]))
                    for c in columns
                ),
            )
        )
        copy_parquet(conn, f"{OPEN_SCHEMA}.{table}", [c.name for c in columns], parquet)
        for c in columns:
            label = sql.Literal(f"{c.label_zh} / {c.label_en}")
            conn.execute(
                sql.SQL("comment on column {}.{} is {}").format(ident, sql.Identifier(c.name), label)
            )
        if latest:
            view = sql.Identifier(OPEN_SCHEMA, latest_view(dataset))
            conn.execute(sql.SQL("drop view if exists {}").format(view))
            conn.execute(sql.SQL("create view {} as select * from {}").format(view, ident))
    return table


def _record_dataset(conn: psycopg.Connection, ds: OpenDataset, k: int) -> None:
    definition = {
        "source": {"library": ds.library, "schema": ds.schema, "where": ds.where},
        "catalog_entry": ds.catalog_entry,
        "columns": [c.name for c in ds.columns],
        "quasi_identifiers": [q.name for q in ds.quasi_identifiers],
        "grid": ds.grid,
        "publisher": ds.publisher,
        "spatial": ds.spatial,
        "source_file": ds.source_file,
    }
    conn.execute(
        """
        insert into platform.open_datasets (name, title_zh, title_en, description_zh, description_en, kind,
            organization, organization_title, groups, tags, open_type, update_cycle, license_id, license_title,
            license_url, k, definition)
        values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        on conflict (name) do update set title_zh = excluded.title_zh, title_en = excluded.title_en,
            description_zh = excluded.description_zh, description_en = excluded.description_en,
            kind = excluded.kind, organization = excluded.organization,
            organization_title = excluded.organization_title, groups = excluded.groups, tags = excluded.tags,
            open_type = excluded.open_type, update_cycle = excluded.update_cycle,
            license_id = excluded.license_id, license_title = excluded.license_title,
            license_url = excluded.license_url, k = excluded.k, definition = excluded.definition,
            updated_at = now()
        """,
        (
            ds.name, ds.title["zh"], ds.title["en"], ds.description["zh"], ds.description["en"], ds.kind,
            ds.organization, _organization_title(ds.organization), list(ds.groups), list(ds.tags), ds.open_type,
            ds.update_cycle, ds.license.get("id", "CC-BY-4.0"), ds.license.get("title"), ds.license.get("url"),
            k, Jsonb(definition),
        ),
    )  # fmt: skip


def _record_release(conn: psycopg.Connection, values: dict[str, Any]) -> None:
    cols = list(values)
    conn.execute(
        sql.SQL(
            "insert into platform.open_releases ({cols}) values ({vals}) on conflict (dataset, version) "
            "do update set {sets}, released_at = now()"
        ).format(
            cols=sql.SQL(", ").join(map(sql.Identifier, cols)),
            vals=sql.SQL(", ").join(sql.Placeholder(c) for c in cols),
            sets=sql.SQL(", ").join(
                sql.SQL("{0} = excluded.{0}").format(sql.Identifier(c))
                for c in cols
                if c not in ("dataset", "version")
            ),
        ),
        {k: Jsonb(v) if isinstance(v, dict) else v for k, v in values.items()},
    )


def _record_resources(
    conn: psycopg.Connection,
    dataset: str,
    version: str,
    prefix: str,
    files: dict[str, f.Content],
    checksums: dict[str, str],
    table: str,
) -> None:
    conn.execute(
        "delete from platform.open_resources where dataset = %s and version = %s", (dataset, version)
    )
    with conn.cursor() as cur:
        cur.executemany(
            "insert into platform.open_resources (id, dataset, version, file, format, media_type, bytes, sha256, "
            "s3_key, datastore_table) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    resource_id(dataset, version, name), dataset, version, name, f.FORMATS[name],
                    f.CONTENT_TYPES[name], f.size(data), checksums[name], prefix + name,
                    table if name == "data.csv" else None,
                )
                for name, data in files.items()
            ],
        )  # fmt: skip


def _block(
    settings: Settings, ds: OpenDataset, date: dt.date, k: int, uri: str, exc: ReleaseBlocked, version: str
) -> None:
    details = {
        "reason": str(exc),
        "leaks": [str(leak) for leak in exc.leaks[:100]],
        "problems": exc.problems[:100],
    }
    with connect(settings) as conn:
        ensure_platform_schema(conn)
        with conn.transaction():
            _record_dataset(conn, ds, k)
            _record_release(
                conn,
                {
                    "dataset": ds.name,
                    "version": f"{version}-blocked",
                    "logical_date": date,
                    "status": BLOCKED,
                    "uri": uri,
                    "k_required": k,
                    "details": details,
                },
            )
            record_publication(
                conn, Publication(date, uri, "open", None, BLOCKED, details), keep_published=True
            )


def publish_open_dataset(
    dataset: str | OpenDataset,
    logical_date: str | dt.date,
    settings: Settings | None = None,
    *,
    registry: OpenRegistry | None = None,
    schema: str | None = None,
    reference_schema: str = "reference",
    bucket: str = OPEN_BUCKET,
    k: int | None = None,
) -> Release:
    """Build, scan and publish one open dataset for ``logical_date``; ReleaseBlocked if it may not go out.

    ``schema`` overrides the library schema (tests build libraries in scratch schemas).
    """
    settings = settings or get_settings()
    date = as_date(logical_date)
    ds = dataset if isinstance(dataset, OpenDataset) else (registry or load_open_registry()).get(dataset)
    k = k or ds.k_for(settings.open_k_anonymity)
    classes = source_classes(ds)
    client = s3_client(settings)
    with tempfile.TemporaryDirectory(prefix="govlake-open-") as work:
        return _release(settings, ds, date, k, classes, client, bucket, schema, reference_schema, Path(work))


def _release(
    settings: Settings,
    ds: OpenDataset,
    date: dt.date,
    k: int,
    classes: dict,
    client: Minio,
    bucket: str,
    schema: str | None,
    reference_schema: str,
    work: Path,
) -> Release:
    """Build the rows into files under ``work`` batch by batch, scan, upload, load the datastore, record."""
    with connect(settings) as conn:
        ensure_platform_schema(conn)
        problems = check_against_catalog(ds, _catalog_open_types()) + grade_violations(
            ds.open_type, item_grades(ds, classes)
        )
        if problems:
            uri = f"s3://{bucket}/{ds.name}/{date.isoformat()}/"
            _block(settings, ds, date, k, uri, ReleaseBlocked(ds.name, [], problems), date.isoformat())
            raise ReleaseBlocked(ds.name, [], problems)
        built = build_rows(conn, ds, date, k, schema=schema, reference_schema=reference_schema)
        columns = ds.dictionary(built.levels)
        data = f.write_data_files(columns, built.stream(conn), work)
    grades = item_grades(ds, classes, built.levels)
    files: dict[str, f.Content] = {"data.csv": data.csv, "data.parquet": data.parquet}
    version, revision, unchanged = choose_version(client, bucket, ds.name, date, f.sha256(data.csv))
    files["data.json"] = f.write_json(ds.name, version, columns, data, work / "data.json")
    data.json_records.unlink()
    entries = f.dictionary_entries(columns, grades)
    files[f.DICTIONARY_FILE] = f.dictionary_csv(entries)
    files[f.METADATA_FILE] = f.json_bytes(build_metadata(ds, version, date, built, entries, files))
    prefix = f"{ds.name}/{version}/"
    uri = f"s3://{bucket}/{prefix}"
    latest = _latest_pointer(client, bucket, ds.name, date, version, revision)
    try:
        scan_files(
            ds.name,
            {**files, **({"latest.json": f.json_bytes(latest)} if latest else {})},
            grades,
            ds.open_type,
        )
    except ReleaseBlocked as exc:
        _block(settings, ds, date, k, uri, exc, version)
        raise
    for name, content in files.items():
        _upload(client, bucket, prefix + name, content, f.CONTENT_TYPES[name])
    if latest:  # last, so the pointer never names a release whose files are not all there
        _upload(client, bucket, f"{ds.name}/latest.json", f.json_bytes(latest), "application/json")
    checksums = {name: f.sha256(content) for name, content in files.items()}
    with connect(settings) as conn:
        table = load_datastore(conn, ds.name, version, columns, data.parquet, latest=latest is not None)
        with conn.transaction():
            _record_dataset(conn, ds, k)
            conn.execute(
                "delete from platform.open_releases where dataset = %s and version = %s",
                (ds.name, f"{version}-blocked"),
            )
            _record_release(
                conn,
                {
                    "dataset": ds.name, "version": version, "logical_date": date, "revision": revision,
                    "status": PUBLISHED, "uri": uri, "rows": built.rows, "in_scope": built.in_scope,
                    "k_required": k, "k_achieved": built.k_achieved, "suppressed": built.suppressed,
                    "generalisation": built.level_names, "checksums": checksums, "datastore_table": table,
                    "details": {"levels": built.levels},
                },
            )  # fmt: skip
            _record_resources(conn, ds.name, version, prefix, files, checksums, table)
            details = {
                "dataset": ds.name,
                "version": version,
                "k_required": k,
                "k_achieved": built.k_achieved,
                "suppressed": built.suppressed,
            }
            record_publication(conn, Publication(date, uri, "open", built.rows, PUBLISHED, details))
    release = Release(
        dataset=ds.name, version=version, logical_date=date.isoformat(), revision=revision, uri=uri,
        rows=built.rows, k_required=k, k_achieved=built.k_achieved, suppressed=built.suppressed,
        generalisation=built.level_names, files={n: uri + n for n in files}, checksums=checksums,
        datastore_table=table, unchanged=unchanged,
    )  # fmt: skip
    log.info(
        "open release %s: %d rows, %d withheld, k=%d achieved %s",
        uri,
        release.rows,
        release.suppressed,
        k,
        release.k_achieved,
    )
    return release


def publish_all(
    logical_date: str | dt.date, settings: Settings | None = None, **kwargs: Any
) -> list[Release]:
    """Every dataset of the open registry; all are attempted, then the first block is raised."""
    registry = load_open_registry()
    releases, blocked = [], []
    for ds in registry.datasets:
        try:
            releases.append(publish_open_dataset(ds, logical_date, settings, registry=registry, **kwargs))
        except ReleaseBlocked as exc:
            log.error("%s", exc)
            blocked.append(exc)
    if blocked:
        raise blocked[0]
    return releases
