"""What lineage collection costs the daily cycle (issue 16: under 5 % at scale ``small``).

    .venv/bin/python bench/lineage_overhead_bench.py [--scale small] [--pairs 2]

Runs the same cycle (same scale, seed and date, each on a fresh stack of its own, LocalExecutor) with
lineage collection on and off, alternating (on, off, on, off, ...) so that a drift of the machine's load
falls on both sides. Off means ``GOVLAKE_LINEAGE=false``: Airflow's OpenLineage provider disabled and no
``collect_lineage`` task in the build DAG. Reported: each cycle's wall time and the tasks' summed time,
the machine's busy CPU seconds during the cycle (steadier than wall time on a quiet machine), the medians
per side and the overhead (median on / median off - 1). Results are printed and written to
``.govlake/bench/lineage-overhead-<date>-<scale>.json``. Not a timed test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scaleout_bench import ROOT, run_shape  # noqa: E402

console = Console()
SIDES = {"lineage on": {"GOVLAKE_LINEAGE": "true"}, "lineage off": {"GOVLAKE_LINEAGE": "false"}}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", default="small")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--date", default=datetime.now(UTC).date().isoformat())
    parser.add_argument("--pairs", type=int, default=2)
    opts = parser.parse_args()
    runs = []
    for n in range(opts.pairs):
        for side, overrides in SIDES.items():
            console.print(f"[bold]{side}[/] (pair {n + 1}/{opts.pairs}) at scale {opts.scale}")
            result = run_shape(side.replace(" ", "-"), opts.scale, opts.date, opts.seed, overrides)
            result["side"] = side
            runs.append(result)
            console.print({k: v for k, v in result.items() if k != "task_durations"})
    summary = {}
    for side in SIDES:
        mine = [r for r in runs if r["side"] == side and r.get("ok")]
        summary[side] = {
            "cycles": len(mine),
            "cycle_s_median": statistics.median(r["cycle_s"] for r in mine) if mine else None,
            "task_s_median": statistics.median(r["task_seconds"] for r in mine) if mine else None,
            "machine_cpu_s_median": statistics.median(r["machine_cpu_s"] for r in mine) if mine else None,
            "lineage_events_min": min((r["lineage_events"] for r in mine), default=None),
            "lineage_events_max": max((r["lineage_events"] for r in mine), default=None),
        }
    # A side measures what it says only if "on" collected Airflow's and dbt's events and "off" none.
    summary["collected_as_configured"] = all(
        (r["lineage_airflow_events"] > 0 and r["column_edges"] > 0)
        if r["side"] == "lineage on"
        else r["lineage_events"] == 0
        for r in runs
        if r.get("ok")
    )
    on, off = summary["lineage on"], summary["lineage off"]
    if on["cycle_s_median"] and off["cycle_s_median"]:
        summary["overhead_wall"] = round(on["cycle_s_median"] / off["cycle_s_median"] - 1, 4)
        summary["overhead_task_time"] = round(on["task_s_median"] / off["task_s_median"] - 1, 4)
        summary["overhead_machine_cpu"] = round(
            on["machine_cpu_s_median"] / off["machine_cpu_s_median"] - 1, 4
        )
    console.print(summary)
    out = ROOT / ".govlake" / "bench" / f"lineage-overhead-{opts.date}-{opts.scale}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"runs": runs, "summary": summary}, indent=2) + "\n", encoding="utf-8")
    console.print(f"written to {out}")


if __name__ == "__main__":
    main()
