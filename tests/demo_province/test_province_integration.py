"""The province written into the running stack (PostgreSQL + S3) and served by the real department API process.

Needs ``govlake stack up``. Generates the tiny province for seed 42 on 2024-06-01 (the same sources the
default ``govlake generate --scale tiny --date 2024-06-01`` writes), so other engineers' data is not
disturbed by unusual seeds.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import date

import pytest

from demo_province.generator import ProvinceReport, generate_province
from demo_province.systems import department_systems
from demo_province.tables import (
    ALL_DATASETS,
    DIBAO,
    ENROLLMENT,
    ENTITIES,
    HOUSEHOLD,
    INDICATORS,
    NEW_DATASETS,
    PAYMENTS,
)
from demo_province.writers import DEPARTMENT_TABLES
from govlake.lake import s3_client
from govlake.registry import get_dataset
from govlake.settings import PROJECT_DIR, get_settings
from govlake.warehouse import connect

pytestmark = pytest.mark.integration

DAY = date(2024, 6, 1)
SEED = 42


def _table_digest(table: str, order: str) -> tuple[int, str]:
    with connect(get_settings(), database=department_systems(get_settings()).database) as conn:
        conn.execute("set timezone = 'UTC'")
        row = conn.execute(
            f"select count(*), md5(coalesce(string_agg(t::text, E'\\n' order by {order}), '')) from {table} t"
        ).fetchone()
    return int(row[0]), row[1]


def _object(key: str) -> bytes:
    response = s3_client(get_settings()).get_object("landing", key)
    try:
        return response.read()
    finally:
        response.close()
        response.release_conn()


@pytest.fixture(scope="module")
def report() -> ProvinceReport:
    return generate_province(get_settings(), "tiny", SEED, DAY)


def test_household_registration_is_in_the_department_database(report: ProvinceReport) -> None:
    with connect(get_settings(), database=department_systems(get_settings()).database) as conn:
        count = conn.execute("select count(*) from public_security.household_registration").fetchone()[0]
        columns = [
            r[0]
            for r in conn.execute(
                "select column_name from information_schema.columns where table_schema = 'public_security' "
                "and table_name = 'household_registration' order by ordinal_position"
            )
        ]
        gxsj_type = conn.execute(
            "select pg_typeof(gxsj)::text from public_security.household_registration limit 1"
        ).fetchone()[0]
        latest = conn.execute(
            "select max(gxsj) <= %s::date + interval '1 day' from public_security.household_registration",
            [DAY],
        ).fetchone()[0]
    assert count == report.counts[HOUSEHOLD]
    assert columns == [c.source_name for c in get_dataset(HOUSEHOLD).columns]
    assert gxsj_type == "timestamp with time zone" and latest


def test_entity_csv_is_gbk_with_registry_headers(report: ProvinceReport) -> None:
    key = report.locations[ENTITIES].removeprefix("s3://landing/")
    assert key == "market_regulation/market_entities/2024-06-01/market_entities_20240601.csv"
    text = _object(key).decode("gbk")
    with pytest.raises(UnicodeDecodeError):
        _object(key).decode("utf-8")  # really GBK, not UTF-8 that happens to decode
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == [c.source_name for c in get_dataset(ENTITIES).columns]
    assert len(rows) - 1 == report.counts[ENTITIES]


def test_enrollment_table_and_defects_manifest(report: ProvinceReport) -> None:
    count, _ = _table_digest("human_resources.enrollment", "id")
    assert count == report.counts[ENROLLMENT]
    document = json.loads(_object(report.defects_uri.removeprefix("s3://landing/")).decode("utf-8"))
    assert document == json.loads(json.dumps(report.defects_document(), ensure_ascii=False))
    for dataset, kinds in document["manifest"].items():
        assert sum(kinds.values()) == len(document["defects"][dataset])


@pytest.mark.parametrize("dataset", [DIBAO, PAYMENTS, INDICATORS])
def test_new_department_tables_hold_the_registry_columns(report: ProvinceReport, dataset: str) -> None:
    schema, table = DEPARTMENT_TABLES[dataset].split(".")
    with connect(get_settings(), database=department_systems(get_settings()).database) as conn:
        columns = [
            r[0]
            for r in conn.execute(
                "select column_name from information_schema.columns where table_schema = %s "
                "and table_name = %s order by ordinal_position",
                (schema, table),
            )
        ]
        count = conn.execute(f"select count(*) from {schema}.{table}").fetchone()[0]
    assert columns == [c.source_name for c in get_dataset(dataset).columns]
    assert count == report.counts[dataset] > 0


def test_every_new_source_is_where_the_report_says(report: ProvinceReport) -> None:
    assert set(report.locations) == set(ALL_DATASETS)
    for dataset in NEW_DATASETS:
        where = report.locations[dataset]
        if where.startswith("s3://landing/"):
            assert len(_object(where.removeprefix("s3://landing/"))) > 1000, dataset
        else:
            assert where.endswith(DEPARTMENT_TABLES[dataset])
    document = json.loads(_object(report.defects_uri.removeprefix("s3://landing/")).decode("utf-8"))
    assert set(document["manifest"]) == set(ALL_DATASETS)
    assert set(document["findings"]) == {DIBAO, PAYMENTS}


def _fingerprint(report: ProvinceReport) -> dict[str, object]:
    """A digest of every source the report names: table contents, or the landed file's bytes."""
    out: dict[str, object] = {}
    for dataset, where in report.locations.items():
        if where.startswith("s3://landing/"):
            out[dataset] = hashlib.sha256(_object(where.removeprefix("s3://landing/"))).hexdigest()
        else:
            out[dataset] = _table_digest(DEPARTMENT_TABLES[dataset], "t::text")
    return out


