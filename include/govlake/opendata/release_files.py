"""The files of a release: data as CSV (UTF-8 with BOM), Parquet and JSON, and the data dictionary.

CSV headers are ``中文 name`` so that a person in Excel and a program both find their column; Parquet
carries the labels and units in its field metadata; JSON is self-describing (fields with types, then
records). Output is deterministic (no timestamps), so a re-run of the same data gives the same bytes and
the same checksums — which is how a re-release is told from a re-run.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import hashlib
import io
import json
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from govlake.opendata.definitions import ItemGrade
from govlake.opendata.rules import OutColumn

ARROW_TYPES = {"string": pa.string(), "integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_()}
DATA_FILES = {
    "data.csv": "text/csv",
    "data.parquet": "application/vnd.apache.parquet",
    "data.json": "application/json",
}
DICTIONARY_FILE = "dictionary.csv"
METADATA_FILE = "metadata.json"
FORMATS = {
    "data.csv": "CSV",
    "data.parquet": "PARQUET",
    "data.json": "JSON",
    DICTIONARY_FILE: "CSV",
    METADATA_FILE: "JSON",
}
CONTENT_TYPES = {**DATA_FILES, DICTIONARY_FILE: "text/csv", METADATA_FILE: "application/json"}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def csv_header(col: OutColumn) -> str:
    return f"{col.label_zh} {col.name}"


def column_of_header(header: str) -> str:
    """The column name in a ``中文 name`` header (the last space-separated word)."""
    return header.strip().rsplit(" ", 1)[-1]


def _csv_value(value: Any) -> str:
    """Empty for a suppressed or null value (never 0, which would be a false statement)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_csv(columns: Sequence[OutColumn], rows: Sequence[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([csv_header(c) for c in columns])
    for row in rows:
        writer.writerow([_csv_value(row.get(c.name)) for c in columns])
    return buf.getvalue().encode("utf-8-sig")


def _field(col: OutColumn) -> pa.Field:
    meta = {"label_zh": col.label_zh, "label_en": col.label_en}
    if col.unit_zh or col.unit_en:
        meta |= {"unit_zh": col.unit_zh or "", "unit_en": col.unit_en or ""}
    return pa.field(col.name, ARROW_TYPES[col.type], metadata=meta)


def to_parquet(columns: Sequence[OutColumn], rows: Sequence[dict[str, Any]]) -> bytes:
    schema = pa.schema([_field(c) for c in columns])
    table = pa.Table.from_pylist(
        [{c.name: _plain(r.get(c.name)) for c in columns} for r in rows], schema=schema
    )
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def _plain(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def to_json(
    dataset: str, version: str, columns: Sequence[OutColumn], rows: Sequence[dict[str, Any]]
) -> bytes:
    doc = {
        "dataset": dataset,
        "version": version,
        "fields": [
            {"id": c.name, "type": c.type, "label": {"zh": c.label_zh, "en": c.label_en}} for c in columns
        ],
        "records": [{c.name: _plain(r.get(c.name)) for c in columns} for r in rows],
    }
    return json_bytes(doc)


def json_bytes(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, indent=1, default=str).encode("utf-8")


def dictionary_entries(columns: Sequence[OutColumn], grades: dict[str, ItemGrade]) -> list[dict[str, Any]]:
    return [
        {
            "name": c.name,
            "type": c.type,
            "label": {"zh": c.label_zh, "en": c.label_en},
            "unit": {"zh": c.unit_zh, "en": c.unit_en} if (c.unit_zh or c.unit_en) else None,
            "grade": grades[c.name].grade if c.name in grades else None,
            "derivation": grades[c.name].why if c.name in grades else None,
        }
        for c in columns
    ]


def dictionary_csv(entries: Sequence[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(
        [
            "字段 column",
            "类型 type",
            "中文名称 label_zh",
            "英文名称 label_en",
            "单位 unit",
            "分级 grade",
            "来源 derivation",
        ]
    )
    for e in entries:
        unit = e["unit"] or {}
        writer.writerow(
            [
                e["name"],
                e["type"],
                e["label"]["zh"],
                e["label"]["en"],
                unit.get("zh") or "",
                e["grade"] or "",
                e["derivation"] or "",
            ]
        )
    return buf.getvalue().encode("utf-8-sig")


def published_columns(name: str, data: bytes) -> list[str]:
    """The column names a data file actually carries (for the grade check of the scan)."""
    if name.endswith(".parquet"):
        return list(pq.read_schema(io.BytesIO(data)).names)
    if name.endswith(".csv"):
        first = data.decode("utf-8-sig", errors="replace").splitlines()[:1]
        return [column_of_header(h) for h in next(csv.reader(first), [])]
    if name.endswith(".json"):
        doc = json.loads(data)
        names = [f["id"] for f in doc.get("fields", [])]
        for record in doc.get("records", [])[:1000]:
            names += [k for k in record if k not in names]
        return names
    return []
