"""The export and dispatch DAGs through the real Airflow scheduler of the suite's stack.

An approved request that asks for a subscription writes ``<GOVLAKE_HOME>/subscriptions/request-<n>.yaml``;
the dag-processor turns it into ``export__zz_civil__zz_health__zz_births`` (dags/exports.py), which the
test triggers through the REST client and checks in the consumer's outbox. ``dispatch__sweep`` is then
triggered to escalate an overdue request and expire a grant whose period is over. The data is the three
rows of the zz fixture, so each run takes seconds; the wait is the dag-processor's re-parse (~15 s).
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime

import pytest

from govlake.cycle.airflow_client import AirflowClient, DagRun
from govlake.sharing import dispatch

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

RUN_TIMEOUT = 240
ITEMS = ["record_id", "resident_id", "name", "division_code"]  # resident_id, name: 有条件共享, granted


@pytest.fixture
def airflow(stack) -> AirflowClient:
    return AirflowClient(stack)


def _wait(client: AirflowClient, run: DagRun, timeout: float = RUN_TIMEOUT) -> DagRun:
    deadline = time.monotonic() + timeout
    while not run.finished and time.monotonic() < deadline:
        time.sleep(2)
        run = client.run(run.dag_id, run.run_id)
    assert run.finished, f"{run.dag_id} run {run.run_id} still {run.state} after {timeout}s"
    return run


def _settle(client: AirflowClient, dag_id: str, timeout: float = RUN_TIMEOUT) -> None:
    """Wait until no run of the DAG is running (unpausing lets the scheduler start one of its own; one
    still queued once the DAG is paused again never starts)."""
    deadline = time.monotonic() + timeout
    while any(r.state == "running" for r in client.runs(dag_id)) and time.monotonic() < deadline:
        time.sleep(2)


def _run(client: AirflowClient, dag_id: str, day: datetime) -> DagRun:
    """Unpause, trigger for ``day``, wait for the outcome; paused again (and settled) afterwards."""
    client.set_paused(dag_id, False)
    try:
        return _wait(client, client.trigger(dag_id, day, conf={"logical_date": day.date().isoformat()}))
    finally:
        client.set_paused(dag_id, True)
        _settle(client, dag_id)


def _failed_tasks(client: AirflowClient, run: DagRun) -> list[str]:
    return [t["task_id"] for t in client.task_instances(run.dag_id, run.run_id) if t["state"] != "success"]


@pytest.mark.usefixtures("outboxes")
def test_export_dag_delivers_exactly_the_grant_to_the_outbox(zone, platform, stack, airflow):
    request = zone.submit(
        platform,
        ("resident_id", "name"),
        subscription={"items": ITEMS, "format": "csv", "schedule": "@daily"},
    )
    subscription = stack.home / "subscriptions" / f"request-{request.request_id}.yaml"
    dag_id = f"export__{zone.consumer}__{zone.resource}"
    try:
        dispatch.approve(platform, request.request_id, zone.provider, settings=stack)
        assert subscription.exists()
        airflow.wait_for_dags([dag_id], timeout=120)
        day = datetime(2026, 2, 1, tzinfo=UTC)
        run = _run(airflow, dag_id, day)
        assert run.state == "success", f"{dag_id} failed: {_failed_tasks(airflow, run)}"
    finally:
        subscription.unlink(missing_ok=True)

    prefix = f"exports/{zone.resource}/2026-02-01/"
    data = zone.outbox(prefix + "data.csv")
    manifest = json.loads(zone.outbox(prefix + "_manifest.json"))
    grant_ids = [
        r[0]
        for r in platform.execute(
            "select grant_id from platform.share_grants where request_id = %s", (request.request_id,)
        ).fetchall()
    ]
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest() and manifest["bytes"] == len(data)
    assert manifest["items"] == ITEMS and manifest["grant_ids"] == grant_ids and manifest["rows"] == 3
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == ",".join(ITEMS)  # no item beyond the grant and the 无条件共享 ones; no diagnosis
    assert lines[1] == "B001,520102********1237,张*,520102"  # masked by grade
    recorded = platform.execute(
        "select row_count, sha256 from platform.export_runs where subscription = %s and logical_date = %s",
        (dag_id, "2026-02-01"),
    ).fetchone()
    assert recorded == (3, manifest["sha256"])


def test_dispatch_sweep_escalates_overdue_requests_and_expires_grants(zone, platform, stack, airflow):
    overdue = zone.submit(platform, ("weight_grams",), sla_hours=0.0001)
    granted = zone.submit(platform, ("resident_id",))
    dispatch.approve(platform, granted.request_id, zone.provider, settings=stack)
    platform.execute(
        "update platform.share_grants set valid_until = now() - interval '1 second' where request_id = %s",
        (granted.request_id,),
    )
    time.sleep(1)  # past the 0.36 s SLA
    run = _run(airflow, "dispatch__sweep", datetime.now(UTC).replace(microsecond=0))
    assert run.state == "success", f"dispatch__sweep failed: {_failed_tasks(airflow, run)}"
    assert dispatch.get_request(platform, overdue.request_id).state == "escalated"
    assert dispatch.get_request(platform, granted.request_id).state == "expired"
    actions = [
        r[0]
        for r in platform.execute(
            "select action from platform.audit_log where subject = %s order by seq",
            (f"request:{overdue.request_id}",),
        ).fetchall()
    ]
    assert actions == ["request.submitted", "request.escalated"]
