"""A release's data files are written batch by batch to disk: the same bytes as the rows written at once,
Parquet in bounded row groups, and the scan reads the JSON's columns without loading it whole."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from govlake.opendata import release_files as f
from govlake.opendata.rules import OutColumn

COLUMNS = [
    OutColumn("county_code", "string", "县级行政区划代码", "county code"),
    OutColumn("registered_capital", "number", "注册资本", "registered capital", "万元", "10k yuan"),
    OutColumn("entities", "integer", "市场主体数", "entities"),
    OutColumn("suppressed", "boolean", "是否抑制", "suppressed"),
    OutColumn("established", "string", "成立日期", "established"),
]


def _rows(n: int, seed: int = 3) -> list[dict]:
    rng = random.Random(seed)
    return [
        {
            "county_code": rng.choice([None, "", '52,01"02', "南明区\n二戈寨", "520102"]),
            "registered_capital": rng.choice([None, decimal.Decimal("12.50"), decimal.Decimal("1E+3"), 3.25]),
            "entities": rng.choice([None, 0, 7, 10**12]),
            "suppressed": rng.choice([None, True, False]),
            "established": rng.choice([None, dt.date(2026, 1, 15)]),
        }
        for _ in range(n)
    ]


def _plain(v):
    return float(v) if isinstance(v, decimal.Decimal) else v.isoformat() if isinstance(v, dt.date) else v


def _expected_csv(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([f.csv_header(c) for c in COLUMNS])
    for r in rows:
        writer.writerow(["" if r[c.name] is None else f._csv_value(r[c.name]) for c in COLUMNS])
    return buf.getvalue().encode("utf-8-sig")


def _expected_json(rows: list[dict]) -> bytes:
    fields = [{"id": c.name, "type": c.type, "label": {"zh": c.label_zh, "en": c.label_en}} for c in COLUMNS]
    records = [{c.name: _plain(r[c.name]) for c in COLUMNS} for r in rows]
    return f.json_bytes({"dataset": "ds", "version": "2026-01-15-r2", "fields": fields, "records": records})


@pytest.mark.parametrize("n", [0, 1, 2_500])
def test_streamed_files_have_the_bytes_of_the_rows_written_at_once(tmp_path, n) -> None:
    rows = _rows(n)
    batches = [rows[i : i + 997] for i in range(0, n, 997)]
    data = f.write_data_files(COLUMNS, batches, tmp_path)
    path = f.write_json("ds", "2026-01-15-r2", COLUMNS, data, tmp_path / "data.json")

    assert data.rows == n
    assert data.csv.read_bytes() == _expected_csv(rows)
    assert path.read_bytes() == _expected_json(rows)
    table = pq.read_table(data.parquet)
    assert table.to_pylist() == [{c.name: _plain(r[c.name]) for c in COLUMNS} for r in rows]
    assert table.schema.field("registered_capital").metadata[b"unit_zh"] == "万元".encode()
    assert f.sha256(data.csv) == f.sha256(data.csv.read_bytes()) and f.size(path) == len(path.read_bytes())


def test_parquet_row_groups_stay_bounded_and_whole(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(f, "PARQUET_ROW_GROUP", 1_000)
    rows = _rows(4_321)
    data = f.write_data_files(COLUMNS, [rows[i : i + 300] for i in range(0, len(rows), 300)], tmp_path)
    parquet = pq.ParquetFile(data.parquet)
    assert [parquet.metadata.row_group(i).num_rows for i in range(parquet.num_row_groups)] == [1_000] * 4 + [
        321
    ]
    assert parquet.read().num_rows == 4_321


def test_the_scan_reads_the_columns_of_a_json_it_does_not_load(tmp_path, monkeypatch) -> None:
    rows = [{c.name: None for c in COLUMNS} | {"entities": i} for i in range(3_000)]
    data = f.write_data_files(COLUMNS, [rows], tmp_path)
    path = f.write_json("ds", "2026-01-15", COLUMNS, data, tmp_path / "data.json")
    names = [c.name for c in COLUMNS]
    assert f.published_columns("data.json", path) == names

    # a column that only the records carry (not the fields) is found too, past a read boundary
    doc = json.loads(path.read_bytes())
    doc["records"][700]["resident_id"] = "x"
    path.write_bytes(f.json_bytes(doc))
    monkeypatch.setattr(f, "_JSON_READ_CHARS", 4_096)
    assert f.published_columns("data.json", path) == [*names, "resident_id"]
    assert f.published_columns("data.json", path.read_bytes()) == [*names, "resident_id"]
    assert f.published_columns("data.csv", data.csv) == names
    assert (
        f.published_columns("data.parquet", data.parquet)
        == names
        == pa.parquet.read_schema(data.parquet).names
    )


@pytest.mark.parametrize(
    "record",
    [
        {
            "a": '引号"与\\反斜杠',
            "b": "换\n行\t",
            "c": None,
            "d": True,
            "e": 10**20,
            "f": -0.5,
            "g": "\u2028",
        },
        {"only": 1},
        {},
        {"nested": [1, {"x": "y"}], "n": 2},
        {"when": dt.datetime(2026, 1, 15, 8, 0, tzinfo=dt.UTC)},
    ],
)
def test_a_record_is_written_as_the_indented_document_holds_it(record) -> None:
    """The fast flat-record writer gives the lines json.dumps(indent=1) gives two levels deep."""
    text = json.dumps(record, ensure_ascii=False, indent=1, default=str)
    assert f._json_record(record) == "\n".join("  " + line for line in text.split("\n"))
