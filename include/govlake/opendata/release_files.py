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
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
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


# A data file is written to disk (a release of millions of records never sits in memory); the small
# files (dictionary, metadata, latest.json) stay bytes. Either is a file's content.
Content = bytes | Path
PARQUET_ROW_GROUP = 262_144  # rows per Parquet row group: bounds what the writer holds at once


def sha256(data: Content) -> str:
    if isinstance(data, bytes):
        return hashlib.sha256(data).hexdigest()
    digest = hashlib.sha256()
    with data.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def size(data: Content) -> int:
    return len(data) if isinstance(data, bytes) else data.stat().st_size


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


def _field(col: OutColumn) -> pa.Field:
    meta = {"label_zh": col.label_zh, "label_en": col.label_en}
    if col.unit_zh or col.unit_en:
        meta |= {"unit_zh": col.unit_zh or "", "unit_en": col.unit_en or ""}
    return pa.field(col.name, ARROW_TYPES[col.type], metadata=meta)


def _plain(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def json_bytes(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, indent=1, default=str).encode("utf-8")


# A flat record's indented lines, written by the C encoder: json.dumps with an indent runs the pure-Python
# one (26.7 s of an 880 k-row release's 51 s of writing); a record is flat, its key lines at depth three.
_RECORD_LINES = json.JSONEncoder(ensure_ascii=False, separators=(",\n   ", ": "), default=str)
_SCALARS = (str, int, float, type(None))  # bool is an int


def _json_record(record: dict[str, Any]) -> str:
    """A record as it sits in the ``records`` array of :func:`json_bytes` (indent 1, two levels deep)."""
    if record and all(isinstance(value, _SCALARS) for value in record.values()):
        return "  {\n   " + _RECORD_LINES.encode(record)[1:-1] + "\n  }"
    text = json.dumps(record, ensure_ascii=False, indent=1, default=str)
    return "\n".join("  " + line for line in text.split("\n"))


@dataclass
class DataFiles:
    """A release's data, written batch by batch: CSV and Parquet complete, JSON's records waiting for the
    version (which depends on the CSV's checksum) to be put under their header."""

    csv: Path
    parquet: Path
    json_records: Path
    rows: int = 0


def write_data_files(
    columns: Sequence[OutColumn], batches: Iterable[Sequence[dict[str, Any]]], directory: Path
) -> DataFiles:
    """Write the rows, as they come, to ``data.csv``, ``data.parquet`` and JSON's records — in bounded
    memory (a batch of rows and at most one Parquet row group), bytes the same as for the rows at once."""
    out = DataFiles(directory / "data.csv", directory / "data.parquet", directory / "data.json.records")
    schema = pa.schema([_field(c) for c in columns])
    pending: list[pa.Table] = []
    with (
        out.csv.open("w", encoding="utf-8-sig", newline="") as csv_file,
        pq.ParquetWriter(out.parquet, schema, compression="zstd") as parquet,
        out.json_records.open("w", encoding="utf-8") as json_file,
    ):
        writer = csv.writer(csv_file, lineterminator="\r\n")
        writer.writerow([csv_header(c) for c in columns])
        for batch in batches:
            writer.writerows([_csv_value(r.get(c.name)) for c in columns] for r in batch)
            plain = [{c.name: _plain(r.get(c.name)) for c in columns} for r in batch]
            for i, record in enumerate(plain):
                json_file.write((",\n" if out.rows + i else "") + _json_record(record))
            out.rows += len(batch)
            pending.append(pa.Table.from_pylist(plain, schema=schema))
            if sum(t.num_rows for t in pending) >= PARQUET_ROW_GROUP:
                pending = _write_row_groups(parquet, pending, final=False)
        _write_row_groups(parquet, pending, final=True)
        if not out.rows:  # as pq.write_table writes an empty table: one empty row group
            parquet.write_table(schema.empty_table())
    return out


def _write_row_groups(writer: pq.ParquetWriter, pending: list[pa.Table], final: bool) -> list[pa.Table]:
    """Write whole row groups of the pending rows (and, at the end, the rest); return what is left."""
    table = pa.concat_tables(pending) if pending else None
    if table is None:
        return []
    whole = table.num_rows if final else table.num_rows - table.num_rows % PARQUET_ROW_GROUP
    if whole:
        writer.write_table(table.slice(0, whole), row_group_size=PARQUET_ROW_GROUP)
    return [table.slice(whole)] if whole < table.num_rows else []


def write_json(dataset: str, version: str, columns: Sequence[OutColumn], data: DataFiles, path: Path) -> Path:
    """``data.json``: the header (dataset, version, fields) and the records written before — the same bytes
    as :func:`json_bytes` of the whole document."""
    head = json_bytes(
        {
            "dataset": dataset,
            "version": version,
            "fields": [
                {"id": c.name, "type": c.type, "label": {"zh": c.label_zh, "en": c.label_en}} for c in columns
            ],
            "records": [],
        }
    )
    with path.open("wb") as out:
        if not data.rows:
            out.write(head)
            return path
        closing = b"[]\n}"
        assert head.endswith(closing), head[-20:]
        out.write(head[: -len(closing)] + b"[\n")
        with data.json_records.open("rb") as records:
            shutil.copyfileobj(records, out, 1 << 20)
        out.write(b"\n ]\n}")
    return path


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


def published_columns(name: str, data: Content) -> list[str]:
    """The column names a data file actually carries (for the grade check of the scan)."""
    if name.endswith(".parquet"):
        return list(pq.read_schema(io.BytesIO(data) if isinstance(data, bytes) else data).names)
    if name.endswith(".csv"):
        if isinstance(data, bytes):
            first = data.decode("utf-8-sig", errors="replace").splitlines()[:1]
        else:
            with data.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
                first = [fh.readline()]
        return [column_of_header(h) for h in next(csv.reader(first), [])]
    if name.endswith(".json"):
        doc = json.loads(data) if isinstance(data, bytes) else _json_head(data, 1000)
        names = [f["id"] for f in doc.get("fields", [])]
        for record in doc.get("records", [])[:1000]:
            names += [k for k in record if k not in names]
        return names
    return []


_JSON_READ_CHARS = 1 << 20


def _json_head(path: Path, records: int) -> dict[str, Any]:
    """A release JSON's fields and its first ``records`` records, read without loading the whole file."""
    decoder = json.JSONDecoder()
    with path.open(encoding="utf-8") as fh:
        text = fh.read(_JSON_READ_CHARS)
        marker = text.find('"records": [')
        if marker < 0:  # not the layout write_json produces: read it whole (a small or foreign file)
            return json.loads(text + fh.read())
        doc = json.loads(text[:marker] + '"records": []}')
        pos, found = marker + len('"records": ['), []
        while len(found) < records:
            while pos < len(text) and text[pos] in " \r\n\t,":
                pos += 1
            if pos < len(text) and text[pos] == "]":
                break
            try:
                record, end = decoder.raw_decode(text, pos)
            except json.JSONDecodeError:
                more = fh.read(_JSON_READ_CHARS)
                if not more:
                    raise
                text, pos = text[pos:] + more, 0
                continue
            found.append(record)
            pos = end
    return doc | {"records": found}
