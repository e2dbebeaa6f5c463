"""The open population release: files in S3, suppression of small cells, and the leak scan."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json

import psycopg
import pyarrow.parquet as pq
import pytest

from govlake.lake import s3_client
from govlake.policy.leak_scan import LeakDetected, assert_no_leaks, scan_release
from govlake.publish.open_data import AGE_BANDS, publish_open_population, to_csv, to_parquet
from govlake.publish.swap import publish_libraries
from govlake.settings import Settings

from .synthetic import (
    AUDIT,
    BASE,
    OPEN_PREFIX,
    REFERENCE,
    SHARE,
    Person,
    create_legal_entities,
    create_population,
    resident_id,
)

DATE = dt.date(2024, 6, 30)
K = 10
VALID_ID = resident_id("520102", dt.date(1990, 1, 1), 7)


def _people() -> list[Person]:
    """12 living men aged 34 in 南明区 (published), 3 women over 65 in 云岩区 (suppressed), plus people
    who must not be counted: the dead and the not yet born."""
    group = [Person("张三", "男", dt.date(1990, 1, 1), "520102", seq=i) for i in range(12)]
    small = [Person("李四", "女", dt.date(1950, 7, 1), "520103", seq=i) for i in range(3)]
    dead = [Person("王五", "男", dt.date(1990, 2, 1), "520102", status="死亡", seq=i) for i in range(4)]
    unborn = [Person("赵六", "男", dt.date(2024, 7, 1), "520102", seq=1)]
    return group + small + dead + unborn


def _read(client, key: str) -> bytes:
    response = client.get_object("open", key)
    try:
        return response.read()
    finally:
        response.close()
        response.release_conn()


def _publish_base(pg: psycopg.Connection, settings: Settings, date: dt.date) -> None:
    create_population(pg, AUDIT, date, _people())
    create_legal_entities(pg, AUDIT, date)
    publish_libraries(date, True, settings=settings, audit_schema=AUDIT, base_schema=BASE, share_schema=SHARE)


def _release(settings: Settings, date: dt.date):
    return publish_open_population(
        date, settings, base_schema=BASE, reference_schema=REFERENCE, dataset=OPEN_PREFIX, k=K
    )


@pytest.mark.integration
def test_release_files_in_s3_with_small_cells_suppressed(
    scratch: Settings, pg: psycopg.Connection, open_bucket: str
) -> None:
    _publish_base(pg, scratch, DATE)
    release = _release(scratch, DATE)

    assert release.cells == 88 * 2 * len(AGE_BANDS)
    assert release.k_required == K and release.k_achieved == 12
    assert release.suppressed_cells == release.cells - 1
    client = s3_client(scratch)
    prefix = f"{OPEN_PREFIX}/{DATE.isoformat()}/"

    raw_csv = _read(client, prefix + "data.csv")
    assert raw_csv.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw_csv.decode("utf-8-sig"))))
    assert "人口数 population" in rows[0] and "县级区划名称 county_name" in rows[0]
    nanming_men = next(
        r
        for r in rows
        if r["县级区划代码 county_code"] == "520102"
        and r["性别 gender"] == "男"
        and r["年龄组 age_band"] == "25-34"
    )
    assert (nanming_men["人口数 population"], nanming_men["是否抑制 suppressed"]) == ("12", "false")
    assert (
        nanming_men["县级区划名称 county_name"] == "南明区"
        and nanming_men["市州名称 prefecture_name"] == "贵阳市"
    )
    yunyan_old = next(
        r
        for r in rows
        if r["县级区划代码 county_code"] == "520103"
        and r["性别 gender"] == "女"
        and r["年龄组 age_band"] == "65+"
    )
    assert (yunyan_old["人口数 population"], yunyan_old["是否抑制 suppressed"]) == ("", "true")

    raw_parquet = _read(client, prefix + "data.parquet")
    table = pq.read_table(io.BytesIO(raw_parquet))
    assert table.num_rows == release.cells
    assert set(table.column_names) == {
        "prefecture_code",
        "prefecture_name",
        "county_code",
        "county_name",
        "gender",
        "age_band",
        "population",
        "suppressed",
    }
    assert sum(v for v in table.column("population").to_pylist() if v is not None) == 12

    metadata = json.loads(_read(client, prefix + "metadata.json"))
    assert metadata["disclosure_control"]["k_required"] == K
    assert metadata["disclosure_control"]["k_achieved"] == 12
    assert metadata["disclosure_control"]["suppressed_cells"] == release.cells - 1
    assert metadata["title"]["zh"] and metadata["title"]["en"] and metadata["license"]["id"]
    assert metadata["issued"] == DATE.isoformat()
    assert metadata["distributions"]["data.csv"]["sha256"] == hashlib.sha256(raw_csv).hexdigest()
    assert metadata["distributions"]["data.parquet"]["sha256"] == hashlib.sha256(raw_parquet).hexdigest()
    assert {c["name"] for c in metadata["columns"]} == set(table.column_names)

    latest = json.loads(_read(client, f"{OPEN_PREFIX}/latest.json"))
    assert latest["logical_date"] == DATE.isoformat()
    status, zone = pg.execute(
        "select status, zone from platform.publications where logical_date = %s and target = %s",
        (DATE, f"s3://open/{prefix}"),
    ).fetchone()
    assert (status, zone) == ("published", "open")


@pytest.mark.integration
def test_earlier_releases_stay_and_latest_only_moves_forward(
    scratch: Settings, pg: psycopg.Connection, open_bucket: str
) -> None:
    later = DATE + dt.timedelta(days=1)
    _publish_base(pg, scratch, later)
    _release(scratch, later)
    _publish_base(pg, scratch, DATE)  # a backfill of the earlier date
    _release(scratch, DATE)

    client = s3_client(scratch)
    keys = {o.object_name for o in client.list_objects("open", prefix=f"{OPEN_PREFIX}/", recursive=True)}
    for day in (DATE, later):
        assert f"{OPEN_PREFIX}/{day.isoformat()}/metadata.json" in keys
    assert json.loads(_read(client, f"{OPEN_PREFIX}/latest.json"))["logical_date"] == later.isoformat()


def test_leak_scan_finds_resident_ids_and_mobiles_but_not_checksums() -> None:
    cells = [
        {
            "prefecture_code": "520100",
            "prefecture_name": "贵阳市",
            "county_code": "520102",
            "county_name": f"南明区{VALID_ID}",
            "gender": "男",
            "age_band": "25-34",
            "population": 12,
            "suppressed": False,
        }
    ]
    leaks = scan_release({"data.csv": to_csv(cells), "data.parquet": to_parquet(cells)})
    assert {(leak.file, leak.kind) for leak in leaks} == {
        ("data.csv", "resident_id"),
        ("data.parquet", "resident_id"),
    }
    assert all(VALID_ID not in str(leak) for leak in leaks)  # errors never repeat the identifier

    with pytest.raises(LeakDetected, match="mobile"):
        assert_no_leaks({"metadata.json": "联系电话 13812345678".encode()})
    wrong_check = VALID_ID[:-1] + ("0" if VALID_ID[-1] != "0" else "1")
    harmless = f"{wrong_check}\n{hashlib.sha256(b'x').hexdigest()}\n{'1' * 64}\n520102 38600000\n"
    assert scan_release({"data.csv": harmless.encode("utf-8-sig")}) == []


@pytest.mark.integration
def test_release_with_an_identifier_is_blocked_and_not_uploaded(
    scratch: Settings, pg: psycopg.Connection, open_bucket: str
) -> None:
    _publish_base(pg, scratch, DATE)
    # A corrupted reference value carries a resident ID into a county name.
    pg.execute(f"update {REFERENCE}.divisions set name = name || %s where code = '520102'", (VALID_ID,))

    with pytest.raises(LeakDetected, match="resident_id"):
        _release(scratch, DATE)

    client = s3_client(scratch)
    assert list(client.list_objects("open", prefix=f"{OPEN_PREFIX}/", recursive=True)) == []
    status, details = pg.execute(
        "select status, details from platform.publications where logical_date = %s and target = %s",
        (DATE, f"s3://open/{OPEN_PREFIX}/{DATE.isoformat()}/"),
    ).fetchone()
    assert status == "blocked" and VALID_ID not in json.dumps(details)
