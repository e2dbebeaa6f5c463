"""Time the cross-department validation rules alone, on a kept province stack (issue 19).

    eval "$(GOVLAKE_HOME=.govlake/province ... govlake stack env)"
    .venv/bin/python bench/cross_department_rules.py --day 2026-01-16            # a day's batches
    .venv/bin/python bench/cross_department_rules.py --day 2026-01-15 --explain  # a first load's, with plans

Every rule of a staging suite that reads another department's staged rows (``latest_clean_rows`` or a
join into the other staging view) is run as the quarantine runs it — the failing rows of the batch of
``--day``, counted — one after another on an otherwise idle warehouse. Printed per rule: the batch's rows,
the failing rows, seconds, and which key index on the other department's raw table (``<table>__<key>_idx``,
none today) the plan probes, if any (``--explain`` prints the plan's node lines with their actual rows
and times). ``--timeout`` stops a rule that runs away (its time is then reported as "> timeout").
"""

from __future__ import annotations

import argparse
import re
import time
from datetime import date

import psycopg
from rich.console import Console
from rich.table import Table

from govlake.quality import load_suites
from govlake.quality.suites import Rule, Suite
from govlake.quality.validate import date_literal
from govlake.warehouse import connect

console = Console()
LOOKUP_INDEX = re.compile(r"\w+__(?:resident_id|household_id|credit_code)_idx")
STAGING_VIEW = re.compile(r"staging\.stg_\w+")


def cross_department_rules() -> list[tuple[Suite, Rule]]:
    found = []
    for suite in load_suites().values():
        if suite.kind != "staging":
            continue
        for rule in suite.rules:
            if rule.query and any(m.group(0) != suite.target for m in STAGING_VIEW.finditer(rule.query)):
                found.append((suite, rule))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--day", required=True, type=date.fromisoformat)
    parser.add_argument("--explain", action="store_true", help="print each plan with actual rows and times")
    parser.add_argument("--timeout", type=int, default=600, help="seconds before a rule is stopped")
    args = parser.parse_args()
    literal = date_literal(args.day)
    table = Table(title=f"cross-department rules, batches of {args.day}")
    for column in ("suite", "rule", "batch rows", "failing", "s", "lookup index"):
        table.add_column(column, justify="right" if column in ("batch rows", "failing", "s") else "left")
    with connect(autocommit=True) as conn:
        conn.execute(f"set statement_timeout = '{args.timeout}s'")
        for suite, rule in cross_department_rules():
            batch_rows = conn.execute(f"select count(*) from ({suite.batch_sql(literal)}) b").fetchone()[0]
            failing_sql = suite.failing_rows_sql(rule, literal)
            plan = "\n".join(r[0] for r in conn.execute(f"explain select count(*) from ({failing_sql}) q"))
            probes = ", ".join(sorted(set(LOOKUP_INDEX.findall(plan)))) or "no"
            started = time.perf_counter()
            try:
                if args.explain:  # the plan as run; its count is the Aggregate's input, not printed apart
                    query = f"explain (analyze, timing off) select count(*) from ({failing_sql}) q"
                    lines = [r[0] for r in conn.execute(query)]
                    console.print(f"[bold]{suite.name}.{rule.rule}[/bold]")
                    console.print("\n".join(lines), markup=False, highlight=False)
                    failing = "-"
                else:
                    failing = f"{conn.execute(f'select count(*) from ({failing_sql}) q').fetchone()[0]:,}"
                seconds = f"{time.perf_counter() - started:,.1f}"
            except psycopg.errors.QueryCanceled:
                failing, seconds = "-", f"> {args.timeout}"
            table.add_row(suite.name, rule.rule, f"{batch_rows:,}", failing, seconds, probes)
            console.print(f"{suite.name}.{rule.rule}: {seconds} s", highlight=False)
    console.print(table)


if __name__ == "__main__":
    main()
