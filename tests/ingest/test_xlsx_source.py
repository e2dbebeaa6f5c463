"""XLSX deliveries (卫健委 style): title rows, one sheet per city, a merged 签发机构 cell, typed cells."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from govlake.ingest import ingest
from govlake.ingest.errors import UnreadableInput
from govlake.ingest.landing import list_keys, read_json, upload_bytes
from govlake.ingest.sources.xlsx_files import Merge, MergeFiller, cell_text, scan_merges
from govlake.lake import s3_client
from govlake.settings import Settings
from govlake.warehouse import connect

from .conftest import DEPT

KEY = f"{DEPT}__birth_certificates"
HEADER = ["出生医学证明编号", "新生儿姓名", "出生日期", "出生体重（克）", "签发机构"]


def workbook(cities: dict[str, list[list]], notes: bool = True) -> bytes:
    """One sheet per city: merged title (row 1), merged 填报单位 (row 2), header (row 3), data from row 4.

    The 签发机构 value is written once per hospital and merged down over its consecutive rows.
    """
    wb = Workbook()
    wb.remove(wb.active)
    for city, rows in cities.items():
        ws = wb.create_sheet(city)
        ws["A1"] = f"{city}2026年出生医学证明签发情况"
        ws.merge_cells("A1:E1")
        ws["A2"] = f"填报单位：{city}卫生健康局"
        ws.merge_cells("A2:E2")
        ws.append(HEADER)
        start = 4
        for i, row in enumerate(rows):
            ws.append(row[:4] + [row[4] if i == 0 or rows[i - 1][4] != row[4] else None])
        # merge each hospital's consecutive rows in column E
        i = 0
        while i < len(rows):
            j = i
            while j + 1 < len(rows) and rows[j + 1][4] == rows[i][4]:
                j += 1
            if j > i:
                ws.merge_cells(f"E{start + i}:E{start + j}")
            i = j + 1
    if notes:
        wb.create_sheet("填表说明")["A1"] = "本表由各市州卫健局每日报送。"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _land(settings: Settings, day: str, name: str, data: bytes) -> str:
    uri = f"s3://landing/{DEPT}/birth_certificates/{day}/{name}"
    upload_bytes(s3_client(settings), uri, data)
    return uri


# -- units ----------------------------------------------------------------------------------------------


def test_merge_ranges_are_read_from_the_sheet_xml_in_blocks() -> None:
    xml = (
        b"<worksheet><sheetData/>"
        + b"".join(f'<mergeCell ref="E{r}:E{r + 2}"/>'.encode() for r in range(4, 40000, 3))
        + b'<x:mergeCell ref="A1:K1"/></worksheet>'
    )
    merges = scan_merges(io.BytesIO(xml))
    assert len(merges) == len(range(4, 40000, 3)) + 1  # none lost at the 1 MiB block edges
    assert merges[0] == Merge(1, 1, 0, 10) and merges[1] == Merge(4, 6, 4, 4)


def test_merged_cells_fill_down_while_streaming() -> None:
    filler = MergeFiller([Merge(1, 1, 0, 4), Merge(4, 6, 4, 4)], first_row=4)
    rows = {
        4: ["a", None, None, None, "医院"],
        5: ["b", None, None, None, None],
        6: ["c"],
        7: ["d", 1, 2, 3, None],
    }
    for n, row in rows.items():
        filler.apply(n, row)
    assert [rows[n][4] if len(rows[n]) > 4 else None for n in (4, 5, 6, 7)] == ["医院", "医院", "医院", None]


def test_cells_keep_their_type_as_text() -> None:
    assert cell_text(datetime(2026, 3, 1)) == "2026-03-01"
    assert cell_text(datetime(2026, 3, 1, 8, 30)) == "2026-03-01T08:30:00"
    assert cell_text(3200.0) == "3200" and cell_text(0.1 + 0.2) == "0.3" and cell_text(12) == "12"
    assert cell_text(46082, as_date=True) == "2026-03-01"  # an Excel serial in a date column
    assert cell_text(True) == "true" and cell_text(None) is None


# -- end to end -------------------------------------------------------------------------------------------


@pytest.mark.integration
def test_sheets_title_rows_and_merged_cells_load_with_sheet_and_row(
    settings: Settings, registry_dir: Path
) -> None:
    day = "1999-04-01"
    guiyang = [
        ["GY001", "王一", datetime(1999, 3, 30), 3200, "贵阳市妇幼保健院"],
        ["GY002", "王二", datetime(1999, 3, 31), 3350.0, "贵阳市妇幼保健院"],
        ["GY003", "王三", "1999-03-31", 2900, "贵阳市妇幼保健院"],
        ["GY004", "王四", "不详", 3100, "省人民医院"],  # a bad date: one row quarantined
    ]
    zunyi = [["ZY001", "李一", date(1999, 3, 29), 3000, "遵义市第一人民医院"]]
    uri = _land(settings, day, "births_19990401.xlsx", workbook({"贵阳市": guiyang, "遵义市": zunyi}))

    result = ingest(KEY, day, settings=settings, registry_dir=registry_dir)
    assert (result["rows_extracted"], result["rows_loaded"], result["rows_rejected"]) == (5, 4, 1)
    with connect(settings) as conn:
        rows = conn.execute(
            f"select certificate_no, birth_date::text, weight_g, issuer, _source_file, _source_row from raw.{KEY} "
            "where _logical_date = %s order by certificate_no",
            (day,),
        ).fetchall()
        rejected = conn.execute(
            "select source_file, source_row, column_name, rule from platform.quarantine where batch_id = %s",
            (f"{KEY}__{day}",),
        ).fetchall()
    assert rows == [
        ("GY001", "1999-03-30", 3200, "贵阳市妇幼保健院", f"{uri}#贵阳市", 4),
        ("GY002", "1999-03-31", 3350, "贵阳市妇幼保健院", f"{uri}#贵阳市", 5),
        ("GY003", "1999-03-31", 2900, "贵阳市妇幼保健院", f"{uri}#贵阳市", 6),
        ("ZY001", "1999-03-29", 3000, "遵义市第一人民医院", f"{uri}#遵义市", 4),
    ]
    assert rejected == [(f"{uri}#贵阳市", 7, "birth_date", "type")]
    manifest = read_json(s3_client(settings), f"s3://raw/{DEPT}/birth_certificates/{day}/_manifest.json")
    assert manifest["details"]["sheets"] == {"贵阳市": 4, "遵义市": 1}
    assert manifest["details"]["skipped_sheets"] == ["填表说明"]


@pytest.mark.integration
def test_a_corrupt_workbook_is_quarantined_and_nothing_is_loaded(
    settings: Settings, registry_dir: Path
) -> None:
    day = "1999-04-02"
    good = workbook({"贵阳市": [["GY001", "王一", datetime(1999, 4, 1), 3200, "医院"]]})
    _land(settings, day, "births.xlsx", good[: len(good) // 2])  # cut in half: not a readable zip
    with pytest.raises(UnreadableInput, match=r"births.xlsx: not a readable XLSX workbook"):
        ingest(KEY, day, settings=settings, registry_dir=registry_dir)
    s3 = s3_client(settings)
    prefix = f"{DEPT}/birth_certificates/{day}/"
    assert list_keys(s3, "quarantine", prefix) == [f"{prefix}births.xlsx", f"{prefix}births.xlsx.reason.json"]
    reason = read_json(s3, f"s3://quarantine/{prefix}births.xlsx.reason.json")
    assert reason["rule"] == "corrupt_file" and reason["dimension"] == "accessibility"
    with connect(settings) as conn:
        status = conn.execute(
            "select status, error from platform.batches where batch_id = %s", (f"{KEY}__{day}",)
        ).fetchone()
        loaded = conn.execute(f"select count(*) from raw.{KEY} where _logical_date = %s", (day,)).fetchone()[
            0
        ]
        record = conn.execute(
            "select rule, source_file from platform.quarantine where batch_id = %s", (f"{KEY}__{day}",)
        ).fetchall()
        files = conn.execute(
            "select status from platform.delivered_files where department = %s and logical_date = %s",
            (DEPT, day),
        ).fetchall()
    assert status[0] == "failed" and "births.xlsx" in status[1]
    assert loaded == 0
    assert record == [("corrupt_file", f"s3://landing/{prefix}births.xlsx")]
    assert files == [("quarantined",)]
