"""Department database (公安厅 style): COPY extract landed as CSV, incremental by watermark, re-runnable."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from demo_province.systems import department_systems
from govlake.ingest import ingest
from govlake.ingest.landing import list_keys, read_json
from govlake.lake import s3_client
from govlake.settings import Settings
from govlake.warehouse import connect

from .conftest import DEPT, SCRATCH_SCHEMA

pytestmark = pytest.mark.integration
KEY = f"{DEPT}__household_registration"
TABLE = f"{SCRATCH_SCHEMA}.household_registration"


def _person(i: int, updated: str, **overrides: object) -> dict:
    row = {
        "gmsfhm": f"52010219900101{i:04d}",
        "xm": f"李{i}",
        "xb": "男",
        "mz": "汉族",
        "csrq": "1990-01-01",
        "hjdqh": "520102",
        "zz": "贵阳市南明区",
        "hh": f"H{i}",
        "yhzgx": "户主",
        "rkzt": "正常",
        "swrq": None,
        "gxsj": updated,
        "bz": "extra column",
    }
    return {**row, **overrides}


@pytest.fixture
def source_table(settings: Settings, registry_dir: Path) -> psycopg.Connection:
    conn = psycopg.connect(department_systems(settings).database_url(settings), autocommit=True)
    conn.execute(f"create schema if not exists {SCRATCH_SCHEMA}")
    conn.execute(f"drop table if exists {TABLE}")
    conn.execute(
        f"create table {TABLE} (gmsfhm text primary key, xm text, xb text, mz text, csrq date, hjdqh text, "
        "zz text, hh text, yhzgx text, rkzt text, swrq date, gxsj timestamptz, bz text)"
    )
    yield conn
    conn.execute(f"drop table if exists {TABLE}")
    conn.close()


def _insert(conn: psycopg.Connection, rows: list[dict]) -> None:
    columns = list(rows[0])
    with conn.cursor() as cur:
        cur.executemany(
            f"insert into {TABLE} ({', '.join(columns)}) values ({', '.join('%s' for _ in columns)}) "
            "on conflict (gmsfhm) do update set gxsj = excluded.gxsj, xm = excluded.xm",
            [[r[c] for c in columns] for r in rows],
        )


def _raw(settings: Settings, day: str) -> list[tuple]:
    with connect(settings) as conn:
        return conn.execute(
            f"select resident_id, name, birth_date::text, updated_at, _source_row, _source_file from raw.{KEY} "
            "where _logical_date = %s order by _source_row",
            (day,),
        ).fetchall()


def test_incremental_extract_by_watermark_and_identical_rerun(
    settings: Settings, registry_dir: Path, source_table: psycopg.Connection
) -> None:
    _insert(
        source_table,
        [
            _person(1, "1998-12-31 10:00:00+08"),
            _person(2, "1999-01-01 23:59:59+08"),
            _person(3, "1999-01-02 00:00:00+08"),  # belongs to the next logical date
            _person(4, "1999-01-01 08:00:00+08", csrq=None),  # required birth date missing -> quarantine
        ],
    )
    first = ingest(KEY, "1999-01-01", settings=settings, registry_dir=registry_dir)
    assert (first["rows_extracted"], first["rows_loaded"], first["rows_rejected"]) == (3, 2, 1)
    raw_first = _raw(settings, "1999-01-01")
    assert [(r[0], r[4]) for r in raw_first] == [("520102199001010001", 2), ("520102199001010002", 4)]
    landed = f"s3://landing/{DEPT}/household_registration/1999-01-01/household_registration_19990101.csv"
    assert raw_first[0][5] == landed

    second = ingest(KEY, "1999-01-02", settings=settings, registry_dir=registry_dir)
    assert second["rows_loaded"] == 1
    assert [r[0] for r in _raw(settings, "1999-01-02")] == ["520102199001010003"]
    manifest = read_json(
        s3_client(settings), f"s3://raw/{DEPT}/household_registration/1999-01-02/_manifest.json"
    )
    assert manifest["watermark"]["low"] == "1999-01-01T23:59:59+08:00"
    assert manifest["watermark"]["column"] == "gxsj" and manifest["extra_columns_seen"] == ["bz"]

    # New source rows after D do not leak into a re-run of D: it reuses its stored low mark.
    _insert(source_table, [_person(5, "1999-01-02 09:00:00+08")])
    rerun = ingest(KEY, "1999-01-01", settings=settings, registry_dir=registry_dir)
    assert (rerun["rows_extracted"], rerun["rows_loaded"], rerun["rows_rejected"]) == (3, 2, 1)
    assert [r[:5] for r in _raw(settings, "1999-01-01")] == [r[:5] for r in raw_first]
    assert list_keys(s3_client(settings), "landing", f"{DEPT}/household_registration/1999-01-01/") == [
        f"{DEPT}/household_registration/1999-01-01/household_registration_19990101.csv"
    ]
    with connect(settings) as conn:
        counts = conn.execute(
            "select count(*), sum(rows_loaded) from platform.batches where department = %s and "
            "dataset = 'household_registration'",
            (DEPT,),
        ).fetchone()
        quarantined = conn.execute(
            "select source_row, rule, column_name from platform.quarantine where batch_id = %s",
            (f"{KEY}__1999-01-01",),
        ).fetchall()
    assert counts == (2, 3)
    assert quarantined == [(3, "required", "birth_date")]


def _tombstones(settings: Settings, day: str) -> list[tuple]:
    with connect(settings) as conn:
        conn.execute("set timezone to 'Asia/Shanghai'")
        return conn.execute(
            f"select resident_id, name, updated_at::text, _source_file, _source_row from raw.{KEY} "
            "where _logical_date = %s and _deleted order by resident_id",
            (day,),
        ).fetchall()


def _live_keys(settings: Settings) -> list[str]:
    """Keys whose newest version is not a tombstone, ranked as int_persons_versioned ranks them."""
    with connect(settings) as conn:
        rows = conn.execute(
            f"select resident_id from (select distinct on (resident_id) resident_id, _deleted from raw.{KEY} "
            "order by resident_id, updated_at desc nulls last, _logical_date desc, _source_row desc) newest "
            "where not _deleted order by 1"
        ).fetchall()
    return [r[0] for r in rows]


def test_rows_deleted_outright_arrive_as_tombstones(
    settings: Settings, registry_dir: Path, source_table: psycopg.Connection
) -> None:
    _insert(source_table, [_person(i, "1999-01-01 10:00:00+08") for i in (1, 2, 3)])
    first = ingest(KEY, "1999-01-01", settings=settings, registry_dir=registry_dir)
    assert first["rows_loaded"] == 3 and _tombstones(settings, "1999-01-01") == []

    source_table.execute(f"delete from {TABLE} where gmsfhm = '520102199001010002'")
    _insert(source_table, [_person(4, "1999-01-02 09:00:00+08")])
    second = ingest(KEY, "1999-01-02", settings=settings, registry_dir=registry_dir)
    deleted_csv = (
        f"s3://landing/{DEPT}/household_registration/1999-01-02/household_registration_19990102_deleted.csv"
    )
    assert _tombstones(settings, "1999-01-02") == [
        ("520102199001010002", None, "1999-01-02 23:59:59.999999+08", deleted_csv, 2)
    ]
    assert second["rows_loaded"] == 2 and second["tombstones"] == 1
    manifest = read_json(
        s3_client(settings), f"s3://raw/{DEPT}/household_registration/1999-01-02/_manifest.json"
    )
    assert manifest["details"]["hard_deletes"] == {"source_keys": 3, "tombstones": 1}
    assert manifest["watermark"]["max_seen"] == "1999-01-02T09:00:00+08:00"  # the stamp is not a watermark
    assert _live_keys(settings) == ["520102199001010001", "520102199001010003", "520102199001010004"]

    # A re-run of the date lands the same tombstones; the next date does not repeat them.
    ingest(KEY, "1999-01-02", settings=settings, registry_dir=registry_dir)
    assert len(_tombstones(settings, "1999-01-02")) == 1
    third = ingest(KEY, "1999-01-03", settings=settings, registry_dir=registry_dir)
    assert third["tombstones"] == 0 and _tombstones(settings, "1999-01-03") == []
    assert list_keys(s3_client(settings), "landing", f"{DEPT}/household_registration/1999-01-03/") == [
        f"{DEPT}/household_registration/1999-01-03/household_registration_19990103.csv"
    ]

    # Deleted and then re-created with a new update time: the key is live again.
    _insert(source_table, [_person(2, "1999-01-04 08:00:00+08")])
    ingest(KEY, "1999-01-04", settings=settings, registry_dir=registry_dir)
    assert "520102199001010002" in _live_keys(settings)
