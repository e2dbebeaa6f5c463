"""Department REST API (人社厅 style): pages landed as received, retries on 503, Bearer auth, watermark."""

from __future__ import annotations

from pathlib import Path

import pytest

from govlake.ingest import IngestError, ingest
from govlake.ingest.landing import list_keys
from govlake.lake import s3_client
from govlake.settings import Settings
from govlake.warehouse import connect

from .conftest import DEPT, EnrollmentApi

pytestmark = pytest.mark.integration
KEY = f"{DEPT}__social_insurance_enrollment"


def _enrollment(i: int, updated: str, **overrides: object) -> dict:
    row = {
        "id": i,
        "aac002": f"52010219900101{i:04d}",
        "aac003": f"王{i}",
        "aac006": "19900101",
        "aae140": "110",
        "aab998": None,
        "aab301": "520102",
        "aac030": "2015-07-01",
        "aac008": "参保缴费",
        "aae005": None,
        "aae036": updated,
    }
    return {**row, **overrides}


def test_pages_are_landed_and_a_503_is_retried(
    settings: Settings, registry_dir: Path, api: tuple[EnrollmentApi, str]
) -> None:
    state, _ = api
    state.records = [_enrollment(i, f"1999-01-01T0{i}:00:00+08:00") for i in range(1, 8)]
    state.records.append(_enrollment(8, "1999-01-02T01:00:00+08:00"))  # after the day: next batch's row
    state.records.append(_enrollment(9, "1999-01-01T10:00:00+08:00", aac030="2015-02-30"))
    state.fail_next = {2: 1}
    state.requests.clear()

    result = ingest(KEY, "1999-01-01", settings=settings, registry_dir=registry_dir)
    assert (result["rows_extracted"], result["rows_loaded"], result["rows_rejected"]) == (8, 7, 1)
    assert (2, 503) in state.requests and state.requests.count((2, 200)) == 1
    prefix = f"{DEPT}/social_insurance_enrollment/1999-01-01/"
    assert list_keys(s3_client(settings), "landing", prefix) == [
        f"{prefix}page-0000{i}.json" for i in (1, 2, 3)
    ]
    with connect(settings) as conn:
        rows = conn.execute(
            f"select enrollment_id, birth_date::text, _source_file, _source_row from raw.{KEY} "
            "where _logical_date = '1999-01-01' order by enrollment_id::int"
        ).fetchall()
        rejected = conn.execute(
            "select source_file, source_row, column_name, rule from platform.quarantine where batch_id = %s",
            (f"{KEY}__1999-01-01",),
        ).fetchall()
        manifest = conn.execute(
            "select manifest from platform.batches where batch_id = %s", (f"{KEY}__1999-01-01",)
        ).fetchone()[0]
    assert [r[0] for r in rows] == [str(i) for i in range(1, 8)]
    assert rows[0][1] == "1990-01-01"
    assert rows[3][2:] == (f"s3://landing/{prefix}page-00002.json", 1)  # id 4 is the first record of page 2
    assert rejected == [(f"s3://landing/{prefix}page-00003.json", 3, "enrollment_date", "type")]
    assert manifest["details"]["rows_outside_window"] == 1 and manifest["details"]["pages"] == 3

    # The next date asks the API only for what changed after the last row seen.
    state.requests.clear()
    following = ingest(KEY, "1999-01-02", settings=settings, registry_dir=registry_dir)
    assert following["rows_loaded"] == 1
    with connect(settings) as conn:
        watermark = conn.execute(
            "select manifest -> 'watermark' from platform.batches where batch_id = %s",
            (f"{KEY}__1999-01-02",),
        ).fetchone()[0]
    assert watermark["low"] == "1999-01-01T10:00:00+08:00"

    # Re-running the first date gives the same result and replaces its landed pages.
    again = ingest(KEY, "1999-01-01", settings=settings, registry_dir=registry_dir)
    assert (again["rows_extracted"], again["rows_loaded"], again["rows_rejected"]) == (8, 7, 1)
    assert len(list_keys(s3_client(settings), "landing", prefix)) == 3


def test_a_bad_token_fails_at_once_with_the_status(
    settings: Settings, registry_dir: Path, api: tuple[EnrollmentApi, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    state, _ = api
    state.records = [_enrollment(1, "1999-01-05T01:00:00+08:00")]
    state.requests.clear()
    monkeypatch.setenv("GOVLAKE_TEST_DEPARTMENT_API_TOKEN", "wrong")
    with pytest.raises(IngestError, match="HTTP 401"):
        ingest(KEY, "1999-01-05", settings=settings, registry_dir=registry_dir)
    assert state.requests == []  # 401s are not retried (and not logged as served pages)


def test_retries_give_up_after_the_configured_attempts(
    settings: Settings, registry_dir: Path, api: tuple[EnrollmentApi, str]
) -> None:
    state, _ = api
    state.records = [_enrollment(1, "1999-01-06T01:00:00+08:00")]
    state.fail_next = {1: 10}
    with pytest.raises(IngestError, match="failed 5 times .*last answer: HTTP 503"):
        ingest(KEY, "1999-01-06", settings=settings, registry_dir=registry_dir)
    state.fail_next = {}
