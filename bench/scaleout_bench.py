"""The daily cycle on each executor shape, in one run: LocalExecutor, CeleryExecutor with 1 and 2 workers,
each with the single SeaweedFS process and with the SeaweedFS cluster (issue 18).

    .venv/bin/python bench/scaleout_bench.py                       # scale medium, all six shapes
    .venv/bin/python bench/scaleout_bench.py --scale small --shapes local celery2 celery2+cluster

For each shape a stack of its own is started (own home and ports), the province generated for the date,
the cycle run through the scheduler (`govlake.cycle.cycle_runner.run_cycle`, the same path as `make demo`)
and then the stack stopped. Reported per shape:

* wall time of the cycle (trigger of the first ingest to the end of publish__open_data);
* scheduling overhead per task: the median and p90 of (start_date - queued_dttm) over the cycle's task
  instances — the time a task waited between being handed to the executor and running;
* task time: the sum of the task instances' durations (work done, whatever the executor);
* CPU: the machine's busy CPU seconds during the cycle (all processes; run nothing else beside it);
* peak memory per worker: the largest proportional set size (PSS) of each Celery worker's process group (or
  the scheduler's for LocalExecutor, whose task processes are its children), sampled every 0.5 s.

Results are printed and written to ``.govlake/bench/scaleout-<date>-<scale>.json``. Not a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
console = Console()
SHAPES = {
    "local": {"GOVLAKE_EXECUTOR": "local"},
    "celery1": {"GOVLAKE_EXECUTOR": "celery", "GOVLAKE_CELERY_WORKERS": "1"},
    "celery2": {"GOVLAKE_EXECUTOR": "celery", "GOVLAKE_CELERY_WORKERS": "2"},
    "local+cluster": {"GOVLAKE_EXECUTOR": "local", "GOVLAKE_S3_CLUSTER": "true"},
    "celery1+cluster": {
        "GOVLAKE_EXECUTOR": "celery",
        "GOVLAKE_CELERY_WORKERS": "1",
        "GOVLAKE_S3_CLUSTER": "true",
    },
    "celery2+cluster": {
        "GOVLAKE_EXECUTOR": "celery",
        "GOVLAKE_CELERY_WORKERS": "2",
        "GOVLAKE_S3_CLUSTER": "true",
    },
}
BASE_PORT = 30000


def _rss_mib(pid: int) -> float:
    """The process's proportional set size: its private pages plus its share of pages it shares. Task
    processes fork from a parent holding the task code (govlake.stack.preload), so summing their resident
    sets would count those shared pages once per task."""
    for path, field in ((f"/proc/{pid}/smaps_rollup", "Pss:"), (f"/proc/{pid}/status", "VmRSS:")):
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(field):
                    return int(line.split()[1]) / 1024
        except OSError:
            continue
    return 0.0


def _group_rss(pgid: int) -> float:
    total = 0.0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    total += _rss_mib(int(entry.name))
            except OSError:
                continue
    return total


class PeakSampler(threading.Thread):
    """The peak resident memory of each named process group while the cycle runs."""

    def __init__(self, settings, names: list[str]) -> None:
        super().__init__(daemon=True)
        self.settings, self.names, self.peaks = settings, names, dict.fromkeys(names, 0.0)
        self.done = threading.Event()

    def run(self) -> None:
        from govlake.stack.process import read_pid

        while not self.done.is_set():
            for name in self.names:
                record = read_pid(self.settings, name)
                if record:
                    self.peaks[name] = max(self.peaks[name], _group_rss(record.pid))
            time.sleep(0.5)


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores, everything but idle and I/O wait), from
    /proc/stat: on a machine running nothing else, what the stack used — steadier than wall time."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _task_figures(settings, day: str, since: datetime | None = None, until: datetime | None = None) -> dict:
    """The task instances of the day's cycle: its ingests (logical date = the day) and the build, publish
    and open-data runs their Assets trigger (no logical date in Airflow 3) — on a fresh stack every such
    run; on a kept stack only those started between ``since`` and ``until`` (the cycle's span)."""
    with psycopg.connect(settings.pg_url(settings.airflow_db)) as conn:
        rows = conn.execute(
            "select extract(epoch from ti.start_date - ti.queued_dttm), ti.duration, ti.dag_id || '.' || ti.task_id "
            "from task_instance ti join dag_run r using (dag_id, run_id) "
            "where (r.logical_date::date = %s or r.logical_date is null) "
            "and ti.start_date is not null and ti.queued_dttm is not null "
            "and ti.start_date >= coalesce(%s, '-infinity'::timestamptz)"
            " and ti.start_date <= coalesce(%s, 'infinity'::timestamptz)",
            (day, since, until),
        ).fetchall()
    waits = sorted(float(w) for w, _, _ in rows if w is not None)
    by_task: dict[str, float] = {}
    for _, duration, task in rows:
        by_task[task] = round(by_task.get(task, 0.0) + float(duration or 0), 2)
    return {
        "tasks": len(rows),
        "wait_median_s": round(statistics.median(waits), 2) if waits else None,
        "wait_p90_s": round(waits[int(0.9 * (len(waits) - 1))], 2) if waits else None,
        "task_seconds": round(sum(float(d or 0) for _, d, _ in rows), 1),
        # seconds per task (summed over its runs), to see which tasks two runs differ in
        "task_durations": dict(sorted(by_task.items(), key=lambda kv: -kv[1])),
    }


def _lineage_figures(settings) -> dict:
    """What lineage the cycle collected: proof that a "lineage on" run measured collection, not nothing."""
    with psycopg.connect(settings.pg_url()) as conn:
        events, airflow_events, column_edges = conn.execute(
            "select (select count(*) from platform.lineage_events),"
            " (select count(*) from platform.lineage_events where producer like '%%airflow%%'),"
            " (select count(*) from platform.lineage_column_edges)"
        ).fetchone()
    return {"lineage_events": events, "lineage_airflow_events": airflow_events, "column_edges": column_edges}


def run_shape(shape: str, scale: str, day: str, seed: int, overrides: dict[str, str] | None = None) -> dict:
    """One stack of its own with the shape's settings (``SHAPES[shape]`` unless ``overrides``), one cycle."""
    from demo_province.generator import generate_province
    from govlake.cycle.cycle_runner import run_cycle
    from govlake.settings import load_settings
    from govlake.stack import scaleout
    from govlake.stack.dedicated import environment, free_stack_env, make_stack_dir, remove_stack_dir
    from govlake.stack.manager import down, up

    home = make_stack_dir(f"govlake-bench-{shape.replace('+', '-')}-")
    env = free_stack_env(home, BASE_PORT)
    base = int(env["GOVLAKE_PG_PORT"]) - 432
    env.update(GOVLAKE_REDIS_PORT=str(base + 479), GOVLAKE_FLOWER_PORT=str(base + 481))
    env.update(SHAPES[shape] if overrides is None else overrides)
    result: dict = {"shape": shape, "scale": scale}
    with environment(env):
        settings = load_settings()
        try:
            started = time.monotonic()
            up(settings, timeout=900)
            result["stack_up_s"] = round(time.monotonic() - started, 1)
            settings = load_settings()
            generate_province(
                settings, scale=scale, seed=seed, logical_date=date.fromisoformat(day), defect_rate=0.02
            )
            workers = [n for n in scaleout.components(settings) if n.startswith("celery-worker-")]
            sampler = PeakSampler(settings, workers or ["airflow-scheduler"])
            sampler.start()
            started, busy = time.monotonic(), machine_busy_seconds()
            outcome = run_cycle(day, settings=settings, console=Console(quiet=True), timeout=3600)
            result["cycle_s"] = round(time.monotonic() - started, 1)
            result["machine_cpu_s"] = round(machine_busy_seconds() - busy, 1)
            sampler.done.set()
            result["ok"] = outcome.ok
            result["published"] = outcome.published
            result["failed"] = list(outcome.failed)
            result["peak_mib"] = {k: round(v) for k, v in sampler.peaks.items()}
            result.update(_task_figures(settings, day))
            result.update(_lineage_figures(settings))
        finally:
            down(settings, timeout=60)
            if result.get("ok"):
                remove_stack_dir(home)
            else:  # what failed is in its logs (Airflow's task logs, the components')
                result["kept_for_inspection"] = str(home)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", default="medium")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--date", default=datetime.now(UTC).date().isoformat())
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    opts = parser.parse_args()
    results = []
    for shape in opts.shapes:
        console.print(f"[bold]{shape}[/] at scale {opts.scale}")
        results.append(run_shape(shape, opts.scale, opts.date, opts.seed))
        console.print({k: v for k, v in results[-1].items() if k != "task_durations"})
    table = Table(title=f"daily cycle at scale {opts.scale}, {os.cpu_count()} cores")
    for column in (
        "shape",
        "ok",
        "cycle s",
        "tasks",
        "wait median s",
        "wait p90 s",
        "task s",
        "peak MiB/worker",
    ):
        table.add_column(column)
    for r in results:
        table.add_row(
            r["shape"], str(r.get("ok")), str(r.get("cycle_s")), str(r.get("tasks")), str(r.get("wait_median_s")),
            str(r.get("wait_p90_s")), str(r.get("task_seconds")), json.dumps(r.get("peak_mib")),
        )  # fmt: skip
    console.print(table)
    out = ROOT / ".govlake" / "bench" / f"scaleout-{opts.date}-{opts.scale}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    console.print(f"written to {out}")


if __name__ == "__main__":
    main()
