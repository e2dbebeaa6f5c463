"""Driving daily cycles through the real scheduler, shared by the end-to-end tests.

Everything goes through Airflow's REST API, as an operator would: generate a day's sources, run the
day's cycle (ingest → build → publish → open data) and wait for it, or land one dataset's batch alone.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

from rich.console import Console

from demo_province.generator import ProvinceReport, generate_province
from govlake.cycle.airflow_client import AirflowClient, DagRun
from govlake.cycle.cycle_runner import BUILD_DAG, CycleOutcome, run_cycle
from govlake.settings import Settings

CYCLE_TIMEOUT = 1500  # seconds for one cycle on a 2-core runner


def generate_day(stack: Settings, day: str, *, scale: str, seed: int, defect_rate: float) -> ProvinceReport:
    """Every department's sources for ``day`` (department tables replaced, files overwritten)."""
    return generate_province(
        stack, scale=scale, seed=seed, logical_date=date.fromisoformat(day), defect_rate=defect_rate
    )


def run_day(stack: Settings, day: str) -> CycleOutcome:
    """Run (or re-run) ``day``'s cycle through the scheduler and wait for it to finish."""
    return run_cycle(day, settings=stack, console=Console(width=120), timeout=CYCLE_TIMEOUT)


def wait_until_finished(client: AirflowClient, run: DagRun, timeout: float = CYCLE_TIMEOUT) -> DagRun:
    """Poll a DAG run until it succeeded or failed; fail the test with its state when it takes too long."""
    deadline = time.monotonic() + timeout
    while not run.finished:
        if time.monotonic() > deadline:
            raise AssertionError(f"{run.dag_id} {run.run_id} still {run.state} after {timeout:.0f}s")
        time.sleep(3)
        run = client.run(run.dag_id, run.run_id)
    return run


def ingest_without_build(stack: Settings, dag_id: str, day: str) -> DagRun:
    """Land one dataset's batch for ``day`` while ``build__libraries`` is paused, so no build follows it.

    A paused consumer is not queued for Asset events, so the batch waits for the next cycle's build —
    the case of a delivery (or corrected re-delivery) that lands between two cycles. ``run_day`` unpauses
    the build again.
    """
    client = AirflowClient(stack)
    client.wait_for_dags([dag_id, BUILD_DAG])
    client.set_paused(BUILD_DAG, True)
    client.set_paused(dag_id, False)
    logical = datetime.fromisoformat(day).replace(tzinfo=UTC)
    return wait_until_finished(client, client.trigger(dag_id, logical, conf={"logical_date": day}))
