"""Benchmark the daily cycle's stages at a large scale, next to a raw COPY of the same rows, then the
focused benchmarks of each issue's targets.

    make bench                                   # every suite: cycle (1,000,000 persons), ingest, dbt, validation
    make bench BENCH_ARGS="--scale medium"
    make bench BENCH_ARGS="--suites dbt --dbt-persons 1000000"

Suites: ``cycle`` (this file), ``ingest`` (bench/ingest_bench.py: every source kind at >= 1 M rows next to raw
COPY, peak memory of a 5 M-row CSV), ``dbt`` (bench/dbt_bench.py: the population merge at 1 M and 10 M
persons next to hand-written SQL, and the 1 %-changed daily run) and ``validation`` (bench/validation_bench.py:
the staging suite pushed down to SQL over 10 M rows).

Each stage runs in its own Python process (the same functions the Airflow tasks call), so its peak
memory is that of one task. The baseline is a plain ``COPY ... FROM STDIN`` of the same raw rows into the
same PostgreSQL in the same run, into a plain (logged) table like the raw one — the same durability
the load stage pays for. Results are printed and written to ``.govlake/bench/<date>.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
console = Console()
SUITES = ("cycle", "ingest", "dbt", "validation")

STAGE_CODE = r"""
import json, resource, sys, time
stage, args = sys.argv[1], json.loads(sys.argv[2])
if stage == "validate":
    # imported before the clock starts, as the scheduler's and workers' preloaded parents hold it
    # (govlake.stack.preload): a validate task forked from them never pays GX's 3-5 s import
    import great_expectations  # noqa: F401
t = time.perf_counter()
from govlake.orchestration import task_bodies as tasks
if stage == "generate":
    from datetime import date
    from demo_province.generator import generate_province
    from govlake.settings import get_settings
    report = generate_province(get_settings(), scale=args["scale"], seed=args["seed"],
                               logical_date=date.fromisoformat(args["day"]), defect_rate=0.02)
    rows = sum(report.counts.values()) if isinstance(getattr(report, "counts", None), dict) else None
    result = {"rows": rows}
elif stage == "land":
    result = tasks.ingest_land_and_normalize(args["dataset"], args["day"])
    result = {"rows": result.get("rows_extracted"), "manifest": result}
elif stage == "load":
    result = tasks.ingest_load_raw(args["dataset"], args["day"], args["manifest"])
    result = {"rows": result.get("rows_loaded"), **result}
elif stage == "raw_copy":
    from govlake.warehouse import connect
    import tempfile, os
    table = args["table"]
    with connect(autocommit=True) as conn, tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "rows.csv")
        with open(path, "wb") as fh, conn.cursor().copy(
                f"copy (select * from {table} where _logical_date = '{args['day']}') to stdout") as cp:
            for chunk in cp:
                fh.write(chunk)
        conn.execute(f"drop table if exists bench_raw_copy; create table bench_raw_copy (like {table})")
        t = time.perf_counter()  # time only the COPY into Postgres, the baseline for the load stage
        with conn.cursor() as cur, open(path, "rb") as fh:
            with cur.copy("copy bench_raw_copy from stdin") as cp:
                while data := fh.read(1 << 20):
                    cp.write(data)
        rows = conn.execute("select count(*) from bench_raw_copy").fetchone()[0]
        conn.execute("drop table bench_raw_copy")
    result = {"rows": rows}
elif stage == "dbt_staging":
    result = {"rows": None, **tasks.build_staging(args["day"])}
elif stage == "validate":
    result = tasks.validate_and_quarantine(args["target"], args["day"])
    result = {"rows": result.get("element_count") or result.get("rows"), "success": result.get("success")}
elif stage == "dbt_libraries":
    result = {"rows": None, **tasks.build_libraries(args["day"])}
elif stage == "history":
    # what build__libraries.record_history runs after the gate (the first version of every person)
    from govlake.transform import snapshot_history
    result = {"rows": None, "success": snapshot_history(args["day"]).success}
elif stage == "publish":
    result = {"rows": None, "publications": tasks.publish_libraries(args["day"], validation_passed=True)}
elif stage == "open_release":
    # what each release task of publish__open_data runs (dags/open_data.py)
    from govlake.opendata.release import publish_open_dataset
    from govlake.opendata.scan import ReleaseBlocked
    try:
        release = publish_open_dataset(args["dataset"], args["day"]).as_dict()
        result = {"rows": release["rows"], "release": release}
    except ReleaseBlocked as exc:  # a blocked dataset fails its own task only, as in the DAG
        result = {"rows": None, "blocked": str(exc)}
else:
    raise SystemExit(f"unknown stage {stage}")
