"""Unit tests of the column-wise typing and ingest rules (no stack needed)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa

from govlake.ingest.normalize import Normalizer, convert
from govlake.ingest.sources import SourceChunk
from govlake.registry import get_dataset

MARKET = get_dataset("market_regulation__market_entities")


def _column(name: str):
    return MARKET.column(name)


def test_dates_accept_three_shapes_and_reject_days_that_do_not_exist() -> None:
    values = pa.array(
        [
            "2026-11-27",
            "20261127",
            "2026/11/27",
            " 2026-02-28 ",
            "2026-13-45",
            "2026-02-30",
            "2026-1-5",
            "",
            None,
        ]
    )
    typed, failed = convert(_column("established_date"), values)
    assert typed.to_pylist()[:4] == [date(2026, 11, 27)] * 3 + [date(2026, 2, 28)]
    assert failed.to_pylist() == [False, False, False, False, True, True, True, False, False]


def test_decimals_and_blank_strings() -> None:
    typed, failed = convert(_column("registered_capital"), pa.array(["12.5", "-3", "1e5", "1.1234567", " "]))
    assert typed.to_pylist()[:2] == [Decimal("12.5"), Decimal("-3")]
    assert failed.to_pylist() == [False, False, True, True, False]
    typed, failed = convert(_column("entity_name"), pa.array(["  贵州茅台  ", "\u3000", ""]))
    assert typed.to_pylist() == ["贵州茅台", None, None]
    assert not any(failed.to_pylist())


def test_timestamps_iso_with_and_without_offset() -> None:
    column = get_dataset("public_security__household_registration").column("updated_at")
    typed, failed = convert(
        column,
        pa.array(
            [
                "2026-11-27 12:00:00+08",
                "2026-11-27T04:00:00Z",
                "2026-11-27 12:00:00",
                "2026-11-27 25:00:00",
                "yesterday",
            ]
        ),
    )
    noon_local = datetime(2026, 11, 27, 4, tzinfo=UTC)
    assert typed.to_pylist()[:3] == [noon_local] * 3
    assert failed.to_pylist() == [False, False, False, True, True]


def test_a_failing_row_is_rejected_whole_with_a_message_naming_file_row_column_and_rule() -> None:
    names = [c.source_name for c in MARKET.columns]
    good = dict(
        zip(
            names,
            [
                "91520100MA6DKXXX1X",
                "某公司",
                "有限责任公司",
                "",
                "",
                "",
                "10",
                "2020-01-01",
                "520102",
                "",
                "存续",
            ],
            strict=True,
        )
    )
    bad_date = {**good, "成立日期": "2026-13-45"}
    no_name = {**good, "企业名称": " "}
    table = pa.Table.from_pylist([good, bad_date, no_name])
    chunk = SourceChunk(
        table, "s3://landing/x/market_entities_20261127.csv", pa.array([2, 1234, 4], pa.int64())
    )
    normalizer = Normalizer(MARKET, "b", date(2026, 11, 27), datetime.now(UTC))
    result = normalizer.normalize(chunk)
    assert result.good.num_rows == 1 and result.rows_rejected == 2
    by_rule = {r["rule"]: r for r in result.rejects}
    assert by_rule["type"]["message"] == (
        "market_entities_20261127.csv 第 1234 行 列 成立日期 (established_date): '2026-13-45' 不是有效日期 "
        "(YYYY-MM-DD, YYYYMMDD 或 YYYY/MM/DD) — rule type"
    )
    assert by_rule["type"]["dimension"] == "conformity" and by_rule["type"]["value"] == "2026-13-45"
    assert by_rule["required"]["column_name"] == "entity_name" and by_rule["required"]["source_row"] == 4
    assert by_rule["required"]["dimension"] == "completeness"
    assert by_rule["required"]["record"]["企业名称"] == " "
