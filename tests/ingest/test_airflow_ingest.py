"""Ingest DAGs through a real Airflow: failure alerts on a real webhook, S3 and PostgreSQL killed mid-task,
and a backfill run twice. They need a stack of their own, started with a registry directory and a webhook::

    env GOVLAKE_HOME=/tmp/gl-i GOVLAKE_PG_PORT=54201 GOVLAKE_S3_ENDPOINT=127.0.0.1:54233 GOVLAKE_AIRFLOW_PORT=54280 \\
        GOVLAKE_DEPARTMENT_API_PORT=54290 GOVLAKE_REGISTRY_DIR=/tmp/gl-i-registry \\
        GOVLAKE_ALERT_WEBHOOK_URL=http://127.0.0.1:54299/hook govlake stack up

and the same environment for pytest. The tests add a department ``zz_e2e`` to that registry and remove it
afterwards. Its DAG is ``@monthly``: the scheduler starts one run of its own for the latest month (it finds
no file and fails — alerts are matched by run id), and the backfill covers January to March 2026.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from govlake.ingest.bench import write_market_csv
from govlake.ingest.landing import clear_prefix, upload_bytes, upload_file
from govlake.lake import s3_client
from govlake.orchestration.airflow_api import AirflowClient
from govlake.registry import REGISTRY_DIR
from govlake.settings import BUCKETS, Settings, get_settings
from govlake.warehouse import connect

pytestmark = [
    pytest.mark.integration,
    pytest.mark.e2e,
    pytest.mark.skipif(
        not os.environ.get("GOVLAKE_REGISTRY_DIR") or not get_settings().alert_webhook_url,
        reason="needs a stack of its own started with GOVLAKE_REGISTRY_DIR and GOVLAKE_ALERT_WEBHOOK_URL",
    ),
]
DEPT = "zz_e2e"
DAG_ID = f"ingest__{DEPT}__market_entities"
KEY = f"{DEPT}__market_entities"
ROWS = 1_000_000


def _cleanup(settings: Settings) -> None:
    s3 = s3_client(settings)
    for bucket in BUCKETS:
        clear_prefix(s3, bucket, f"{DEPT}/")
    with connect(settings, autocommit=True) as conn:
        conn.execute(f"drop table if exists raw.{KEY}")
        for table in ("quarantine", "batches", "deliveries", "delivered_files"):
            conn.execute(f"delete from platform.{table} where department = %s", (DEPT,))


@pytest.fixture(scope="module")
def airflow() -> Iterator[AirflowClient]:
    settings = get_settings()
    market = yaml.safe_load(
        (Path(__file__).parents[2] / "include/govlake/config/departments/market_regulation.yaml").read_text(
            encoding="utf-8"
        )
    )
    market["department"]["code"] = DEPT
    market["datasets"][0]["schedule"] = "@monthly"
    path = REGISTRY_DIR / f"{DEPT}.yaml"
    path.write_text(yaml.safe_dump(market, allow_unicode=True), encoding="utf-8")
    _cleanup(settings)
    client = AirflowClient(settings)
    client.wait_for_dags([DAG_ID], timeout=240)
    client.set_paused(DAG_ID, False)
    yield client
    client.set_paused(DAG_ID, True)
    path.unlink()
    _cleanup(settings)


@pytest.fixture
def webhook() -> Iterator[list[dict]]:
    """A real HTTP listener where the stack's GOVLAKE_ALERT_WEBHOOK_URL points."""
    url = urlparse(get_settings().alert_webhook_url)
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((url.hostname, url.port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield received
    server.shutdown()
    server.server_close()


def _trigger(client: AirflowClient, day: str, slot: int) -> str:
    """A fresh run (its own logical date, past and unique per test session); the cycle date goes in conf."""
    minute = int(time.time() // 60) % 300_000
    run = client.trigger(
        DAG_ID,
        datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minute, seconds=slot),
        conf={"logical_date": day},
    )
    return run.run_id


def _wait(client: AirflowClient, run_id: str, timeout: float = 600) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.run(DAG_ID, run_id)
        if run.finished:
            return run.state
        time.sleep(2)
    raise AssertionError(f"{DAG_ID} {run_id} did not finish in {timeout}s")


def _wait_task_running(client: AirflowClient, run_id: str, task_id: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = {t["task_id"]: t["state"] for t in client.task_instances(DAG_ID, run_id)}
        if states.get(task_id) == "running":
            return
        time.sleep(0.1)
    raise AssertionError(f"{task_id} never ran in {run_id}")


def _tries(client: AirflowClient, run_id: str, task_id: str) -> int:
    return next(t["try_number"] for t in client.task_instances(DAG_ID, run_id) if t["task_id"] == task_id)


def _raw_counts(day: str) -> tuple[int, int, str]:
    with connect(get_settings()) as conn:
        total, distinct = conn.execute(
            f"select count(*), count(distinct credit_code) from raw.{KEY} where _logical_date = %s", (day,)
        ).fetchone()
        status = conn.execute(
            "select status from platform.batches where batch_id = %s", (f"{KEY}__{day}",)
        ).fetchone()
    return total, distinct, status[0] if status else None


def _land_big(settings: Settings, day: str, tmp_path: Path, rows: int = ROWS) -> None:
    path = tmp_path / f"market_entities_{day.replace('-', '')}.csv"
    write_market_csv(path, rows)
    upload_file(s3_client(settings), f"s3://landing/{DEPT}/market_entities/{day}/{path.name}", path)
    path.unlink()


def test_a_failing_task_posts_a_complete_alert(airflow: AirflowClient, webhook: list[dict]) -> None:
    settings = get_settings()
    day = "1999-09-01"
    upload_bytes(s3_client(settings), f"s3://landing/{DEPT}/market_entities/{day}/broken.csv", b"")
    run_id = _trigger(airflow, day, 1)
    assert _wait(airflow, run_id) == "failed"
    deadline = time.monotonic() + 30
    while (
        not any(m["govlake"].get("kind") == "task_failure" for m in webhook) and time.monotonic() < deadline
    ):
        time.sleep(0.5)
    failures = [
        m for m in webhook if m["govlake"].get("kind") == "task_failure" and m["govlake"]["run_id"] == run_id
    ]
    assert len(failures) == 1  # a rejected delivery fails at once: one try, one alert
    alert = failures[0]["govlake"]
    assert (alert["dag_id"], alert["task_id"], alert["run_id"], alert["try_number"]) == (
        DAG_ID,
        "land_and_normalize",
        run_id,
        1,
    )
    assert alert["logical_date"] == airflow.run(DAG_ID, run_id).logical_date.replace("Z", "+00:00")
    assert "broken.csv: the file is empty" in alert["error"]
    assert alert["log_url"] == (
        f"{settings.airflow_url}/dags/{DAG_ID}/runs/{run_id.replace(':', '%3A').replace('+', '%2B')}"
        "/tasks/land_and_normalize?try_number=1"
    )
    assert failures[0]["msgtype"] == "text" and DAG_ID in failures[0]["text"]["content"]


def _restart(settings: Settings) -> None:
    """Start what was stopped, then — like a supervisor — whatever died of the outage meanwhile.

    Airflow's scheduler, dag-processor and triggerer exit when their metadata database goes away (it is
    the same PostgreSQL here); `govlake stack up` starts exactly the components that are not running.
    """
    from govlake.stack.manager import status, up

    up(settings, timeout=180)
    for _ in range(6):
        time.sleep(10)
        if all(c.healthy or c.state == "missing" for c in status(settings)):
            return
        up(settings, timeout=180)
    raise AssertionError(f"stack did not come back: {[(c.name, c.detail) for c in status(settings)]}")


def test_s3_killed_mid_ingest_recovers_by_retry_without_duplicates(
    airflow: AirflowClient, tmp_path: Path
) -> None:
    from govlake.stack import s3
    from govlake.stack.process import stop_managed

    settings = get_settings()
    day = "1999-09-02"
    _land_big(settings, day, tmp_path)
    run_id = _trigger(airflow, day, 2)
    _wait_task_running(airflow, run_id, "land_and_normalize")
    time.sleep(3)
    stop_managed(settings, s3.NAME, 30)
    time.sleep(5)
    _restart(settings)
    assert _wait(airflow, run_id) == "success"
    assert _tries(airflow, run_id, "land_and_normalize") >= 2  # the kill did hit the task
    assert _raw_counts(day) == (ROWS, ROWS, "loaded")


def _wait_copy_running(settings: Settings, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    with connect(settings, autocommit=True) as conn:
        while time.monotonic() < deadline:
            busy = conn.execute(
                "select count(*) from pg_stat_activity where state = 'active' and query ilike %s",
                (f"copy%raw%{KEY}%",),
            ).fetchone()[0]
            if busy:
                return
            time.sleep(0.05)
    raise AssertionError("the load's COPY never started")


def test_postgres_killed_mid_load_recovers_by_retry_without_duplicates(
    airflow: AirflowClient, tmp_path: Path
) -> None:
    from govlake.stack import postgres

    settings = get_settings()
    day = "1999-09-03"
    rows = ROWS + 7  # other bytes than the S3 test's file: identical bytes would be a duplicate delivery
    _land_big(settings, day, tmp_path, rows)
    run_id = _trigger(airflow, day, 3)
    _wait_task_running(airflow, run_id, "load_raw", timeout=600)
    _wait_copy_running(settings)  # the kill lands inside the load's COPY transaction
    postgres.stop(settings, 30)
    time.sleep(5)
    _restart(settings)
    assert _wait(airflow, run_id, timeout=900) == "success"
    assert _tries(airflow, run_id, "load_raw") >= 2
    assert _raw_counts(day) == (rows, rows, "loaded")


def _backfill_runs(client: AirflowClient, days: list[str], started: datetime) -> list:
    """The backfill runs of ``days`` that ended after ``started`` (a re-run of a date keeps its run id)."""
    runs = [
        r for r in client.runs(DAG_ID) if r.run_type == "backfill" and (r.logical_date or "")[:10] in days
    ]
    return [
        r
        for r in runs
        if r.finished and r.end_date and datetime.fromisoformat(r.end_date.replace("Z", "+00:00")) > started
    ]


def _wait_backfill_closed(client: AirflowClient, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        backfills = client.request("GET", "/backfills", params={"dag_id": DAG_ID}).json()["backfills"]
        if all(b.get("completed_at") for b in backfills):
            return
        time.sleep(2)
    raise AssertionError(f"the backfill of {DAG_ID} was not marked complete in {timeout}s")


def test_backfill_twice_gives_identical_raw_counts(airflow: AirflowClient) -> None:
    from govlake.stack.airflow import airflow_env

    settings = get_settings()
    # @monthly: the backfill's logical dates (months the scheduler never ran on its own, so all three are new)
    days = ["2026-02-01", "2026-03-01", "2026-04-01"]
    header = "统一社会信用代码,企业名称,市场主体类型,法定代表人,法定代表人证件号码,行业门类,注册资本万元,成立日期,住所行政区划代码,住所,登记状态"
    for i, day in enumerate(days):
        rows = [
            f"91520100MA{i}{n:07d},公司{n},有限责任公司,,,A,1,2020-01-01,520102,,存续" for n in range(100 + i)
        ]
        upload_bytes(
            s3_client(settings),
            f"s3://landing/{DEPT}/market_entities/{day}/m.csv",
            "\n".join([header, *rows, ""]).encode("gbk"),
        )

    def backfill(reprocess: str) -> list[tuple]:
        started = datetime.now(UTC)
        out = subprocess.run(
            [
                "airflow",
                "backfill",
                "create",
                "--dag-id",
                DAG_ID,
                "--from-date",
                days[0],
                "--to-date",
                days[-1],
                "--reprocess-behavior",
                reprocess,
                "--max-active-runs",
                "1",
            ],
            env=airflow_env(settings),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            runs = _backfill_runs(airflow, days, started)
            if len(runs) == len(days):
                assert {r.state for r in runs} == {"success"}, runs
                break
            time.sleep(3)
        else:
            raise AssertionError(f"backfill did not finish: {_backfill_runs(airflow, days, started)}")
        _wait_backfill_closed(airflow)  # one backfill per DAG at a time: the next may start only after this
        return [_raw_counts(day) for day in days]

    first = backfill("completed")  # dates with a run already (an earlier, interrupted backfill) run again too
    second = backfill("completed")
    assert first == second == [(100, 100, "loaded"), (101, 101, "loaded"), (102, 102, "loaded")]