result["seconds"] = time.perf_counter() - t
# the stage's process or the largest child it waited for (dbt runs as a child process)
result["peak_rss_mb"] = max(resource.getrusage(who).ru_maxrss for who in
                            (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024
print("BENCH_RESULT " + json.dumps(result, default=str))
"""


def run_for_result(command: list[str], what: str) -> dict:
    """Run a bench step in a process of its own; the dict it printed as ``BENCH_RESULT {...}``."""
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            return json.loads(line.removeprefix("BENCH_RESULT "))
    raise RuntimeError(f"{what} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")


def run_stage(stage: str, **args) -> dict:
    return run_for_result([sys.executable, "-c", STAGE_CODE, stage, json.dumps(args)], f"stage {stage}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", default="large", help="province scale (large = 1,000,000 persons)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--date", default="2026-01-15", help="logical date used for the benchmark batches")
    parser.add_argument(
        "--suites", nargs="+", default=list(SUITES), choices=list(SUITES), help="which benchmarks to run"
    )
    parser.add_argument("--dbt-persons", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--validation-rows", type=int, default=10_000_000)
    parser.add_argument("--ingest-rows", type=int, default=1_000_000)
    opts = parser.parse_args()
    if "cycle" in opts.suites:
        run_cycle(opts)
    focused = {
        "ingest": ["ingest_bench.py", "--rows", str(opts.ingest_rows)],
        "dbt": ["dbt_bench.py", "--persons", *map(str, opts.dbt_persons)],
        "validation": ["validation_bench.py", "--rows", str(opts.validation_rows)],
    }
    failed = []
    for suite in (s for s in SUITES if s in opts.suites and s != "cycle"):
        script, *args = focused[suite]
        console.rule(f"{suite}: bench/{script} {' '.join(args)}")
        if subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], cwd=ROOT).returncode:
            failed.append(suite)
    if failed:
        raise SystemExit(f"benchmark suites failed: {', '.join(failed)}")


def run_cycle(opts: argparse.Namespace) -> None:
    from govlake.opendata.definitions import load_open_registry
    from govlake.orchestration.task_bodies import staging_target
    from govlake.registry import iter_datasets

    day = date.fromisoformat(opts.date).isoformat()
    results: list[tuple[str, dict]] = []

    def stage(label: str, name: str, **args) -> dict:
        with console.status(f"{label}…"):
            res = run_stage(name, **args)
        results.append((label, res))
        rate = f"{res['rows'] / res['seconds']:,.0f} rows/s" if res.get("rows") else ""
        console.print(f"  {label}: {res['seconds']:.1f}s {rate} peak {res['peak_rss_mb']:.0f} MiB")
        return res

    started = time.perf_counter()
    stage(f"generate province ({opts.scale})", "generate", scale=opts.scale, seed=opts.seed, day=day)
    loads: dict[str, tuple[dict, dict]] = {}
    for ds in iter_datasets():
        land = stage(f"land+normalise {ds.key}", "land", dataset=ds.key, day=day)
        load = stage(f"load raw {ds.key}", "load", dataset=ds.key, day=day, manifest=land["manifest"])
        copy = stage(f"raw COPY baseline {ds.key}", "raw_copy", table=ds.raw_table, day=day)
        loads[ds.key] = (load, copy)
    stage("dbt staging", "dbt_staging", day=day)
    for ds in iter_datasets():
        stage(f"validate {ds.key}", "validate", target=staging_target(ds.key), day=day)
    stage("dbt libraries", "dbt_libraries", day=day)
    for table in ("population", "legal_entities"):
        stage(f"validate audit.{table}", "validate", target=f"audit.{table}", day=day)
    stage("publish (swap + share views)", "publish", day=day)
    for open_dataset in load_open_registry().datasets:
        res = stage(f"open release {open_dataset.name}", "open_release", dataset=open_dataset.name, day=day)
        if res.get("blocked"):
            console.print(f"  [red]blocked[/red]: {res['blocked']}")

    table = Table(
        title=f"govlake benchmark — scale {opts.scale}, {time.perf_counter() - started:,.0f}s in all"
    )
    for col in ("stage", "rows", "seconds", "rows/s", "peak MiB"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    for label, res in results:
        rows = res.get("rows")
        table.add_row(
            label,
            f"{rows:,}" if rows else "",
            f"{res['seconds']:.1f}",
            f"{rows / res['seconds']:,.0f}" if rows else "",
            f"{res['peak_rss_mb']:.0f}",
        )
    console.print(table)
    ratios = Table(title="load stage vs raw COPY of the same rows (target ≥ 50%)")
    for col in ("dataset", "load rows/s", "raw COPY rows/s", "ratio"):
        ratios.add_column(col)
    for key, (load, copy) in loads.items():
        lr, cr = load["rows"] / load["seconds"], copy["rows"] / copy["seconds"]
        ratios.add_row(key, f"{lr:,.0f}", f"{cr:,.0f}", f"{lr / cr:.0%}")
    console.print(ratios)
    peak = max(r["peak_rss_mb"] for _, r in results)
    console.print(f"highest peak memory of any stage: {peak:,.0f} MiB (target < 1024 MiB)")
    out = ROOT / ".govlake" / "bench" / f"{day}-{opts.scale}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"scale": opts.scale, "results": results}, indent=2, default=str))
    console.print(f"written to {out}")


if __name__ == "__main__":
    main()
