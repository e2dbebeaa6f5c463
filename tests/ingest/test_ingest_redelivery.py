"""Ingest-stage quarantine records across a corrected re-delivery of the same date (issue 5).

Rows that could not be loaded and whole-file rejections are kept as history when the department re-delivers
the date: superseded at the re-delivery's load time, resolved then if the re-delivery brings them clean (or
the file is usable now), still-wrong rows keeping when they were first reported. Re-running the same
delivery, or a failed attempt, changes nothing. Real PostgreSQL and S3 of the stack, as everywhere here.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from govlake.ingest import IngestError, ingest, land_and_normalize, load_raw
from govlake.ingest.errors import SchemaDrift
from govlake.ingest.landing import upload_json
from govlake.lake import s3_client
from govlake.publish.reconcile import reconcile
from govlake.settings import Settings
from govlake.warehouse import connect

from .conftest import DEPT, land_csv, market_csv
from .test_csv_source import HEADER, entity

pytestmark = pytest.mark.integration
KEY = f"{DEPT}__market_entities"
PV = f"{DEPT}__passenger_volumes"
PV_HEADER = ["行政区划代码", "统计期", "客运量", "备注"]
BACKDATE = timedelta(days=3)  # as if the first report had gone out three days before the re-delivery


def _code(i: int) -> str:
    return f"91520100MA{i:08d}"


def _row(day: str, i: int, **overrides: str) -> dict:
    """A clean row, with the date in its address: the same bytes on two dates would be a duplicate file."""
    return entity(i, 住所=f"贵阳市南明区 {day}", **overrides)


def _clean(day: str) -> list[dict]:
    return [_row(day, i) for i in range(1, 7)]


def _first_delivery(day: str) -> list[dict]:
    """Six rows: row 2 (file line 3) has an impossible date, row 3 no name, row 4 two bad values."""
    rows = _clean(day)
    rows[1] = _row(day, 2, 成立日期="2026-13-45")
    rows[2] = _row(day, 3, 企业名称="")
    rows[3] = _row(day, 4, 成立日期="昨天", 注册资本万元="一百万")
    return rows


def _deliver(settings: Settings, day: str, rows: list[dict], name: str = "me.csv") -> None:
    time.sleep(1.1)  # S3 last-modified has whole seconds: a re-upload must be visibly later
    land_csv(settings, day, name, market_csv(rows, HEADER))


def _records(settings: Settings, day: str, dataset: str = "market_entities") -> list[dict]:
    """Every ingest-stage record of the date (current and history), in the order they were written."""
    with connect(settings) as conn:
        cur = conn.execute(
            "select quarantine_id, coalesce(record->>'统一社会信用代码', record->>'行政区划代码') as code,"
            " source_file, source_row, rule, column_name, message, record, detected_at, first_detected_at,"
            " batch_ingested_at, superseded_at, resolved_at, resolved_by_batch, resolution_key,"
            " record->>'batch_level' = 'true' as whole_file"
            " from platform.quarantine where department = %s and dataset = %s and logical_date = %s"
            " and stage = 'ingest' order by quarantine_id",
            (DEPT, dataset, day),
        )
        names = [c.name for c in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]


def _current(records: list[dict]) -> list[dict]:
    return [r for r in records if r["superseded_at"] is None]


def _state(records: list[dict]) -> dict[str, int]:
    return {
        "open": sum(1 for r in records if r["superseded_at"] is None and r["resolved_at"] is None),
        "resolved": sum(1 for r in records if r["resolved_at"] is not None),
        "superseded": sum(1 for r in records if r["superseded_at"] is not None),
        "total": len(records),
    }


def _without_ids(records: list[dict]) -> list[dict]:
    """What a re-run must keep: everything but the serial id and the ingest stamp of the re-normalisation."""
    keep = ("quarantine_id", "batch_ingested_at")
    return sorted(
        ({k: v for k, v in r.items() if k not in keep} for r in records),
        key=lambda r: (r["source_row"] or 0, r["rule"], r["column_name"] or ""),
    )


def _loaded_at(settings: Settings, batch_id: str) -> object:
    with connect(settings) as conn:
        return conn.execute(
            "select finished_at from platform.batches where batch_id = %s and status = 'loaded'", (batch_id,)
        ).fetchone()[0]


def _backdate(settings: Settings, day: str) -> None:
    with connect(settings, autocommit=True) as conn:
        conn.execute(
            "update platform.quarantine set detected_at = detected_at - %s,"
            " first_detected_at = first_detected_at - %s"
            " where department = %s and logical_date = %s and stage = 'ingest'",
            (BACKDATE, BACKDATE, DEPT, day),
        )


def _ledger(settings: Settings, day: str, batch_id: str) -> tuple[int, int, int, bool]:
    (rec,) = [r for r in reconcile(day, published=True, settings=settings) if r.batch_id == batch_id]
    return rec.rows_in, rec.rows_published, rec.rows_quarantined, rec.balanced


def test_a_corrected_redelivery_supersedes_and_resolves_ingest_records_timed_from_the_first_report(
    settings: Settings, registry_dir: Path
) -> None:
    day = "1999-08-01"
    batch = f"{KEY}__{day}"
    _deliver(settings, day, _first_delivery(day))
    first = ingest(KEY, day, settings=settings, registry_dir=registry_dir)
    assert (first["rows_loaded"], first["rows_rejected"], first["quarantine_superseded"]) == (3, 3, 0)
    records = _records(settings, day)
    assert sorted((r["code"], r["rule"], r["column_name"]) for r in records) == [
        (_code(2), "type", "established_date"),
        (_code(3), "required", "entity_name"),
        (_code(4), "type", "established_date"),
        (_code(4), "type", "registered_capital"),
    ]
    assert _state(records) == {"open": 4, "resolved": 0, "superseded": 0, "total": 4}
    assert all(r["first_detected_at"] == r["detected_at"] and r["batch_ingested_at"] for r in records)
    assert _ledger(settings, day, batch) == (6, 3, 3, True)
    _backdate(settings, day)
    reported = {(r["code"], r["column_name"]): r["first_detected_at"] for r in _records(settings, day)}

    # Second try: rows 2 and 3 fixed, row 4's capital fixed but its date still wrong, row 6 newly wrong.
    second_rows = _first_delivery(day)
    second_rows[1] = _row(day, 2)
    second_rows[2] = _row(day, 3)
    second_rows[3] = _row(day, 4, 成立日期="昨天")
    second_rows[5] = _row(day, 6, 注册资本万元="很多")
    _deliver(settings, day, second_rows)
    second = ingest(KEY, day, settings=settings, registry_dir=registry_dir)
    assert not second.get("duplicate_delivery") and not second["quarantine_rerun"]
    assert (second["quarantine_superseded"], second["quarantine_resolved"]) == (4, 2)
    loaded = _loaded_at(settings, batch)
    records = _records(settings, day)
    assert _state(records) == {"open": 2, "resolved": 2, "superseded": 4, "total": 6}
    history = [r for r in records if r["superseded_at"] is not None]
    assert all(r["superseded_at"] == loaded for r in history)
    resolved = {r["code"]: r for r in history if r["resolved_at"] is not None}
    assert set(resolved) == {_code(2), _code(3)}
    for code, r in resolved.items():  # time-to-correct = re-delivery's load time − first report
        assert (r["resolved_at"], r["resolved_by_batch"], r["resolution_key"]) == (loaded, batch, code)
        assert r["resolved_at"] - r["first_detected_at"] == loaded - reported[(code, r["column_name"])]
        assert r["resolved_at"] - r["first_detected_at"] > BACKDATE
    current = {r["code"]: r for r in _current(records)}
    assert set(current) == {_code(4), _code(6)}
    # still wrong: keeps the key's first report (the earlier of its two defects); newly wrong: detected now
    assert current[_code(4)]["first_detected_at"] == min(
        reported[(_code(4), "established_date")], reported[(_code(4), "registered_capital")]
    )
    assert current[_code(4)]["detected_at"] == loaded > current[_code(4)]["first_detected_at"]
    assert current[_code(6)]["first_detected_at"] == current[_code(6)]["detected_at"] == loaded
    assert _ledger(settings, day, batch) == (6, 4, 2, True)  # the re-delivery's rows, history left out

    # Third try: everything fixed. Row 4 is resolved, measured from its first report three days back.
    _deliver(settings, day, _clean(day))
    third = ingest(KEY, day, settings=settings, registry_dir=registry_dir)
    assert (third["quarantine_superseded"], third["quarantine_resolved"]) == (2, 2)
    final = _loaded_at(settings, batch)
    records = _records(settings, day)
    assert _state(records) == {"open": 0, "resolved": 4, "superseded": 6, "total": 6}
    late = {r["code"]: r for r in records if r["resolved_at"] == final}
    assert set(late) == {_code(4), _code(6)}
    assert late[_code(4)]["resolved_at"] - late[_code(4)]["first_detected_at"] > BACKDATE
    assert late[_code(6)]["resolved_at"] - late[_code(6)]["first_detected_at"] == final - loaded
    assert _ledger(settings, day, batch) == (6, 6, 0, True)


def test_rerunning_the_same_delivery_keeps_the_same_records(settings: Settings, registry_dir: Path) -> None:
    day = "1999-08-02"
    _deliver(settings, day, _first_delivery(day))
    manifest = land_and_normalize(KEY, day, settings=settings, registry_dir=registry_dir)
    load_raw(KEY, day, manifest, settings=settings, registry_dir=registry_dir)
    _backdate(settings, day)
    before = _records(settings, day)
    assert _state(before) == {"open": 4, "resolved": 0, "superseded": 0, "total": 4}

    # the load task re-run with the same manifest: the same delivery — no duplicates, nothing superseded
    again = load_raw(KEY, day, manifest, settings=settings, registry_dir=registry_dir)
    assert again["quarantine_rerun"]
    assert (again["quarantine_superseded"], again["quarantine_resolved"]) == (0, 0)
    assert _without_ids(_records(settings, day)) == _without_ids(before)

    # the DAG re-run on the same file: a duplicate delivery, nothing re-loaded
    duplicate = ingest(KEY, day, settings=settings, registry_dir=registry_dir)
    assert duplicate["duplicate_delivery"]
    assert _without_ids(_records(settings, day)) == _without_ids(before)

    # ... and after a failed attempt (the batch no longer 'loaded'), the same file is normalised again under a
    # new ingest stamp: still the same delivery, recognised by its rejects — detection times kept
    for _ in range(2):
        with connect(settings, autocommit=True) as conn:
            conn.execute(
                "update platform.batches set status = 'failed' where batch_id = %s", (f"{KEY}__{day}",)
            )
        rerun = ingest(KEY, day, settings=settings, registry_dir=registry_dir)
        assert not rerun.get("duplicate_delivery") and rerun["quarantine_rerun"]
        assert (rerun["quarantine_superseded"], rerun["quarantine_resolved"]) == (0, 0)
        records = _records(settings, day)
        assert _without_ids(records) == _without_ids(before)
        assert {r["batch_ingested_at"] for r in records} != {r["batch_ingested_at"] for r in before}


def test_a_failed_load_of_a_redelivery_supersedes_nothing(settings: Settings, registry_dir: Path) -> None:
    day = "1999-08-03"
    batch = f"{KEY}__{day}"
    _deliver(settings, day, _first_delivery(day))
    ingest(KEY, day, settings=settings, registry_dir=registry_dir)
    before = _records(settings, day)

    _deliver(settings, day, _clean(day))  # corrected, but its load will fail
    manifest = land_and_normalize(KEY, day, settings=settings, registry_dir=registry_dir)
    broken = {**manifest, "quarantine_records": manifest["quarantine_records"] + 1}
    upload_json(s3_client(settings), manifest["manifest_uri"], broken)
    with pytest.raises(IngestError, match="quarantine: COPY wrote 0 records, the manifest says 1"):
        load_raw(KEY, day, manifest, settings=settings, registry_dir=registry_dir)
    assert _records(settings, day) == before  # the failed attempt rolled back with the load
    with connect(settings) as conn:
        raw = conn.execute(f"select count(*) from raw.{KEY} where _logical_date = %s", (day,)).fetchone()
    assert raw == (3,)

    upload_json(s3_client(settings), manifest["manifest_uri"], manifest)  # the retry succeeds
    done = load_raw(KEY, day, manifest, settings=settings, registry_dir=registry_dir)
    assert (done["quarantine_superseded"], done["quarantine_resolved"]) == (4, 4)
    assert all(r["resolved_at"] == _loaded_at(settings, batch) for r in _records(settings, day))


def _pv_csv(rows: list[list[str]], header: list[str] = PV_HEADER) -> bytes:
    lines = [",".join(r) for r in [header, *rows]]
    return ("\r\n".join(lines) + "\r\n").encode("gb18030")


def _land_pv(settings: Settings, day: str, data: bytes) -> str:
    time.sleep(1.1)
    return land_csv(settings, day, "pv.csv", data, "passenger_volumes")


def test_rejected_files_are_resolved_by_the_good_redelivery(settings: Settings, registry_dir: Path) -> None:
    day = "1999-08-04"
    batch = f"{PV}__{day}"
    renamed = ["行政区划代码", "统计期", "旅客量", "备注"]
    uri = _land_pv(settings, day, _pv_csv([["520102", "1999-07", "1", ""]], renamed))
    for _ in range(2):  # re-running the rejected delivery refreshes its record, no second one
        with pytest.raises(SchemaDrift, match="客运量"):
            ingest(PV, day, settings=settings, registry_dir=registry_dir)
        records = _records(settings, day, "passenger_volumes")
        assert [(r["rule"], r["column_name"], r["whole_file"]) for r in records] == [
            ("schema_drift", "passengers", True)
        ]
    first_rejection = records[0]["first_detected_at"]
    assert records[0]["detected_at"] == first_rejection and records[0]["resolved_at"] is None

    # another rejection of the date, for another reason: recorded beside the first, superseding nothing
    _land_pv(settings, day, _pv_csv([["520102", "1", ""]], ["行政区划代码", "客运量", "备注"]))
    with pytest.raises(SchemaDrift, match="统计期"):
        ingest(PV, day, settings=settings, registry_dir=registry_dir)
    records = _records(settings, day, "passenger_volumes")
    assert [(r["column_name"], r["superseded_at"], r["resolved_at"]) for r in records] == [
        ("passengers", None, None),
        ("period", None, None),
    ]
    assert records[0]["source_file"] == uri

    # the good file: both rejections resolved at its load time; its own row defect is open
    _land_pv(settings, day, _pv_csv([["520102", "1999-07", "7", ""], ["520103", "1999-07", "很多", ""]]))
    good = ingest(PV, day, settings=settings, registry_dir=registry_dir)
    assert (good["rows_loaded"], good["quarantine_superseded"], good["quarantine_resolved"]) == (1, 2, 2)
    loaded = _loaded_at(settings, batch)
    records = _records(settings, day, "passenger_volumes")
    whole = [r for r in records if r["whole_file"]]
    assert [(r["superseded_at"], r["resolved_at"], r["resolved_by_batch"]) for r in whole] == [
        (loaded, loaded, batch)
    ] * 2
    assert whole[0]["resolved_at"] - whole[0]["first_detected_at"] == loaded - first_rejection
    assert [(r["code"], r["rule"], r["resolved_at"]) for r in _current(records)] == [("520103", "type", None)]
    assert _ledger(settings, day, batch) == (2, 1, 1, True)  # the rejections are history, not rows


def test_a_rejection_after_a_good_load_leaves_its_records_current(
    settings: Settings, registry_dir: Path
) -> None:
    day = "1999-08-05"
    batch = f"{PV}__{day}"
    _land_pv(settings, day, _pv_csv([["520102", "1999-07", "很多", ""], ["520103", "1999-07", "9", ""]]))
    ingest(PV, day, settings=settings, registry_dir=registry_dir)
    loaded = _records(settings, day, "passenger_volumes")
    assert [(r["code"], r["rule"]) for r in loaded] == [("520102", "type")]

    _land_pv(
        settings, day, _pv_csv([["520102", "1999-07", "8", ""]], ["行政区划代码", "统计期", "旅客量", "备注"])
    )
    with pytest.raises(SchemaDrift):
        ingest(PV, day, settings=settings, registry_dir=registry_dir)
    records = _records(settings, day, "passenger_volumes")
    assert records[0] == loaded[0]  # the loaded delivery's record: still current, still open
    assert [(r["rule"], r["superseded_at"], r["resolved_at"]) for r in records[1:]] == [
        ("schema_drift", None, None)
    ]

    _land_pv(settings, day, _pv_csv([["520102", "1999-07", "8", ""], ["520103", "1999-07", "9", ""]]))
    fixed = ingest(PV, day, settings=settings, registry_dir=registry_dir)
    assert (fixed["quarantine_superseded"], fixed["quarantine_resolved"]) == (2, 2)
    done = _loaded_at(settings, batch)
    records = _records(settings, day, "passenger_volumes")
    assert [(r["rule"], r["resolved_at"], r["resolution_key"]) for r in records] == [
        ("type", done, "520102|1999-07"),  # the composite key, as the row now loads
        ("schema_drift", done, None),
    ]
    assert _ledger(settings, day, batch) == (2, 2, 0, True)
