"""Correction lists reach the owning department's outbox with every quarantined row (real Postgres + S3)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
from datetime import date

import pytest
from openpyxl import load_workbook
from psycopg.types.json import Jsonb
from support.quality_rows import insert_rows, person, wrong_check

from govlake.lake import s3_client
from govlake.quality import get_suite, quarantine_failures, validate
from govlake.quality.corrections import file_stem, neutralise, object_prefix, publish_correction_lists

HOUSEHOLD = "stg_public_security__household_registrations"
DAY = date(1999, 1, 5)
DEPARTMENT = "public_security"


def test_neutralise_prefixes_formula_starters_only() -> None:
    assert [neutralise(v) for v in ("=1+1", "+86", "-3", "@SUM(A1)", "\tx", "正常", "a=b", 5, None)] == [
        "'=1+1",
        "'+86",
        "'-3",
        "'@SUM(A1)",
        "'\tx",
        "正常",
        "a=b",
        5,
        None,
    ]


def _object(settings, key: str) -> bytes:
    response = s3_client(settings).get_object("exchange", key)
    try:
        return response.read()
    finally:
        response.close()
        response.release_conn()


@pytest.fixture
def outbox(scratch_settings):
    yield
    client = s3_client(scratch_settings)
    for day in (DAY,):
        for obj in client.list_objects("exchange", prefix=object_prefix(DEPARTMENT, day), recursive=True):
            client.remove_object("exchange", obj.object_name)


@pytest.mark.integration
def test_every_quarantined_row_reaches_the_owner_outbox(scratch_warehouse, scratch_settings, outbox) -> None:
    rng = random.Random(11)
    rows = [person(DAY, i, rng) for i in range(1, 301)]
    rows[9]["resident_id"] = wrong_check(rows[9]["resident_id"])
    rows[19]["gender"] = '=HYPERLINK("http://x")'  # a formula a clerk's spreadsheet must not run
    rows[29]["division_code"] = "520100"
    insert_rows(scratch_warehouse, get_suite(HOUSEHOLD).target, rows)
    quarantine_failures(HOUSEHOLD, DAY, validate(HOUSEHOLD, DAY, scratch_settings), scratch_settings)
    # an ingest-stage reject: the record is the source row as received (source column names)
    scratch_warehouse.execute(
        "insert into platform.quarantine (batch_id, department, dataset, logical_date, stage, source_file,"
        " source_row, rule, dimension, column_name, message, record) values (%s, %s, 'household_registration',"
        " %s, 'ingest', 'extract.csv', 301, 'required', 'completeness', 'name', '必填项为空 — rule required', %s)",
        (
            f"{DEPARTMENT}__household_registration__{DAY}",
            DEPARTMENT,
            DAY,
            Jsonb({"gmsfhm": "-1", "xm": None}),
        ),
    )
    expected = scratch_warehouse.execute(
        "select count(*) from platform.quarantine where department = %s and logical_date = %s",
        (DEPARTMENT, DAY),
    ).fetchone()[0]
    assert expected == 4

    results = publish_correction_lists(DAY, scratch_settings)

    assert [r["department"] for r in results] == [DEPARTMENT]
    result = results[0]
    assert result["rows"] == expected and result["rows_by_dataset"] == {"household_registration": expected}
    prefix, stem = object_prefix(DEPARTMENT, DAY), file_stem(DEPARTMENT, DAY)
    assert stem == "纠错清单_public_security_19990105"

    xlsx_bytes = _object(scratch_settings, f"{prefix}{stem}.xlsx")
    csv_bytes = _object(scratch_settings, f"{prefix}{stem}.csv")
    manifest = json.loads(_object(scratch_settings, f"{prefix}{stem}.manifest.json"))
    by_name = {f["name"]: f for f in manifest["files"]}
    assert by_name[f"{stem}.xlsx"]["sha256"] == hashlib.sha256(xlsx_bytes).hexdigest()
    assert by_name[f"{stem}.csv"]["sha256"] == hashlib.sha256(csv_bytes).hexdigest()
    assert manifest["rows"] == expected

    workbook = load_workbook(io.BytesIO(xlsx_bytes))
    assert workbook.sheetnames == [
        "户籍人口登记信息"
    ]  # one sheet per dataset, named as the catalogue names it
    sheet = workbook["户籍人口登记信息"]
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    assert header[:11] == [
        "数据集",
        "批次",
        "检查环节",
        "源文件",
        "行号",
        "字段",
        "规则",
        "规则说明",
        "质量维度",
        "处理结果",
        "问题说明",
    ]
    assert "原始记录：公民身份号码" in header and sheet.column_dimensions["K"].width == 64
    body = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert len(body) == expected
    assert {(r[4], r[6]) for r in body} == {
        (10, "resident_id_check_digit"),
        (20, "gender_in_set"),
        (30, "division_code_is_county"),
        (301, "required"),
    }
    gender = header.index("原始记录：性别")
    formula_row = next(r for r in body if r[4] == 20)
    assert formula_row[gender] == '\'=HYPERLINK("http://x")' and formula_row[8] == "规范性"
    ingest_row = next(r for r in body if r[4] == 301)
    assert ingest_row[2] == "接入检查" and ingest_row[header.index("原始记录：公民身份号码")] == "'-1"
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)

    assert csv_bytes.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(csv_bytes.decode("utf-8-sig"))))
    assert lines[0][:3] == ["数据集", "批次", "检查环节"] and len(lines) == expected + 1

    listed = scratch_warehouse.execute(
        "select rows, xlsx_sha256 from platform.correction_lists where department = %s and logical_date = %s",
        (DEPARTMENT, DAY),
    ).fetchone()
    assert listed == (expected, by_name[f"{stem}.xlsx"]["sha256"])

    # once the rows are gone (a corrected re-run), the stale list is withdrawn
    scratch_warehouse.execute("delete from platform.quarantine where logical_date = %s", (DAY,))
    assert publish_correction_lists(DAY, scratch_settings) == []
    client = s3_client(scratch_settings)
    assert list(client.list_objects("exchange", prefix=prefix, recursive=True)) == []
    assert (
        scratch_warehouse.execute(
            "select count(*) from platform.correction_lists where logical_date = %s", (DAY,)
        ).fetchone()[0]
        == 0
    )
