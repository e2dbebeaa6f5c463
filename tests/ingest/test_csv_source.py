"""CSV deliveries (市场监管局 style) end to end: landing -> Parquet in raw -> raw.* and quarantine."""

from __future__ import annotations

from pathlib import Path

import pytest

from govlake.ingest import IngestError, ingest, land_and_normalize, load_raw
from govlake.ingest.landing import list_keys, read_json
from govlake.lake import s3_client
from govlake.settings import Settings
from govlake.warehouse import connect

from .conftest import DEPT, land_csv, market_csv

pytestmark = pytest.mark.integration
KEY = f"{DEPT}__market_entities"
HEADER = [
    "统一社会信用代码",
    "企业名称",
    "市场主体类型",
    "法定代表人",
    "法定代表人证件号码",
    "行业门类",
    "注册资本万元",
    "成立日期",
    "住所行政区划代码",
    "住所",
    "登记状态",
]


def entity(i: int, **overrides: str) -> dict:
    row = {
        "统一社会信用代码": f"91520100MA{i:08d}",
        "企业名称": f"贵州测试{i}号有限公司",
        "市场主体类型": "有限责任公司",
        "法定代表人": "张三",
        "法定代表人证件号码": "520102199001011234",
        "行业门类": "I",
        "注册资本万元": "100.5",
        "成立日期": "2020-05-01",
        "住所行政区划代码": "520102",
        "住所": "贵阳市南明区",
        "登记状态": "存续",
    }
    return {**row, **overrides}


def _raw_rows(settings: Settings, day: str) -> list[tuple]:
    with connect(settings) as conn:
        return conn.execute(
            f"select credit_code, established_date::text, registered_capital::text, _source_file, _source_row, "
            f"_batch_id from raw.{KEY} where _logical_date = %s order by _source_row",
            (day,),
        ).fetchall()


def _quarantine(settings: Settings, day: str) -> list[tuple]:
    with connect(settings) as conn:
        return conn.execute(
            "select source_file, source_row, rule, dimension, column_name, message, record ->> '企业名称' "
            "from platform.quarantine where batch_id = %s and stage = 'ingest' order by source_row, rule",
            (f"{KEY}__{day}",),
        ).fetchall()


def test_gbk_csv_quarantines_bad_rows_loads_the_rest_and_reruns_identically(
    settings: Settings, registry_dir: Path
) -> None:
    day = "1999-01-01"
    rows = [
        entity(1),
        entity(2, 成立日期="2026-13-45"),
        entity(3, 企业名称=""),
        entity(4, 成立日期="20200102"),
        entity(5, 备注="新增列"),
    ]
    uri = land_csv(settings, day, "market_entities_19990101.csv", market_csv(rows, [*HEADER, "备注"]))

    manifest = land_and_normalize(KEY, day, settings=settings, registry_dir=registry_dir)
    assert (manifest["rows_extracted"], manifest["rows_loaded"], manifest["rows_rejected"]) == (5, 3, 2)
    assert manifest["extra_columns_seen"] == ["备注"]
    assert manifest["landed_files"] == [uri]
    assert manifest["details"]["encodings"] == {"market_entities_19990101.csv": "gb18030"}
    result = load_raw(KEY, day, manifest, settings=settings, registry_dir=registry_dir)
    assert result["rows_loaded"] == 3

    raw = _raw_rows(settings, day)
    assert [(r[0], r[1], r[4]) for r in raw] == [
        ("91520100MA00000001", "2020-05-01", 2),
        ("91520100MA00000004", "2020-01-02", 5),
        ("91520100MA00000005", "2020-05-01", 6),
    ]
    assert raw[0][2] == "100.500000" and raw[0][3] == uri and raw[0][5] == f"{KEY}__{day}"
    quarantined = _quarantine(settings, day)
    assert [(q[1], q[2], q[3], q[4]) for q in quarantined] == [
        (3, "type", "conformity", "established_date"),
        (4, "required", "completeness", "entity_name"),
    ]
    assert quarantined[0][5] == (
        "market_entities_19990101.csv 第 3 行 列 成立日期 (established_date): "
        "'2026-13-45' 不是有效日期 (YYYY-MM-DD, YYYYMMDD 或 YYYY/MM/DD) — rule type"
    )
    assert quarantined[0][0] == uri and quarantined[0][6] == "贵州测试2号有限公司"

    s3 = s3_client(settings)
    assert list_keys(s3, "raw", f"{DEPT}/market_entities/{day}/") == [
        f"{DEPT}/market_entities/{day}/_manifest.json",
        f"{DEPT}/market_entities/{day}/part-00000.parquet",
    ]
    stored = read_json(s3, manifest["manifest_uri"])
    assert stored["checksum"] == manifest["checksum"] and len(stored["schema_hash"]) == 64
    assert list_keys(s3, "quarantine", f"{DEPT}/market_entities/{day}/") == [
        f"{DEPT}/market_entities/{day}/ingest.jsonl"
    ]

    # A re-run of the same date changes nothing: no duplicates in raw, quarantine or batches.
    again = ingest(KEY, day, settings=settings, registry_dir=registry_dir)
    assert again["rows_loaded"] == 3 and again["rows_rejected"] == 2
    assert [r[:3] + r[4:] for r in _raw_rows(settings, day)] == [r[:3] + r[4:] for r in raw]
    assert _quarantine(settings, day) == quarantined
    with connect(settings) as conn:
        batches = conn.execute(
            "select status, rows_extracted, rows_loaded, rows_rejected from "
            "platform.batches where batch_id = %s",
            (f"{KEY}__{day}",),
        ).fetchall()
    # (the checksum changes with _ingested_at, the wall-clock time of the run; the counts do not)
    assert batches == [("loaded", 5, 3, 2)]


