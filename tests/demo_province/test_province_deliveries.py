"""The department files as delivered: workbook layouts (title rows, merged cells, a sheet per city or year)
and CSV dialects (BOM, every field quoted, embedded newlines; GB18030 with semicolons; plain UTF-8).

Read back with openpyxl and the csv module — independent readers, not the platform's own.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import openpyxl
import pytest

from demo_province import file_deliveries as deliveries
from demo_province import reference as ref
from demo_province.defects import DefectPlanner
from demo_province.generator import iter_province, regional_tables
from demo_province.tables import (
    BIRTHS,
    COLUMNS,
    CROPS,
    DIVISIONS,
    MARRIAGES,
    PASSENGERS,
    extend,
    row_count,
)

DAY = date(2024, 6, 1)


@pytest.fixture(scope="module")
def tables():
    planner = DefectPlanner(0.02)
    out = {BIRTHS: {c: [] for c in COLUMNS[BIRTHS]}, MARRIAGES: {c: [] for c in COLUMNS[MARRIAGES]}}
    for chunk in iter_province(12_000, 42, DAY, 0.02, chunk_size=6_000, planner=planner):
        extend(out[BIRTHS], chunk.tables[BIRTHS])
        extend(out[MARRIAGES], chunk.tables[MARRIAGES])
    out.update(regional_tables(42, DAY, planner)[0])
    return out


@pytest.fixture(scope="module")
def birth_book(tables):
    data = deliveries.birth_workbook(tables[BIRTHS], DAY)
    return openpyxl.load_workbook(io.BytesIO(data))


def test_landing_keys_follow_the_contract() -> None:
    assert (
        deliveries.landing_key(BIRTHS, DAY)
        == "health/birth_certificates/2024-06-01/出生医学证明登记_20240601.xlsx"
    )
    assert deliveries.landing_key(PASSENGERS, DAY).startswith("transport/passenger_volumes/2024-06-01/")


def test_birth_workbook_has_one_sheet_per_city_with_title_rows(birth_book) -> None:
    names = {d.code: d.name for d in ref.load_divisions()}
    assert birth_book.sheetnames == [names[p] for p in ref.PREFECTURES]
    for ws in birth_book.worksheets:
        merged = {str(r) for r in ws.merged_cells.ranges}
        assert "A1:L1" in merged and "A2:L2" in merged
        assert ws["A1"].value == "贵州省出生医学证明签发登记表（2024年6月1日）"
        assert ws["A2"].value.startswith("填报单位：") and ws["A2"].value.endswith("卫生健康局")
        assert [c.value for c in ws[3]] == list(COLUMNS[BIRTHS])
    assert birth_book["黔东南苗族侗族自治州"]["A2"].value == "填报单位：黔东南州卫生健康局"


def test_issuing_hospital_is_merged_down_and_filling_recovers_every_row(birth_book, tables) -> None:
    column = COLUMNS[BIRTHS].index("签发机构") + 1
    letter = openpyxl.utils.get_column_letter(column)
    vertical = 0
    recovered: dict[str, str] = {}
    for ws in birth_book.worksheets:
        fill: dict[tuple[int, int], object] = {}
        for rng in ws.merged_cells.ranges:
            if rng.min_row >= 4:
                assert rng.min_col == rng.max_col == column and rng.max_row > rng.min_row
                vertical += 1
                for r in range(rng.min_row, rng.max_row + 1):
                    fill[(r, column)] = ws.cell(rng.min_row, column).value
                    if r > rng.min_row:
                        assert ws.cell(r, column).value is None  # what a naive reader sees
        for r in range(4, ws.max_row + 1):
            number = ws.cell(r, 1).value
            recovered[number] = fill.get((r, column), ws.cell(r, column).value)
    assert vertical > 0
    expected = dict(zip(tables[BIRTHS]["出生医学证明编号"], tables[BIRTHS]["签发机构"], strict=True))
    assert recovered == expected
    assert letter == "F"


def test_birth_workbook_cells_are_typed_as_excel_leaves_them(birth_book, tables) -> None:
    ws = birth_book.worksheets[0]
    row = [c.value for c in ws[4]]
    assert isinstance(row[COLUMNS[BIRTHS].index("出生日期")], datetime)
    assert isinstance(row[COLUMNS[BIRTHS].index("行政区划代码")], int)
    assert isinstance(row[COLUMNS[BIRTHS].index("母亲身份证号")], str) and len(row[8]) == 18
    rows = sum(ws.max_row - 3 for ws in birth_book.worksheets)
    assert rows == row_count(tables[BIRTHS])


def test_passenger_workbook_has_a_sheet_per_year_and_header_on_row_2(tables) -> None:
    book = openpyxl.load_workbook(
        io.BytesIO(deliveries.passenger_workbook(tables[PASSENGERS], DAY)), read_only=False
    )
    assert book.sheetnames == [f"{y}年" for y in range(2015, 2025)]
    ws = book["2024年"]
    assert "A1:F1" in {str(r) for r in ws.merged_cells.ranges}
    assert ws["A1"].value == "贵州省分市州旅客运输量统计表（2024年）"
    assert [c.value for c in ws[2]] == list(COLUMNS[PASSENGERS])
    assert {ws.cell(r, 1).value[:7] for r in range(3, ws.max_row + 1)} == {
        f"2024-{m:02d}" for m in range(1, 6)
    }
    assert sum(b.max_row - 2 for b in book.worksheets) == row_count(tables[PASSENGERS])


def test_marriage_csv_is_bom_utf8_all_quoted_with_embedded_newlines(tables) -> None:
    table = tables[MARRIAGES]
    half = row_count(table) // 2
    first = {c: v[:half] for c, v in table.items()}
    rest = {c: v[half:] for c, v in table.items()}
    data = deliveries.marriage_csv(first, first=True) + deliveries.marriage_csv(rest, first=False)
    assert data.startswith(b'\xef\xbb\xbf"\xe7\x99\xbb')  # BOM, then a quoted 登记证号
    assert data.count(b"\xef\xbb\xbf") == 1  # only at the start of the file
    text = data.decode("utf-8-sig")
    remarks = [r for r in table["备注"] if r]
    assert (
        any("\n" in r for r in remarks) and any('"' in r for r in remarks) and any("," in r for r in remarks)
    )
    assert text.splitlines()[0].split(",")[0] == '"登记证号"'
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert parsed[0] == list(COLUMNS[MARRIAGES])
    assert parsed[1:] == [["" if v is None else v for v in row] for row in zip(*table.values(), strict=True)]
    assert len(text.splitlines()) > len(parsed)  # embedded newlines: more lines than records


def test_crop_csv_is_gb18030_with_semicolons(tables) -> None:
    data = deliveries.crop_csv(tables[CROPS])
    with pytest.raises(UnicodeDecodeError):
        data.decode("gbk")  # GB18030-only township names: a GBK reader fails
    text = data.decode("gb18030")
    assert "㵲水街道" in text or "桴㯊镇" in text
    parsed = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert parsed[0] == list(COLUMNS[CROPS]) and len(parsed) - 1 == row_count(tables[CROPS])
    assert all(len(r) == len(COLUMNS[CROPS]) for r in parsed)


def test_division_csv_is_plain_utf8(tables) -> None:
    data = deliveries.division_csv(tables[DIVISIONS])
    assert not data.startswith(b"\xef\xbb\xbf")
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert parsed[0] == list(COLUMNS[DIVISIONS])
    assert parsed[1][:4] == ["520000", "贵州省", "省级", ""]