def test_regeneration_is_byte_identical(report: ProvinceReport) -> None:
    before = _fingerprint(report)
    again = generate_province(get_settings(), "tiny", SEED, DAY)
    assert _fingerprint(again) == before
    assert set(before) == set(ALL_DATASETS)
    assert again.defects == report.defects and again.findings == report.findings


def test_a_province_with_more_defects_than_memory_holds_streams_them_all(report, monkeypatch) -> None:
    from demo_province import generator

    key = report.defects_uri.removeprefix("s3://landing/")
    monkeypatch.setattr(generator, "DEFECTS_IN_MEMORY", 0)  # as the province's ~2 million would
    again = generate_province(get_settings(), "tiny", SEED, DAY)
    assert again.defects == {} and again.manifest == report.manifest
    document = json.loads(_object(key).decode("utf-8"))
    assert document["defects"] == report.defects  # every one, from the spill files
    assert document == json.loads(json.dumps(report.defects_document(), ensure_ascii=False))


# -- the 人社厅 API as a real subprocess -------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read().decode("utf-8"))


@pytest.fixture(scope="module")
def api(report: ProvinceReport):
    port = _free_port()
    token = "test-token-" + str(port)
    env = {**os.environ, "GOVLAKE_DEPARTMENT_API_PORT": str(port), "GOVLAKE_DEPARTMENT_API_TOKEN": token}
    proc = subprocess.Popen(
        [sys.executable, "-m", "demo_province.department_api"],
        env=env,
        cwd=PROJECT_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if _get(f"{base}/healthz")[0] == 200:
                break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(
                f"department API did not start: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
        time.sleep(0.1)
    yield base, token, proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_api_requires_the_bearer_token(api) -> None:
    base, token, _ = api
    assert _get(f"{base}/healthz") == (200, {"status": "ok"})
    status, body = _get(f"{base}/api/v1/enrollments?page=1&page_size=10")
    assert status == 401 and "token" in body["message"]
    assert _get(f"{base}/api/v1/enrollments?page=1&page_size=10", token="wrong")[0] == 401
    assert _get(f"{base}/api/v1/enrollments?page=1&page_size=5001", token=token)[0] == 400
    assert _get(f"{base}/api/v1/enrollments?updated_since=yesterday", token=token)[0] == 400


def test_api_pages_cover_the_table_in_id_order(api, report: ProvinceReport) -> None:
    base, token, _ = api
    status, first = _get(f"{base}/api/v1/enrollments?page=1&page_size=100", token=token)
    assert status == 200
    assert first["total"] == report.counts[ENROLLMENT] and first["pages"] == -(-first["total"] // 100)
    seen = []
    for page in range(1, first["pages"] + 1):
        status, body = _get(f"{base}/api/v1/enrollments?page={page}&page_size=100", token=token)
        assert status == 200 and body["page"] == page and body["total"] == first["total"]
        seen += body["data"]
    assert len(seen) == first["total"]
    assert [r["id"] for r in seen] == sorted(r["id"] for r in seen)
    row = seen[0]
    assert list(row) == [c.source_name for c in get_dataset(ENROLLMENT).columns]
    assert len(row["aac006"]) == 10 and row["aae036"].endswith("+08:00")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in row["aac003"])  # UTF-8 Chinese, not \\u escapes
    # keyset paging returns the same rows
    status, keyset = _get(
        f"{base}/api/v1/enrollments?page=2&page_size=100&after_id={seen[99]['id']}", token=token
    )
    assert [r["id"] for r in keyset["data"]] == [r["id"] for r in seen[100:200]]


def test_api_updated_since_filters_by_watermark(api) -> None:
    base, token, _ = api
    since = "2024-05-01T00:00:00+08:00"
    with connect(get_settings(), database=department_systems(get_settings()).database) as conn:
        expected = conn.execute(
            "select count(*) from human_resources.enrollment where aae036 >= %s", [since]
        ).fetchone()[0]
    status, body = _get(
        f"{base}/api/v1/enrollments?page=1&page_size=5000&updated_since=2024-05-01T00:00:00%2B08:00",
        token=token,
    )
    assert status == 200 and body["total"] == expected == len(body["data"])
    assert all(r["aae036"] >= "2024-05-01" for r in body["data"])


def test_indicator_api_requires_the_token_and_pages_in_id_order(api, report: ProvinceReport) -> None:
    base, token, _ = api
    assert _get(f"{base}/api/v1/indicators?page=1&page_size=10")[0] == 401
    assert _get(f"{base}/api/v1/indicators?page=1&page_size=10", token="wrong")[0] == 401
    status, first = _get(f"{base}/api/v1/indicators?page=1&page_size=2000", token=token)
    assert status == 200 and first["total"] == report.counts[INDICATORS]
    seen = list(first["data"])
    for page in range(2, first["pages"] + 1):
        status, body = _get(f"{base}/api/v1/indicators?page={page}&page_size=2000", token=token)
        assert status == 200 and body["page"] == page
        seen += body["data"]
    assert len(seen) == first["total"]
    assert [r["id"] for r in seen] == sorted(r["id"] for r in seen)
    assert list(seen[0]) == [c.source_name for c in get_dataset(INDICATORS).columns]
    assert all(isinstance(r["sz"], float) for r in seen if r["sz"] is not None)
    assert any(r["sz"] is None for r in seen)  # the injected missing values travel as JSON null
    assert seen[0]["gxsj"].endswith("+08:00")


def test_indicator_api_updated_since_filters_by_gxsj(api) -> None:
    base, token, _ = api
    with connect(get_settings(), database=department_systems(get_settings()).database) as conn:
        expected = conn.execute(
            "select count(*) from statistics.macro_indicators where gxsj >= '2024-03-01T00:00:00+08:00'"
        ).fetchone()[0]
    status, body = _get(
        f"{base}/api/v1/indicators?page=1&page_size=5000&updated_since=2024-03-01T00:00:00%2B08:00",
        token=token,
    )
    assert status == 200 and 0 < body["total"] == expected == len(body["data"])
    assert all(r["gxsj"] >= "2024-03-01" for r in body["data"])


def test_api_stops_cleanly_on_sigterm(api) -> None:
    _, _, proc = api
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