def test_utf8_bom_csv_with_date_shapes_and_a_malformed_line(settings: Settings, registry_dir: Path) -> None:
    day = "1999-01-02"
    data = market_csv([entity(10, 成立日期="2021/03/04"), entity(11)], HEADER, encoding="utf-8", bom=True)
    data += (
        "太,短\r\n".encode() + market_csv([entity(12, 注册资本万元="")], HEADER, "utf-8").split(b"\r\n", 1)[1]
    )
    land_csv(settings, day, "market_entities_19990102.csv", data)

    result = ingest(KEY, day, settings=settings, registry_dir=registry_dir)
    assert (result["rows_extracted"], result["rows_loaded"], result["rows_rejected"]) == (4, 3, 1)
    raw = _raw_rows(settings, day)
    assert [(r[0], r[1], r[2], r[4]) for r in raw] == [
        ("91520100MA00000010", "2021-03-04", "100.500000", 2),
        ("91520100MA00000011", "2020-05-01", "100.500000", 3),
        ("91520100MA00000012", "2020-05-01", None, 5),
    ]
    quarantined = _quarantine(settings, day)
    assert [(q[1], q[2], q[4]) for q in quarantined] == [(4, "columns", None)]
    assert "第 4 行: 应有 11 列, 实际 2 列" in quarantined[0][5]


def test_missing_declared_column_fails_the_batch_naming_column_and_file(
    settings: Settings, registry_dir: Path
) -> None:
    day = "1999-01-03"
    header = [h for h in HEADER if h != "登记状态"]
    land_csv(settings, day, "market_entities_19990103.csv", market_csv([entity(20)], header))
    with pytest.raises(IngestError, match=r"market_entities_19990103\.csv.*登记状态 \(status\)"):
        ingest(KEY, day, settings=settings, registry_dir=registry_dir)
    with connect(settings) as conn:
        status, error = conn.execute(
            "select status, error from platform.batches where batch_id = %s", (f"{KEY}__{day}",)
        ).fetchone()
    assert status == "failed" and "登记状态" in error


def test_no_delivery_for_the_date_fails_clearly(settings: Settings, registry_dir: Path) -> None:
    with pytest.raises(IngestError, match="no CSV file .* 1999-01-09"):
        ingest(KEY, "1999-01-09", settings=settings, registry_dir=registry_dir)
