"""The open-data zone: population by county, gender and age band, de-identified for the public.

Counting happens in SQL next to the data, and small-cell suppression too, so a count below k never leaves
the warehouse. The release is a full grid (every county x gender x age band, zero cells included), so its
shape is the same every day and an absent row never hints at an empty group; no margins (county or
province totals) are published, so a suppressed cell cannot be recovered by subtraction.

Age bands: 0-14, 15-24, 25-34, 35-44, 45-54, 55-64, 65+ — ten-year bands between the two standard
dependency-ratio cut-offs (0-14 children, 65+ elderly) used by the census and the UN's World Population
Prospects. Age is whole years at the logical date; only living registered persons (status 正常) count.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from minio import Minio
from minio.error import S3Error
from psycopg import sql

from govlake.lake import s3_client
from govlake.policy.leak_scan import LeakDetected, assert_no_leaks
from govlake.publish.publications import BLOCKED, PUBLISHED, Publication, as_date, record_publication
from govlake.settings import Settings, get_settings
from govlake.warehouse import connect, ensure_platform_schema

log = logging.getLogger(__name__)

OPEN_BUCKET = "open"
DATASET_ID = "population-by-county-gender-age"
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-14", 0, 14),
    ("15-24", 15, 24),
    ("25-34", 25, 34),
    ("35-44", 35, 44),
    ("45-54", 45, 54),
    ("55-64", 55, 64),
    ("65+", 65, None),
)
GENDERS = ("男", "女")

# name, Chinese label, English label, Arrow type, type as documented in metadata.json
COLUMNS: tuple[tuple[str, str, str, pa.DataType, str], ...] = (
    ("prefecture_code", "市州代码", "Prefecture code (GB/T 2260)", pa.string(), "string"),
    ("prefecture_name", "市州名称", "Prefecture", pa.string(), "string"),
    ("county_code", "县级区划代码", "County code (GB/T 2260)", pa.string(), "string"),
    ("county_name", "县级区划名称", "County", pa.string(), "string"),
    ("gender", "性别", "Gender", pa.string(), "string"),
    ("age_band", "年龄组", "Age band (years)", pa.string(), "string"),
    ("population", "人口数", "Population (empty when suppressed)", pa.int64(), "integer"),
    ("suppressed", "是否抑制", "Suppressed (count below k)", pa.bool_(), "boolean"),
)

PUBLISHER = {"zh": "贵州省大数据发展管理局", "en": "Guizhou Provincial Big Data Development Administration"}
LICENSE = {"id": "CC-BY-4.0", "url": "https://creativecommons.org/licenses/by/4.0/"}


@dataclass(frozen=True)
class OpenRelease:
    dataset: str
    logical_date: dt.date
    uri: str  # s3://open/<dataset>/<YYYY-MM-DD>/
    files: dict[str, str]  # file name -> s3 URI
    cells: int
    suppressed_cells: int
    k_required: int
    k_achieved: int | None  # smallest published count; None when every cell is suppressed
    checksums: dict[str, str] = field(default_factory=dict)  # file name -> sha256

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "logical_date": self.logical_date.isoformat()}


_GRID_SQL = """
with bands (age_band, band_order, lo, hi) as (values {bands}),
genders (gender, gender_order) as (values {genders}),
counties as (
    select c.code::text as county_code, c.name::text as county_name,
           p.code::text as prefecture_code, p.name::text as prefecture_name
    from {ref} c join {ref} p on p.code::text = c.parent_code::text
    where c.level = 'county' and p.level = 'prefecture'
),
people as (
    select division_code, gender, extract(year from age(%(d)s::date, birth_date))::int as age
    from {population}
    where status = '正常' and birth_date is not null and birth_date <= %(d)s
),
counted as (
    select p.division_code, p.gender, b.age_band, count(*) as n
    from people p join bands b on p.age >= b.lo and (b.hi is null or p.age <= b.hi)
    group by 1, 2, 3
),
grid as (
    select c.prefecture_code, c.prefecture_name, c.county_code, c.county_name, g.gender, b.age_band,
           coalesce(n.n, 0) as n, g.gender_order, b.band_order
    from counties c cross join genders g cross join bands b
    left join counted n on n.division_code = c.county_code and n.gender = g.gender and n.age_band = b.age_band
)
select prefecture_code, prefecture_name, county_code, county_name, gender, age_band,
       case when n >= %(k)s then n end as population, n < %(k)s as suppressed,
       (select count(*) from people) as persons_in_scope, sum(n) over () as persons_in_grid
