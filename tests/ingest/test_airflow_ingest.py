"""Ingest DAGs through a real Airflow: failure alerts on a real webhook, S3 and PostgreSQL killed mid-task,
and a backfill run twice.

The module starts a stack of its own (``govlake.stack.dedicated``: a temporary home, ports from 26000 —
below the ephemeral range, apart from the suite's stack and tests/stack's 27xxx one), because it kills
PostgreSQL and S3 and needs Airflow started with a registry directory and a webhook URL. The registry is
a copy of the real one plus a department ``zz_e2e``; the webhook is a listener this module owns. The
test process's settings point at that stack for the module and at the suite's again afterwards.

``zz_e2e``'s DAG is ``@monthly``: the scheduler starts one run of its own for the latest month (it finds
no file and fails — alerts are matched by run id), and the backfill covers January to March 2026.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from bench.ingest_harness import write_market_csv

from govlake.cycle.airflow_client import AirflowClient
from govlake.ingest.landing import upload_bytes, upload_file
from govlake.lake import s3_client
from govlake.registry import REGISTRY_DIR
from govlake.settings import Settings, get_settings
from govlake.stack import dedicated
from govlake.warehouse import connect

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
DEPT = "zz_e2e"
DAG_ID = f"ingest__{DEPT}__market_entities"
KEY = f"{DEPT}__market_entities"
ROWS = 200_000  # the kill still lands mid-task: normalising 200 k rows takes seconds
STACK_PORTS = 26000  # 26432, 26333, 26080, 26090, 26070
STACK_DOWN_TIMEOUT = 60


@pytest.fixture(scope="module")
def webhook(webhook_listener) -> Iterator[tuple[str, list[dict]]]:
    """A real HTTP listener the stack's GOVLAKE_ALERT_WEBHOOK_URL points at (bound before the stack starts)."""
    with webhook_listener("/robot/send") as hook:
        yield hook


def _registry_with_test_department(directory: Path) -> Path:
    """The real registry plus ``zz_e2e``: 市场监管局's dataset, re-homed and scheduled monthly."""
    registry = directory / "registry"
    shutil.copytree(REGISTRY_DIR, registry)
    market = yaml.safe_load((REGISTRY_DIR / "market_regulation.yaml").read_text(encoding="utf-8"))
    market["department"]["code"] = DEPT
    market["datasets"][0]["schedule"] = "@monthly"
    (registry / f"{DEPT}.yaml").write_text(yaml.safe_dump(market, allow_unicode=True), encoding="utf-8")
    return registry


@pytest.fixture(scope="module")
def stack(webhook: tuple[str, list[dict]]) -> Iterator[Settings]:
    """This module's own stack, started with the test registry and the webhook; stopped at the end."""
    directory = dedicated.make_stack_dir("govlake-airflow-ingest-")
    extra = {
        "GOVLAKE_REGISTRY_DIR": str(_registry_with_test_department(directory)),
        "GOVLAKE_ALERT_WEBHOOK_URL": webhook[0],
        "GOVLAKE_ALERT_WEBHOOK_STYLE": "text",
    }
    try:
        with dedicated.dedicated_stack(
            directory / "home", STACK_PORTS, extra, up_timeout=300, down_timeout=STACK_DOWN_TIMEOUT
        ) as settings:
            yield settings
    finally:
        dedicated.remove_stack_dir(directory)


@pytest.fixture(scope="module")
def airflow(stack: Settings) -> Iterator[AirflowClient]:
    client = AirflowClient(stack)
    client.wait_for_dags([DAG_ID], timeout=240)
    client.set_paused(DAG_ID, False)
    yield client
    client.set_paused(DAG_ID, True)


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


def _wait_task_state(
    client: AirflowClient, run_id: str, task_id: str, states: set[str], timeout: float = 180
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = {t["task_id"]: t["state"] for t in client.task_instances(DAG_ID, run_id)}.get(task_id)
        if current in states:
            return
        time.sleep(0.5)
    raise AssertionError(f"{task_id} of {run_id} never reached {sorted(states)} in {timeout}s")


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


def test_a_failing_task_posts_a_complete_alert(
    airflow: AirflowClient, webhook: tuple[str, list[dict]]
) -> None:
    _, received = webhook
    settings = get_settings()
    assert settings.alert_webhook_url == webhook[0]  # this module's stack, not the suite's
    day = "1999-09-01"
    upload_bytes(s3_client(settings), f"s3://landing/{DEPT}/market_entities/{day}/broken.csv", b"")
    run_id = _trigger(airflow, day, 1)
    assert _wait(airflow, run_id) == "failed"
    deadline = time.monotonic() + 30
    while (
        not any(m["govlake"].get("kind") == "task_failure" for m in received) and time.monotonic() < deadline
    ):
        time.sleep(0.5)
    failures = [
        m for m in received if m["govlake"].get("kind") == "task_failure" and m["govlake"]["run_id"] == run_id
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


def _wait_file_planned(settings: Settings, day: str, timeout: float = 300) -> None:
    """Until the task has recorded the delivered file: it then normalises locally, then uploads to S3."""
    deadline = time.monotonic() + timeout
    with connect(settings, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if conn.execute(
                "select 1 from platform.delivered_files where department = %s and logical_date = %s",
                (DEPT, day),
            ).fetchone():
                return
            time.sleep(0.05)
    raise AssertionError(f"the {day} delivery was never planned")


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
    _wait_file_planned(settings, day)  # downloaded, versioned and recorded: S3 is next needed for the upload
    stop_managed(settings, s3.NAME, 30)
    # S3 stays down until the try has failed: the client's own retries (some 6 s) must not bridge the outage.
    _wait_task_state(airflow, run_id, "land_and_normalize", {"up_for_retry", "failed"})
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
