"""Run one daily cycle through the Airflow scheduler and watch it, with progress on the terminal.

The CLI only asks Airflow to run the ingest DAGs for a date (or re-runs them if that date already ran);
the scheduler then starts ``build__libraries`` and ``publish__libraries`` from the Asset events, as it
does every day in production. This module waits for that chain and reports what happened.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from rich.console import Console
from rich.live import Live
from rich.table import Table

from govlake.cycle.airflow_client import AirflowClient, AirflowError, DagRun
from govlake.registry import iter_datasets
from govlake.settings import Settings, get_settings

BUILD_DAG = "build__libraries"
PUBLISH_DAG = "publish__libraries"
OPEN_DATA_DAG = "publish__open_data"

STATE_STYLE = {"success": "green", "failed": "bold red", "running": "yellow", "queued": "cyan"}


@dataclass
class CycleOutcome:
    day: str
    runs: dict[str, DagRun | None] = field(default_factory=dict)
    published: bool = False
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.published and not self.failed


def ingest_dag_ids() -> list[str]:
    return [ds.dag_id for ds in iter_datasets()]


def ingest_waves() -> tuple[list[str], list[str]]:
    """(less-than-daily datasets, daily datasets): the first wave lands before the daily one starts, so
    the build the daily wave triggers already sees the weekly/monthly/yearly deliveries of the date."""
    datasets = list(iter_datasets())
    return [d.dag_id for d in datasets if not d.is_daily], [d.dag_id for d in datasets if d.is_daily]


def all_dag_ids() -> list[str]:
    return [*ingest_dag_ids(), BUILD_DAG, PUBLISH_DAG, OPEN_DATA_DAG]


def _logical_datetime(day: str) -> datetime:
    d = date.fromisoformat(day)
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def check_cycle_date(day: str, now: datetime | None = None) -> None:
    """A cycle can run for today or an earlier date: Airflow starts no run before its logical date, so a
    cycle of a later date would only wait for its timeout. Raises ValueError saying so."""
    today = (now or datetime.now(UTC)).date()
    if date.fromisoformat(day) > today:
        raise ValueError(
            f"{day} is after today ({today}, UTC): Airflow does not start a run before its logical date. "
            f"Run the cycle of {today} or an earlier date."
        )


def _render(outcome: CycleOutcome, progress: dict[str, tuple[int, int]], started: float) -> Table:
    table = Table(title=f"daily cycle {outcome.day} — {time.monotonic() - started:,.0f}s", expand=False)
    table.add_column("DAG")
    table.add_column("state")
    table.add_column("tasks done", justify="right")
    for dag_id, run in outcome.runs.items():
        state = run.state if run else "waiting"
        done, total = progress.get(dag_id, (0, 0))
        bar = f"{done}/{total}" if total else ""
        table.add_row(dag_id, f"[{STATE_STYLE.get(state, 'dim')}]{state}[/]", bar)
    return table


def _task_progress(client: AirflowClient, run: DagRun) -> tuple[int, int]:
    try:
        tis = client.task_instances(run.dag_id, run.run_id)
    except AirflowError:
        return (0, 0)
    done = sum(1 for t in tis if t.get("state") in ("success", "failed", "skipped", "upstream_failed"))
    return done, len(tis)


def _latest_after(client: AirflowClient, dag_id: str, after: datetime) -> DagRun | None:
    runs = client.runs_after(dag_id, after)
    return runs[0] if runs else None


def run_cycle(
    day: str,
    settings: Settings | None = None,
    console: Console | None = None,
    timeout: float = 1800,
    poll: float = 3,
) -> CycleOutcome:
    """Trigger (or re-run) every ingest DAG for ``day`` and wait for build and publish to finish."""
    check_cycle_date(day)
    settings = settings or get_settings()
    console = console or Console()
    client = AirflowClient(settings)
    started = time.monotonic()
    outcome = CycleOutcome(day=day)
    ingest_ids = ingest_dag_ids()

    with console.status("waiting for Airflow to parse the DAGs…"):
        client.wait_for_dags(all_dag_ids())
    first_wave, daily_wave = ingest_waves()
    # Unpausing a daily DAG lets the scheduler start today's run at once, so the daily wave is unpaused
    # only when the less-than-daily deliveries of the date have landed.
    for dag_id in [d for d in all_dag_ids() if d not in daily_wave or not first_wave]:
        client.set_paused(dag_id, False)

    t0 = datetime.now(UTC)
    logical = _logical_datetime(day)
    for dag_id in ingest_ids:
        outcome.runs[dag_id] = None
    pending = list(daily_wave)
    for dag_id in first_wave or pending:
        outcome.runs[dag_id] = client.trigger(dag_id, logical, conf={"logical_date": day})
    if not first_wave:
        pending = []
    outcome.runs[BUILD_DAG] = None
    outcome.runs[PUBLISH_DAG] = None
    outcome.runs[OPEN_DATA_DAG] = None

    progress: dict[str, tuple[int, int]] = {}
    deadline = time.monotonic() + timeout
    with Live(
        _render(outcome, progress, started), console=console, refresh_per_second=2, transient=False
    ) as live:
        while True:
            for dag_id in ingest_ids:
                run = outcome.runs[dag_id]
                if run is None:
                    continue
                outcome.runs[dag_id] = run = client.run(dag_id, run.run_id)
                progress[dag_id] = _task_progress(client, run)
            first = [outcome.runs[d] for d in first_wave]
            if pending and any(r and r.state == "failed" for r in first):
                outcome.failed = [r.dag_id for r in first if r and r.state == "failed"]
                live.update(_render(outcome, progress, started))
                break
            if (
                pending
                and all(r and r.finished for r in first)
                and not any(r.state == "failed" for r in first)
            ):
                for dag_id in pending:
                    client.set_paused(dag_id, False)
                    outcome.runs[dag_id] = client.trigger(dag_id, logical, conf={"logical_date": day})
                pending = []
            ingest_runs = [outcome.runs[d] for d in ingest_ids]
            if all(r and r.finished for r in ingest_runs):
                failed = [r.dag_id for r in ingest_runs if r and r.state == "failed"]
                if failed:
                    outcome.failed = failed
                    live.update(_render(outcome, progress, started))
                    break
                build = _latest_after(client, BUILD_DAG, t0)
                outcome.runs[BUILD_DAG] = build
                if build:
                    progress[BUILD_DAG] = _task_progress(client, build)
                    if build.state == "failed":
                        outcome.failed = [BUILD_DAG]
                        live.update(_render(outcome, progress, started))
                        break
                    if build.state == "success" and build.end_date:
                        publish = _latest_after(client, PUBLISH_DAG, t0)
                        outcome.runs[PUBLISH_DAG] = publish
                        if publish:
                            progress[PUBLISH_DAG] = _task_progress(client, publish)
                            if publish.finished and publish.state != "success":
                                outcome.failed = [PUBLISH_DAG]
                                live.update(_render(outcome, progress, started))
                                break
                            # the open datasets follow from the base Assets the publish run emits
                            opened = _latest_after(client, OPEN_DATA_DAG, t0) if publish.finished else None
                            outcome.runs[OPEN_DATA_DAG] = opened
                            if opened:
                                progress[OPEN_DATA_DAG] = _task_progress(client, opened)
                                if opened.finished:
                                    outcome.published = opened.state == "success"
                                    if not outcome.published:
                                        outcome.failed = [OPEN_DATA_DAG]
                                    live.update(_render(outcome, progress, started))
                                    break
            live.update(_render(outcome, progress, started))
            if time.monotonic() > deadline:
                outcome.failed = [d for d, r in outcome.runs.items() if not (r and r.finished)] or ["timeout"]
                break
            time.sleep(poll)
    outcome.seconds = time.monotonic() - started
    return outcome
