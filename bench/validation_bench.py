"""Benchmark the quality gate in SQL: validate + quarantine 10 million staging-shaped rows.

    .venv/bin/python bench/validation_bench.py                 # 10,000,000 rows, 1 % defects
    .venv/bin/python bench/validation_bench.py --rows 1000000
    .venv/bin/python bench/validation_bench.py --rows 1000000 --engines one_pass,per_rule --repeat 2

Each engine (``one_pass``: every row rule in one scan, failing rows kept for the quarantine's INSERT …
SELECT; ``per_rule``: GX counts each rule's query, the quarantine runs each failing rule's query again)
runs validate + quarantine on the same rows, next to the baseline "plain SQL": one hand-written
``select count(*) filter (where <check>) …`` over the batch computing the suite's checks (the same
predicates, the uniqueness rule a window over the same scan) and nothing else — no messages, no rows
written, no records. ``--repeat`` alternates baseline and engines (a shared machine's load moves); the
table shows every run and the ratio of each engine run to the baseline run just before it.

The rows are generated inside PostgreSQL (``generate_series``) in a scratch database on the configured
cluster — 公安厅 household registrations with valid resident IDs, with a share of them broken in the ways
the suite checks (check digit, division code, gender, status, birth date vs ID, duplicates). Then the
same functions the build DAG calls run: ``validate`` (GX, every rule a SQL count) and
``quarantine_failures`` (INSERT … SELECT of every failing row + the JSONL object in S3), and
``resolve_corrected``. Printed: seconds, rows/s and the Python process's peak memory per step (the data
never passes through Python, so memory stays flat whatever the row count). The scratch database and the
S3 object are removed at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import time
from datetime import date
from pathlib import Path

import psycopg
from psycopg import sql
from rich.console import Console
from rich.table import Table

from govlake.quality.sql import ric_check_char
from govlake.registry import LINEAGE_COLUMNS, get_dataset
from govlake.settings import PROJECT_DIR, get_settings
from govlake.warehouse import connect, ensure_platform_schema

console = Console()
DAY = date(1999, 12, 31)
SUITE = "stg_public_security__household_registrations"
COUNTIES = [
    "520102",
    "520103",
    "520111",
    "520112",
    "520302",
    "520402",
    "520502",
    "522301",
    "522601",
    "522701",
]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _create(conn: psycopg.Connection) -> None:
    ds = get_dataset("public_security__household_registration")
    cols = [sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.sql_type)) for c in ds.columns]
    cols += [sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in LINEAGE_COLUMNS]
    conn.execute("create schema staging; create schema reference")
    conn.execute(
        sql.SQL("create unlogged table staging.stg_public_security__household_registrations ({})").format(
            sql.SQL(", ").join(cols)
        )
    )
    conn.execute(
        "create table reference.divisions (code text primary key, name text, level text, parent_code text)"
    )
    with (PROJECT_DIR / "dbt_project" / "seeds" / "divisions.csv").open(encoding="utf-8") as f:
        header = f.readline().strip().split(",")
        with conn.cursor().copy(
            f"copy reference.divisions ({', '.join(header)}) from stdin (format csv)"
        ) as copy:
            for line in f:
                copy.write(line)


def _generate(conn: psycopg.Connection, rows: int, defect_rate: float) -> None:
    """Valid rows built in SQL (ID check characters by the same macro the rules use), then defects."""
    counties = "array[" + ", ".join(f"'{c}'" for c in COUNTIES) + "]"
    # unique IDs for up to 250 million rows: sequence number, birth day and county all move with g
    body = (
        f"({counties})[1 + mod(g / 25000000, {len(COUNTIES)})]"
        " || to_char(date '1940-01-01' + mod(g / 1000, 25000), 'YYYYMMDD') || lpad(mod(g, 1000)::text, 3, '0')"
    )
    birth = "date '1940-01-01' + mod(g / 1000, 25000)"
    conn.execute(
        f"""insert into staging.stg_public_security__household_registrations
        select id || {ric_check_char("id")}, '测试' || g, case when mod(g, 2) = 0 then '男' else '女' end, '汉族',
               {birth}, ({counties})[1 + mod(g, {len(COUNTIES)})], '贵州省',
               'H' || g, '户主', '正常', null, timestamptz '1999-12-31 12:00+00',
               'public_security__household_registration__1999-12-31', date '1999-12-31', 'bench.csv', g,
               timestamptz '1999-12-31 13:00+00'
        from generate_series(1, {rows}) g, lateral (select {body} as id) b"""
    )
    every = max(int(1 / defect_rate), 1)
    conn.execute(
        f"""update staging.stg_public_security__household_registrations set
            gender = case when mod(_source_row / {every}, 4) = 0 then '未知' else gender end,
            status = case when mod(_source_row / {every}, 4) = 1 then '失踪' else status end,
            division_code = case when mod(_source_row / {every}, 4) = 2 then '520100' else division_code end,
            resident_id = case when mod(_source_row / {every}, 4) = 3
                          then substr(resident_id, 1, 17) || case when right(resident_id, 1) = '0' then '1' else '0' end
                          else resident_id end
        where mod(_source_row, {every}) = 0"""
    )
    conn.execute("analyze staging.stg_public_security__household_registrations")


def plain_sql_checks(conn: psycopg.Connection, batch_sql: str, suite_name: str = SUITE) -> dict[str, int]:
    """The baseline: the suite's row checks as one counting query over the batch (no rows kept). Only the
    rules the one pass folds are counted (``not_folded``: the others, which compare with another
    department's rows); the bench's own suite folds every rule. The rows that repeat a key are found the
    way the one pass finds them (a hash aggregate into a scratch table, then a join). One statement on one
    connection, as a person would write it: the one pass splits the batch over connections, this does not."""
    import uuid

    from govlake.quality.rule_scan import FoldedRule, drop_tables, fold_suite, from_clause, materialize
    from govlake.quality.suites import get_suite

    suite = get_suite(suite_name)
    folded, separate = fold_suite(suite)
    checks: dict[int, FoldedRule] = folded
    verdicts = ", ".join([f"{f.verdict} as v{i}" for i, f in checks.items()] or ["true as v0"])
    counts = "".join(f", count(*) filter (where v{i})" for i in checks)
    with conn.transaction():
        tables = materialize(conn, batch_sql, checks, str(uuid.uuid4()))
        from_sql = from_clause(batch_sql, checks, tables)
        row = conn.execute(f"select count(*){counts} from (select {verdicts} from {from_sql}) b").fetchone()
        drop_tables(conn, tables.values())
    found = {suite.rules[i - 1].rule: n for i, n in zip(checks, row[1:], strict=True)}
    return {"rows": row[0], "not_folded": len(separate)} | found


class CpuClock:
    """CPU seconds of this process plus the PostgreSQL cluster it talks to (when it runs on this machine).

    On a machine shared by many runnable processes wall time mostly measures the queue; the CPU a step
    used does not. The cluster's share is what its processes (backends, GX's pool connections, autovacuum,
    WAL writer) used during the step: live children's time now minus when the step began, plus the
    postmaster's reaped-children time gained minus what the children that exited had used before the step
    (a long-lived connection of another client closing must not dump its lifetime into the step).
    ``None`` when the cluster's processes cannot be read (another machine, a container).
    """

    def __init__(self, conn: psycopg.Connection) -> None:
        self.postmaster: int | None = None
        try:
            data = conn.execute("show data_directory").fetchone()[0]
            self.postmaster = int(Path(data, "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, psycopg.Error):
            self.postmaster = None
        self.ticks = os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _stat(pid: int) -> list[str]:
        text = Path(f"/proc/{pid}/stat").read_text()
        return text[text.rindex(")") + 2 :].split()

    def snapshot(self) -> tuple[float, float, dict[int, float]] | None:
        """(this process's CPU, the postmaster's own + reaped children's CPU, live children's CPU by pid)."""
        own = resource.getrusage(resource.RUSAGE_SELF)
        if self.postmaster is None:
            return None
        try:
            fields = self._stat(self.postmaster)  # utime stime cutime cstime at [11:15]
        except OSError:
            return None
        children: dict[int, float] = {}
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                child = self._stat(int(proc.name))
            except OSError:
                continue
            if int(child[1]) == self.postmaster:
                children[int(proc.name)] = sum(int(x) for x in child[11:13]) / self.ticks
        return own.ru_utime + own.ru_stime, sum(int(x) for x in fields[11:15]) / self.ticks, children

    @staticmethod
    def used(before, after) -> float | None:
        if before is None or after is None:
            return None
        (own0, main0, kids0), (own1, main1, kids1) = before, after
        live = sum(cpu - kids0.get(pid, 0.0) for pid, cpu in kids1.items())
        exited = sum(cpu for pid, cpu in kids0.items() if pid not in kids1)
        return (own1 - own0) + (main1 - main0 - exited) + live


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--defect-rate", type=float, default=0.01)
    parser.add_argument("--engines", default="one_pass", help="comma-separated: one_pass, per_rule")
    parser.add_argument("--repeat", type=int, default=1, help="alternate baseline and engines this often")
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]

    base = get_settings()
    name = "govlake_validation_bench"
    with psycopg.connect(base.pg_url("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    settings = dataclasses.replace(base, warehouse_db=name)
    steps: list[tuple[str, float, float, str, str, float | None]] = []
    cpu: CpuClock | None = None

    def used(before) -> float | None:
        return CpuClock.used(before, cpu.snapshot() if cpu else None)

    try:
        with connect(settings, autocommit=True) as conn:
            ensure_platform_schema(conn)
            _create(conn)
            cpu = CpuClock(conn)
            c0 = cpu.snapshot()
            t = time.perf_counter()
            with console.status(f"generating {args.rows:,} rows in PostgreSQL"):
                _generate(conn, args.rows, args.defect_rate)
            steps.append(("generate (SQL)", time.perf_counter() - t, peak_mb(), "", _load(), used(c0)))

        from govlake.quality import get_suite, quarantine_failures, validate
        from govlake.quality.resolution import resolve_corrected
        from govlake.quality.validate import date_literal

        batch_sql = get_suite(SUITE).batch_sql(date_literal(DAY))
        with console.status("importing Great Expectations (a task's fixed start-up, not timed)"):
            import govlake.quality.gx_runner  # noqa: F401
        for _ in range(args.repeat):
            with connect(settings, autocommit=True) as conn:
                c0, t = cpu.snapshot(), time.perf_counter()
                with console.status("plain SQL: the suite's checks as one counting query"):
                    plain = plain_sql_checks(conn, batch_sql)
                baseline = time.perf_counter() - t
                baseline_cpu = used(c0)
            assert plain["not_folded"] == 0, "every rule of the bench suite folds"
            plain_failing = {k: v for k, v in plain.items() if v and k not in ("rows", "not_folded")}
            steps.append(
                ("plain SQL checks", baseline, peak_mb(), json.dumps(plain_failing), _load(), baseline_cpu)
            )
            for engine in engines:
                c0, t = cpu.snapshot(), time.perf_counter()
                with console.status(f"validate ({engine})"):
                    outcome = validate(SUITE, DAY, settings, engine=engine)
                validated, validated_cpu = time.perf_counter() - t, used(c0)
                failing = {r.rule: r.unexpected_count for r in outcome.results if r.unexpected_count}
                assert failing == plain_failing, (engine, failing, plain_failing)
                steps.append(
                    (
                        f"validate ({engine})",
                        validated,
                        peak_mb(),
                        json.dumps(failing),
                        _load(),
                        validated_cpu,
                    )
                )
                c0, t = cpu.snapshot(), time.perf_counter()
                with console.status("quarantine: INSERT … SELECT + JSONL to S3"):
                    summary = quarantine_failures(SUITE, DAY, outcome, settings)
                quarantined, quarantined_cpu = time.perf_counter() - t, used(c0)
                steps.append(
                    (
                        f"quarantine ({engine})",
                        quarantined,
                        peak_mb(),
                        f"{summary.rows_quarantined:,} records",
                        _load(),
                        quarantined_cpu,
                    )
                )
                total = validated + quarantined
                total_cpu = (
                    None
                    if validated_cpu is None or quarantined_cpu is None
                    else validated_cpu + quarantined_cpu
                )
                ratio = f"wall {baseline / total:.0%} of plain SQL (its run just before)"
                if total_cpu and baseline_cpu:
                    ratio += f", CPU {baseline_cpu / total_cpu:.0%}"
                steps.append(
                    (f"**validate + quarantine ({engine})**", total, peak_mb(), ratio, _load(), total_cpu)
                )

        c0, t = cpu.snapshot(), time.perf_counter()
        resolved = resolve_corrected("public_security__household_registration", DAY, settings)
        steps.append(
            (
                "resolve_corrected",
                time.perf_counter() - t,
                peak_mb(),
                f"{resolved} resolved",
                _load(),
                used(c0),
            )
        )
    finally:
        from govlake.lake import s3_client

        s3_client(base).remove_object(
            "quarantine", f"public_security/household_registration/{DAY.isoformat()}/validate.jsonl"
        )
        with psycopg.connect(base.pg_url("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))

    table = Table(title=f"Quality gate on {args.rows:,} staging rows ({args.defect_rate:.1%} defects)")
    columns = ("step", "seconds", "rows/s", "CPU s (PG + Python)", "rows per CPU s", "peak RSS (MB, Python)")
    for column in (*columns, "load avg 1/5/15", "result"):
        table.add_column(column)
    for step, seconds, mb, note, load, cpu_s in steps:
        per_cpu = f"{args.rows / cpu_s:,.0f}" if cpu_s else "-"
        cpu_text = f"{cpu_s:.1f}" if cpu_s is not None else "-"
        table.add_row(
            step, f"{seconds:.1f}", f"{args.rows / seconds:,.0f}", cpu_text, per_cpu, f"{mb:.0f}", load, note
        )
    console.print(table)
    print(json.dumps({"rows": args.rows, "steps": steps}, ensure_ascii=False))


if __name__ == "__main__":
    main()
