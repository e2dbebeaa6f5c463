"""Writing export files with bounded memory: CSV (UTF-8 with BOM), Parquet, XLSX.

Spreadsheet formula injection is neutralised in CSV and XLSX: a text value starting with ``=``, ``+``,
``-``, ``@``, tab or carriage return gets a leading apostrophe (the OWASP recommendation), and XLSX cells
are written as strings, never as formulas.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_048_575  # plus the header row


class ExportFileError(ValueError):
    """The rows cannot be written in the requested format; the message says which format to use."""


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _text(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join("" if v is None else str(v) for v in value)
    return value


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[tuple]) -> int:
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([neutralise(_text(v)) for v in row])
            count += 1
    return count


def write_xlsx(path: Path, columns: Sequence[str], rows: Iterable[tuple]) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("data")
    ws.append(list(columns))
    count = 0
    for row in rows:
        count += 1
        if count > XLSX_MAX_ROWS:
            raise ExportFileError(
                f"{count} rows do not fit one XLSX sheet; subscribe with format csv or parquet"
            )
        cells = []
        for value in row:
            value = _text(value)
            if isinstance(value, dt.datetime) and value.tzinfo is not None:
                value = value.astimezone(dt.UTC).replace(tzinfo=None)
            if isinstance(value, decimal.Decimal):
                value = float(value) if abs(value) < 10**15 else str(value)
            cell = WriteOnlyCell(ws, value=neutralise(value))
            if isinstance(value, str):
                cell.data_type = "s"  # a string, whatever it starts with
            cells.append(cell)
        ws.append(cells)
    wb.save(path)
    return count


def _arrow_type(pg_type: str):
    import pyarrow as pa

    return {
        "text": pa.string(),
        "bigint": pa.int64(),
        "integer": pa.int64(),
        "numeric": pa.decimal128(38, 6),
        "date": pa.date32(),
        "timestamp with time zone": pa.timestamp("us", tz="UTC"),
        "timestamp without time zone": pa.timestamp("us"),
        "boolean": pa.bool_(),
        "text[]": pa.list_(pa.string()),
        "double precision": pa.float64(),
    }.get(pg_type, pa.string())


def write_parquet(
    path: Path, columns: Sequence[str], types: Sequence[str], rows: Iterable[tuple], batch: int = 50_000
) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(c, _arrow_type(t)) for c, t in zip(columns, types, strict=True)])
    count = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        buffer: list[tuple] = []
        for row in rows:
            buffer.append(row)
            if len(buffer) >= batch:
                writer.write_table(_table(schema, columns, buffer))
                count += len(buffer)
                buffer = []
        if buffer or count == 0:
            writer.write_table(_table(schema, columns, buffer))
            count += len(buffer)
    return count


def _table(schema, columns: Sequence[str], rows: list[tuple]):
    import pyarrow as pa

    arrays = [pa.array([r[i] for r in rows], type=schema.field(i).type) for i in range(len(columns))]
    return pa.Table.from_arrays(arrays, schema=schema)