from grid
order by county_code, gender_order, band_order
"""


def _grid_query(base_schema: str, reference_schema: str) -> sql.Composable:
    bands = sql.SQL(", ").join(
        sql.SQL("({}, {}, {}, {}::int)").format(
            sql.Literal(n), sql.Literal(i), sql.Literal(lo), sql.Literal(hi)
        )
        for i, (n, lo, hi) in enumerate(AGE_BANDS)
    )
    genders = sql.SQL(", ").join(
        sql.SQL("({}, {})").format(sql.Literal(g), sql.Literal(i)) for i, g in enumerate(GENDERS)
    )
    return sql.SQL(_GRID_SQL).format(
        bands=bands,
        genders=genders,
        ref=sql.Identifier(reference_schema, "divisions"),
        population=sql.Identifier(base_schema, "population"),
    )


def query_cells(
    settings: Settings, date: dt.date, k: int, base_schema: str, reference_schema: str
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The suppressed grid, plus in-scope vs gridded person counts (kept internal, never published)."""
    with connect(settings) as conn, conn.cursor() as cur:
        cur.execute(_grid_query(base_schema, reference_schema), {"d": date, "k": k})
        names = [c.name for c in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    if not rows:
        raise RuntimeError(
            f"no county divisions found in {reference_schema}.divisions; load the divisions seed first"
        )
    coverage = {
        "persons_in_scope": int(rows[0]["persons_in_scope"]),
        "persons_in_grid": int(rows[0]["persons_in_grid"]),
    }
    cells = [{name: row[name] for name, *_ in COLUMNS} for row in rows]
    return cells, coverage


def to_csv(cells: list[dict[str, Any]]) -> bytes:
    """UTF-8 with BOM (so Excel detects the encoding), headers '中文 english' so both readers are served."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([f"{zh} {name}" for name, zh, *_ in COLUMNS])
    for cell in cells:
        writer.writerow([_csv_value(cell[name]) for name, *_ in COLUMNS])
    return buf.getvalue().encode("utf-8-sig")


def _csv_value(value: Any) -> str:
    """Empty for a suppressed count (not 0, which would be a false statement), true/false for flags."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_parquet(cells: list[dict[str, Any]]) -> bytes:
    schema = pa.schema(
        [pa.field(name, kind, metadata={"label_zh": zh, "label_en": en}) for name, zh, en, kind, _ in COLUMNS]
    )
    table = pa.Table.from_pylist(cells, schema=schema)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_metadata(
    date: dt.date, dataset: str, cells: list[dict[str, Any]], k: int, files: dict[str, bytes]
) -> dict[str, Any]:
    published = [c["population"] for c in cells if not c["suppressed"]]
    return {
        "identifier": dataset,
        "title": {
            "zh": "贵州省人口数（按县级行政区划、性别、年龄组）",
            "en": "Population of Guizhou by county, gender and age band",
        },
        "description": {
            "zh": f"截至{date.isoformat()}在册且人口状态为正常的人口数，按县级行政区划、性别和年龄组（周岁）汇总。"
            f"人数少于{k}的单元格不予公布（人口数为空、是否抑制为true）。不含任何个人身份信息。",
            "en": f"Living registered persons (status 正常) on {date.isoformat()}, counted by county, gender and age band "
            f"(whole years at that date). Cells with fewer than {k} persons are suppressed (population empty, "
            "suppressed true). Contains no personal identifiers.",
        },
        "publisher": PUBLISHER,
        "issued": date.isoformat(),
        "temporal": {"reference_date": date.isoformat()},
        "spatial": {"code": "520000", "name": {"zh": "贵州省", "en": "Guizhou Province"}},
        "license": LICENSE,
        "access_rights": "PUBLIC",
        "age_bands": [name for name, *_ in AGE_BANDS],
        "disclosure_control": {
            "method": "primary small-cell suppression; full grid; no margins published",
            "k_required": k,
            "k_achieved": min(published) if published else None,
            "cells": len(cells),
            "suppressed_cells": len(cells) - len(published),
        },
        "columns": [
            {"name": name, "label": {"zh": zh, "en": en}, "type": doc_type}
            for name, zh, en, _, doc_type in COLUMNS
        ],
        "distributions": {
            name: {
                "media_type": media,
                "encoding": enc,
                "bytes": len(files[name]),
                "sha256": _sha256(files[name]),
            }
            for name, media, enc in (
                ("data.csv", "text/csv", "UTF-8 with BOM"),
                ("data.parquet", "application/vnd.apache.parquet", None),
            )
        },
    }


def _json_bytes(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")


def _latest_pointer(client: Minio, bucket: str, dataset: str, date: dt.date) -> dict[str, Any] | None:
    """The new latest.json, or None when a later release is already the latest (a backfill)."""
    try:
        response = client.get_object(bucket, f"{dataset}/latest.json")
        try:
            current = json.loads(response.read())
        finally:
            response.close()
            response.release_conn()
        if dt.date.fromisoformat(current["logical_date"]) > date:
            return None
    except S3Error as exc:
        if exc.code != "NoSuchKey":
            raise
    prefix = f"s3://{bucket}/{dataset}/{date.isoformat()}/"
    return {
        "dataset": dataset,
        "logical_date": date.isoformat(),
        "uri": prefix,
        "metadata": f"{prefix}metadata.json",
    }


def _upload(client: Minio, bucket: str, key: str, data: bytes, content_type: str) -> None:
    client.put_object(bucket, key, io.BytesIO(data), len(data), content_type=content_type)


def publish_open_population(
    logical_date: str | dt.date,
    settings: Settings | None = None,
    *,
    base_schema: str = "base",
    reference_schema: str = "reference",
    dataset: str = DATASET_ID,
    bucket: str = OPEN_BUCKET,
    k: int | None = None,
) -> OpenRelease:
    """Build, leak-scan and upload the open population release for ``logical_date``.

    Re-running a date overwrites that date's files; other dates' releases stay. ``latest.json`` is moved
    only forward, so a backfill of an old date does not hide the newest release.
    Raises LeakDetected (after recording a 'blocked' publication) when a file carries an identifier.
    """
    date = as_date(logical_date)
    settings = settings or get_settings()
    k = k or settings.open_k_anonymity
    cells, coverage = query_cells(settings, date, k, base_schema, reference_schema)
    files = {"data.csv": to_csv(cells), "data.parquet": to_parquet(cells)}
    metadata = build_metadata(date, dataset, cells, k, files)
    files["metadata.json"] = _json_bytes(metadata)
    client = s3_client(settings)
    latest = _latest_pointer(client, bucket, dataset, date)
    prefix = f"{dataset}/{date.isoformat()}/"
    target = f"s3://{bucket}/{prefix}"
    try:
        assert_no_leaks({**files, **({"latest.json": _json_bytes(latest)} if latest else {})})
    except LeakDetected as exc:
        _record(settings, Publication(date, target, "open", None, BLOCKED, {"reason": str(exc)}))
        raise
    for name, content_type in (
        ("data.csv", "text/csv; charset=utf-8"),
        ("data.parquet", "application/vnd.apache.parquet"),
        ("metadata.json", "application/json"),
    ):
        _upload(client, bucket, prefix + name, files[name], content_type)
    if latest:  # last, so the pointer never names a release whose files are not all there
        _upload(client, bucket, f"{dataset}/latest.json", _json_bytes(latest), "application/json")
    control = metadata["disclosure_control"]
    release = OpenRelease(
        dataset=dataset,
        logical_date=date,
        uri=target,
        files={name: target + name for name in files},
        cells=control["cells"],
        suppressed_cells=control["suppressed_cells"],
        k_required=k,
        k_achieved=control["k_achieved"],
        checksums={name: _sha256(data) for name, data in files.items()},
    )
    _record(
        settings,
        Publication(date, target, "open", release.cells, PUBLISHED, {**release.as_dict(), **coverage}),
    )
    log.info(
        "open release %s: %d cells, %d suppressed, k=%s", target, release.cells, release.suppressed_cells, k
    )
    return release


def _record(settings: Settings, pub: Publication) -> None:
    with connect(settings) as conn:
        ensure_platform_schema(conn)
        with conn.transaction():
            record_publication(conn, pub)
