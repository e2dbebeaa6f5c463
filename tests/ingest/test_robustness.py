"""Real-world deliveries: duplicates and corrections, schema drift, bad bytes, soft deletes, throttled APIs,
late files — each against the real PostgreSQL and S3 of the stack."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from demo_province.systems import department_systems
from govlake.ingest import IngestError, ingest
from govlake.ingest.errors import SchemaDrift, UnreadableInput
from govlake.ingest.landing import list_keys, read_json
from govlake.lake import s3_client
from govlake.settings import Settings
from govlake.warehouse import connect

from .conftest import DEPT, SCRATCH_SCHEMA, EnrollmentApi, land_csv

pytestmark = pytest.mark.integration
PV = f"{DEPT}__passenger_volumes"
HEADER = ["行政区划代码", "统计期", "客运量", "备注"]


def _csv(
    rows: list[list[str]], header: list[str] = HEADER, sep: str = ",", encoding: str = "gb18030"
) -> bytes:
    def quote(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in f'{sep}"\n') else v

    lines = [sep.join(quote(v) for v in r) for r in [header, *rows]]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def _pv_rows(day: str) -> list[tuple]:
    with connect_settings() as conn:
        return conn.execute(
            f"select division_code, period, passengers, note, _source_row from raw.{PV} where _logical_date = %s "
            "order by _source_row",
            (day,),
        ).fetchall()


_SETTINGS: list[Settings] = []


def connect_settings() -> psycopg.Connection:
    return connect(_SETTINGS[0])


@pytest.fixture(autouse=True)
def _remember(settings: Settings) -> None:
    _SETTINGS[:] = [settings]


def _files(day: str) -> list[tuple]:
    with connect_settings() as conn:
        return conn.execute(
            "select file_key, status, duplicate_of is not null, duplicate_deliveries, version_uri is not null "
            "from platform.delivered_files where department = %s and dataset = 'passenger_volumes' "
            "and logical_date = %s order by seen_at, file_key",
            (DEPT, day),
        ).fetchall()


# -- file drops: duplicates and corrections ---------------------------------------------------------------


def test_semicolon_gb18030_detected_and_a_duplicate_delivery_is_ingested_once(
    settings: Settings, registry_dir: Path
) -> None:
    day = "1999-05-01"
    data = _csv([["520102", "1999-04", "1200", "含;分号"], ["520103", "1999-04", "980", ""]], sep=";")
    land_csv(settings, day, "pv.csv", data, "passenger_volumes")
    first = ingest(PV, day, settings=settings, registry_dir=registry_dir)
    assert first["rows_loaded"] == 2 and not first.get("duplicate_delivery")
    assert _pv_rows(day) == [("520102", "1999-04", 1200, "含;分号", 2), ("520103", "1999-04", 980, None, 3)]
    with connect_settings() as conn:
        ingested_at = conn.execute(f"select max(_ingested_at) from raw.{PV}").fetchone()[0]

    # The department uploads the very same bytes again (same key), and once more under another name.
    time.sleep(1.1)  # S3 last-modified has whole seconds: a re-upload must be visibly later
    land_csv(settings, day, "pv.csv", data, "passenger_volumes")
    land_csv(settings, day, "pv-copy.csv", data, "passenger_volumes")
    second = ingest(PV, day, settings=settings, registry_dir=registry_dir)
    assert second["duplicate_delivery"] is True and second["rows_loaded"] == 2
    with connect_settings() as conn:
        assert (
            conn.execute(f"select max(_ingested_at) from raw.{PV}").fetchone()[0] == ingested_at
        )  # not re-loaded
        manifest = conn.execute(
            "select manifest from platform.batches where batch_id = %s", (f"{PV}__{day}",)
        ).fetchone()[0]
    assert manifest["details"]["encodings"] == {"pv.csv": "gb18030"} and manifest["details"][
        "delimiters"
    ] == {"pv.csv": ";"}
    files = {f[0].rsplit("/", 1)[1]: f[1:] for f in _files(day)}
    assert files["pv.csv"][0] == "ingested" and files["pv.csv"][2] == 1  # one duplicate re-upload recorded
    assert files["pv-copy.csv"][:2] == ("duplicate", True)


def test_a_corrected_redelivery_replaces_the_date_and_the_earlier_version_is_kept(
    settings: Settings, registry_dir: Path
) -> None:
    day = "1999-05-02"
    land_csv(settings, day, "pv.csv", _csv([["520102", "1999-04", "1200", ""]]), "passenger_volumes")
    ingest(PV, day, settings=settings, registry_dir=registry_dir)
    corrected = _csv([["520102", "1999-04", "1250", "更正"], ["520111", "1999-04", "300", ""]])
    land_csv(settings, day, "pv.csv", corrected, "passenger_volumes")  # overwrites the department's key
    result = ingest(PV, day, settings=settings, registry_dir=registry_dir)
    assert result["rows_loaded"] == 2 and not result.get("duplicate_delivery")
    assert [r[:3] for r in _pv_rows(day)] == [("520102", "1999-04", 1250), ("520111", "1999-04", 300)]
    assert [f[1] for f in _files(day)] == ["superseded", "ingested"]
    versions = list_keys(s3_client(settings), "landing", f"{DEPT}/passenger_volumes/{day}/_versions/")
    assert len(versions) == 2  # both versions kept, the first one readable after the overwrite


# -- schema drift and unreadable input ---------------------------------------------------------------------


def _batch_state(day: str, dataset: str = "passenger_volumes") -> tuple:
    with connect_settings() as conn:
        batch = conn.execute(
            "select status, rows_loaded from platform.batches where batch_id = %s",
            (f"{DEPT}__{dataset}__{day}",),
        ).fetchone()
        raw = conn.execute(
            f"select count(*) from raw.{DEPT}__{dataset} where _logical_date = %s", (day,)
        ).fetchone()
        records = conn.execute(
            "select rule, column_name, source_file from platform.quarantine where batch_id = %s and stage = 'ingest'",
            (f"{DEPT}__{dataset}__{day}",),
        ).fetchall()
    return batch, raw[0], records


def test_a_renamed_column_quarantines_the_batch_naming_column_and_file(
    settings: Settings, registry_dir: Path
) -> None:
    day = "1999-05-03"
    renamed = ["行政区划代码", "统计期", "旅客量", "备注"]
    uri = land_csv(
        settings, day, "pv.csv", _csv([["520102", "1999-04", "1", ""]], renamed), "passenger_volumes"
    )
    with pytest.raises(SchemaDrift, match=r"pv.csv.*客运量 \(passengers\).*missing.*旅客量 — renamed\?"):
        ingest(PV, day, settings=settings, registry_dir=registry_dir)
    batch, raw, records = _batch_state(day)
    assert batch == ("failed", 0) and raw == 0
    assert records == [("schema_drift", "passengers", uri)]
    prefix = f"{DEPT}/passenger_volumes/{day}/"
    reason = read_json(s3_client(settings), f"s3://quarantine/{prefix}pv.csv.reason.json")
    assert reason["column"] == "passengers" and reason["source_file"] == uri


def test_a_retyped_column_quarantines_the_batch(settings: Settings, registry_dir: Path) -> None:
    day = "1999-05-04"
    rows = [["520102", "1999-04", f"{n}万人次", ""] for n in range(5)]
    land_csv(settings, day, "pv.csv", _csv(rows), "passenger_volumes")
    with pytest.raises(SchemaDrift, match=r"客运量.*declared integer, but 5 of 5 values"):
        ingest(PV, day, settings=settings, registry_dir=registry_dir)
    assert _batch_state(day)[2][0][:2] == ("schema_drift", "passengers")


def test_a_bad_redelivery_leaves_the_earlier_good_load_and_batch_consistent(
    settings: Settings, registry_dir: Path
) -> None:
    day = "1999-05-05"
    land_csv(settings, day, "pv.csv", _csv([["520102", "1999-04", "7", ""]]), "passenger_volumes")
    ingest(PV, day, settings=settings, registry_dir=registry_dir)
    bad = _csv([["520102", "1999-04", "8", ""]], encoding="utf-8") + "520103,1999-04,9,遵义\r\n".encode("gbk")
    land_csv(settings, day, "pv.csv", bad, "passenger_volumes")
    with pytest.raises(UnreadableInput, match=r"pv.csv 第 3 行.*not valid UTF-8"):
        ingest(PV, day, settings=settings, registry_dir=registry_dir)
    batch, raw, records = _batch_state(day)
    assert batch == ("failed", 1) and raw == 1  # the good load stays, and the batch row still says 1 row
    assert [r[0] for r in records] == ["encoding"]


def test_an_empty_file_and_a_missing_delivery(settings: Settings, registry_dir: Path) -> None:
    land_csv(settings, "1999-05-06", "pv.csv", b"", "passenger_volumes")
    with pytest.raises(UnreadableInput, match="pv.csv: the file is empty"):
        ingest(PV, "1999-05-06", settings=settings, registry_dir=registry_dir)
    with pytest.raises(IngestError, match="no CSV file .*recorded as missing"):
        ingest(PV, "1999-05-07", settings=settings, registry_dir=registry_dir)
    with connect_settings() as conn:
        status = conn.execute(
            "select status, delivered_at from platform.deliveries where department = %s and logical_date = '1999-05-07'",
            (DEPT,),
        ).fetchone()
    assert status == ("missing", None)


# -- timeliness, notified on a real webhook ----------------------------------------------------------------


@pytest.fixture
def webhook(webhook_listener) -> Iterator[tuple[str, list[dict]]]:
    with webhook_listener("/robot/send") as hook:
        yield hook


def test_a_late_file_is_recorded_and_notified_once(
    settings: Settings, registry_dir: Path, webhook: tuple[str, list[dict]]
) -> None:
    url, received = webhook
    day = "1999-05-08"  # delivered today: decades after the end of the day it covers
    land_csv(settings, day, "pv.csv", _csv([["520102", "1999-04", "1", ""]]), "passenger_volumes")
    alerting = replace(settings, alert_webhook_url=url)
    ingest(PV, day, settings=alerting, registry_dir=registry_dir)
    ingest(PV, day, settings=alerting, registry_dir=registry_dir)  # a re-run does not alert again
    with connect_settings() as conn:
        row = conn.execute(
            "select status, expected_by::text, late_by > interval '1 day', notified_status from platform.deliveries "
            "where department = %s and dataset = 'passenger_volumes' and logical_date = %s",
            (DEPT, day),
        ).fetchone()
    assert row == ("late", "1999-05-09 00:00:00+00", True, "late")  # 08:00 Beijing on the next day
    assert len(received) == 1
    alert = received[0]
    assert alert["msgtype"] == "text" and "迟交" in alert["text"]["content"]
    assert alert["govlake"]["status"] == "late" and alert["govlake"]["dataset"] == "passenger_volumes"


# -- database soft deletes ---------------------------------------------------------------------------------


@pytest.fixture
def dibao(settings: Settings, registry_dir: Path) -> Iterator[psycopg.Connection]:
    conn = psycopg.connect(department_systems(settings).database_url(settings), autocommit=True)
    conn.execute(f"create schema if not exists {SCRATCH_SCHEMA}")
    conn.execute(f"drop table if exists {SCRATCH_SCHEMA}.dibao_recipients")
    conn.execute(
        f"create table {SCRATCH_SCHEMA}.dibao_recipients (recipient_id text primary key, name text, "
        "amount numeric, updated_at timestamptz, is_deleted boolean not null default false)"
    )
    yield conn
    conn.execute(f"drop table if exists {SCRATCH_SCHEMA}.dibao_recipients")
    conn.close()


def test_soft_deletes_become_tombstones_and_the_first_run_is_full(
    settings: Settings, registry_dir: Path, dibao: psycopg.Connection
) -> None:
    key = f"{DEPT}__dibao_recipients"
    table = f"{SCRATCH_SCHEMA}.dibao_recipients"
    dibao.execute(
        f"insert into {table} values ('A1', '张三', 600, '1998-06-01 10:00+08', false), "
        "('A2', '李四', 650, '1999-06-01 09:00+08', false), ('A3', '王五', 500, '1999-06-01 10:00+08', false)"
    )
    first = ingest(key, "1999-06-01", settings=settings, registry_dir=registry_dir)
    assert first["rows_loaded"] == 3  # first run: everything up to the end of the day, however old
    # A2 is deleted (flag set, name blanked — a tombstone needs only its key); A3 changes.
    dibao.execute(
        f"update {table} set is_deleted = true, name = null, updated_at = '1999-06-02 08:00+08' where recipient_id = 'A2'"
    )
    dibao.execute(
        f"update {table} set amount = 520, updated_at = '1999-06-02 09:00+08' where recipient_id = 'A3'"
    )
    second = ingest(key, "1999-06-02", settings=settings, registry_dir=registry_dir)
    assert (second["rows_loaded"], second["rows_rejected"]) == (2, 0)
    with connect(settings) as conn:
        rows = conn.execute(
            f"select recipient_id, name, amount::int, _deleted from raw.{key} where _logical_date = '1999-06-02' "
            "order by recipient_id"
        ).fetchall()
        tombstones = conn.execute(
            "select manifest ->> 'tombstones' from platform.batches where batch_id = %s",
            (f"{key}__1999-06-02",),
        ).fetchone()[0]
    assert rows == [("A2", None, 650, True), ("A3", "王五", 520, False)]
    assert tombstones == "1"


# -- REST: keyset paging, 429 with Retry-After, client-side rate ---------------------------------------------


def test_keyset_paging_honours_retry_after_and_the_client_rate(
    settings: Settings, registry_dir: Path, api: tuple[EnrollmentApi, str]
) -> None:
    state, _ = api
    state.records = [
        {"id": i, "aac002": f"5201021990010100{i:02d}", "aae036": f"1999-07-01T0{i}:00:00+08:00"}
        for i in range(1, 6)
    ]
    state.throttle_next = {2: 1}
    state.retry_after = "1"
    state.times.clear()
    state.queries.clear()
    state.requests.clear()
    result = ingest(f"{DEPT}__indicators", "1999-07-01", settings=settings, registry_dir=registry_dir)
    assert result["rows_loaded"] == 5
    afters = [q.get("after_id") for q in state.queries]
    assert afters == [
        None,
        "2",
        "2",
        "4",
    ]  # keyset: after the last id; the throttled page asked again; 3 pages, as the first page counted
    gaps = [b - a for a, b in zip(state.times, state.times[1:], strict=False)]
    assert gaps[1] >= 0.95  # waited Retry-After (1 s), not the 0.05 s backoff
    assert min(gaps) >= 0.15  # requests_per_second: 5 -> 200 ms apart (less some arrival jitter)
