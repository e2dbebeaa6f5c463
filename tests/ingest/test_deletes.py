"""Unit tests of hard-delete capture: which sources capture, the tombstone SQL, and tombstone chunks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import pyarrow as pa
import pytest

from govlake.ingest.normalize import Normalizer
from govlake.ingest.sources import SourceChunk, deletes
from govlake.registry import get_dataset

HOUSEHOLD = get_dataset("public_security__household_registration")
DIBAO = get_dataset("civil_affairs__subsistence_allowance")
BEIJING = timezone(timedelta(hours=8))


def test_database_sources_with_a_watermark_capture_unless_turned_off() -> None:
    assert deletes.capture_enabled(HOUSEHOLD, "gxsj")
    assert not deletes.capture_enabled(HOUSEHOLD, None)  # no watermark: a tombstone could not rank newest
    off = replace(HOUSEHOLD, source={**HOUSEHOLD.source, "capture_deletes": False})
    assert not deletes.capture_enabled(off, "gxsj")
    market = get_dataset("market_regulation__market_entities")
    assert not deletes.capture_enabled(market, "updated_at")  # file drops deliver what they deliver


def test_the_tombstone_stamp_is_the_last_microsecond_of_the_day() -> None:
    day_end = datetime(2024, 6, 2, tzinfo=BEIJING)
    assert deletes.tombstone_stamp(day_end) == datetime(2024, 6, 1, 23, 59, 59, 999999, tzinfo=BEIJING)


def test_tombstone_sql_ranks_versions_like_the_intermediate_models_and_names_source_columns() -> None:
    watermark = HOUSEHOLD.column("updated_at")
    query = deletes.tombstone_query(HOUSEHOLD, watermark, "2024-06-01", datetime(2024, 6, 1, tzinfo=UTC))
    text = query.as_string(None)
    assert '"resident_id" as "gmsfhm"' in text
    assert 'as "gxsj"' in text and 'true as "_deleted"' in text
    assert '"updated_at" desc nulls last, _logical_date desc, _source_row desc' in text
    assert "_logical_date < '2024-06-01'" in text  # a re-run of D compares with what was loaded before D
    assert 'from "raw"."public_security__household_registration"' in text
    assert "not coalesce(newest._deleted, false)" in text  # a key already tombstoned is not repeated
    # the keys the source dropped are found before versions are ranked: only theirs are sorted
    assert text.index("not exists (select 1 from") < text.index("order by")


def test_composite_and_integer_keys_compare_in_the_raw_type() -> None:
    query = deletes.tombstone_query(
        DIBAO, DIBAO.column("updated_at"), "2024-06-01", datetime(2024, 6, 1, tzinfo=UTC)
    ).as_string(None)
    assert 'newest."recipient_id" = s."k0" and newest."family_id" = s."k1"' in query
    integer_key = replace(HOUSEHOLD.column("resident_id"), type="integer")
    assert "::bigint" in deletes._matches(integer_key, 0).as_string(None)
    snapshot = deletes.snapshot_query("public_security.household_registration", [integer_key]).as_string(None)
    assert snapshot == (
        'copy (select nullif(btrim("gmsfhm"::text), \'\') from "public_security"."household_registration") '
        "to stdout"
    )


def _tombstone_chunk(rows: list[tuple[str, str]]) -> SourceChunk:
    table = pa.table(
        {
            "gmsfhm": [r[0] for r in rows],
            "gxsj": [r[1] for r in rows],
            "_deleted": ["true"] * len(rows),
        }
    )
    return SourceChunk(
        table, "s3://landing/x/deleted.csv", pa.array(range(2, 2 + len(rows)), pa.int64()), [], True
    )


def test_a_tombstone_chunk_becomes_deleted_rows_with_null_non_key_columns() -> None:
    normalizer = Normalizer(HOUSEHOLD, "b", date(2024, 6, 1), datetime(2024, 6, 2, tzinfo=UTC), "gxsj")
    result = normalizer.normalize(
        _tombstone_chunk([("520102199001010001", "2024-06-01 23:59:59.999999+08"), ("  ", "2024-06-01")])
    )
    rows = result.good.to_pylist()
    assert [r["resident_id"] for r in rows] == ["520102199001010001"]
    assert rows[0]["_deleted"] is True and rows[0]["name"] is None and rows[0]["birth_date"] is None
    assert rows[0]["updated_at"] == datetime(2024, 6, 1, 15, 59, 59, 999999, tzinfo=UTC)
    # required non-key columns are not asked of a tombstone; a missing key still is
    assert [(r["source_row"], r["column_name"], r["rule"]) for r in result.rejects] == [
        (3, "resident_id", "required")
    ]
    assert normalizer.tombstones == 1
    assert normalizer.watermark_max is None  # our stamp must not move the source's watermark
    assert normalizer.extra_columns_seen == set()


@pytest.mark.parametrize("flag", [None, "is_deleted"])
def test_ordinary_chunks_still_need_every_declared_column(flag: str | None) -> None:
    from govlake.ingest.errors import SchemaDrift

    source = {**HOUSEHOLD.source, **({"deleted_flag": flag} if flag else {})}
    normalizer = Normalizer(
        replace(HOUSEHOLD, source=source), "b", date(2024, 6, 1), datetime(2024, 6, 2, tzinfo=UTC), "gxsj"
    )
    chunk = _tombstone_chunk([("520102199001010001", "2024-06-01")])
    chunk.tombstones = False
    with pytest.raises(SchemaDrift):
        normalizer.normalize(chunk)
