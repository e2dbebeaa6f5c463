"""The end-of-cycle summary: what came in, what was quarantined, what was published where, and how to look."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table

from govlake.settings import Settings, get_settings
from govlake.warehouse import connect


@dataclass
class CycleReport:
    day: str
    batches: list[dict[str, Any]]
    validations: list[dict[str, Any]]
    failed_rules: list[dict[str, Any]]
    publications: list[dict[str, Any]]

    @property
    def balanced(self) -> bool:
        return bool(self.batches) and all(b["balanced"] for b in self.batches)


def _rows(conn, query: str, params: tuple) -> list[dict[str, Any]]:
    cur = conn.execute(query, params)
    names = [c.name for c in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def collect(day: str, settings: Settings | None = None) -> CycleReport:
    with connect(settings) as conn:
        batches = _rows(
            conn,
            """
            select b.batch_id, b.department, b.dataset, b.source_kind, b.rows_extracted, b.rows_loaded,
                   b.rows_rejected as rejected_at_ingest,
                   coalesce(q.validate_rows, 0) as quarantined_at_validation,
                   r.rows_in, r.rows_published, r.rows_quarantined, r.rows_held,
                   coalesce(r.balanced, false) as balanced
              from platform.batches b
              left join platform.reconciliation r using (batch_id)
              left join (select batch_id, count(distinct (source_file, source_row)) as validate_rows
                           from platform.quarantine where stage = 'validate' and superseded_at is null
                          group by batch_id) q using (batch_id)
             where b.logical_date = %s
             order by b.department, b.dataset""",
            (day,),
        )
        validations = _rows(
            conn,
            """
            select suite, target, success, blocking_failures,
                   (select count(*) from platform.validation_results r where r.validation_id = v.validation_id) as expectations,
                   (select count(*) from platform.validation_results r
                     where r.validation_id = v.validation_id and not r.success) as failed
              from platform.validation_runs v where logical_date = %s order by suite""",
            (day,),
        )
        failed_rules = _rows(
            conn,
            """
            select v.suite, r.expectation, r.dimension, r.severity, r.unexpected_count, r.success
              from platform.validation_results r join platform.validation_runs v using (validation_id)
             where v.logical_date = %s and coalesce(r.unexpected_count, 0) > 0
             order by r.unexpected_count desc nulls last limit 20""",
            (day,),
        )
        publications = _rows(
            conn,
            """
            select zone, target, rows, status from platform.publications
             where logical_date = %s order by zone, target""",
            (day,),
        )
    return CycleReport(day, batches, validations, failed_rules, publications)


def render(report: CycleReport, settings: Settings | None = None) -> Group:
    settings = settings or get_settings()
    ingest = Table(title=f"Batches of {report.day}: rows in = published + quarantined")
    for col in (
        "department",
        "dataset",
        "source",
        "extracted",
        "loaded",
        "quarantined\n(ingest)",
        "quarantined\n(validation)",
        "published",
        "held",
        "balanced",
    ):
        ingest.add_column(col, justify="right" if col not in ("department", "dataset", "source") else "left")
    for b in report.batches:
        ingest.add_row(
            b["department"],
            b["dataset"],
            b["source_kind"],
            f"{b['rows_extracted']:,}",
            f"{b['rows_loaded']:,}",
            f"{b['rejected_at_ingest']:,}",
            f"{b['quarantined_at_validation']:,}",
            f"{b['rows_published'] or 0:,}",
            f"{b['rows_held'] or 0:,}",
            "[green]✔[/]" if b["balanced"] else "[red]✘[/]",
        )
    quality = Table(title="Quality gates (Great Expectations, pushed down to SQL)")
    for col in ("suite", "target", "expectations", "failed", "blocking failures", "result"):
        quality.add_column(col)
    for v in report.validations:
        quality.add_row(
            v["suite"],
            v["target"],
            str(v["expectations"]),
            str(v["failed"]),
            str(v["blocking_failures"]),
            "[green]pass[/]" if v["success"] else "[red]fail[/]",
        )
    rules = Table(title="Rules with failing rows")
    for col in ("suite", "rule", "dimension", "severity", "rows", "within threshold"):
        rules.add_column(col)
    for r in report.failed_rules:
        rules.add_row(
            r["suite"],
            r["expectation"],
            r["dimension"],
            r["severity"],
            f"{r['unexpected_count']:,}",
            "yes" if r["success"] else "[red]no[/]",
        )
    pubs = Table(title="Published")
    for col in ("zone", "target", "rows", "status"):
        pubs.add_column(col)
    for p in report.publications:
        pubs.add_row(
            p["zone"],
            p["target"],
            f"{p['rows']:,}" if p["rows"] is not None else "",
            "[green]published[/]" if p["status"] == "published" else f"[red]{p['status']}[/]",
        )
    access = Panel.fit(
        f"Airflow UI   {settings.airflow_url}   login {settings.airflow_user} / {settings.airflow_password}\n"
        f"Analysts     psql '{settings.warehouse_url}'\n"
        f"Departments  psql as dept_<department> (each department's password in {settings.home / 'departments.env'}): "
        "exchange.* — 无条件共享 items at once, 有条件共享 ones by `govlake request submit`\n"
        f"S3 (lake)    {settings.s3_url}   (keys: `govlake stack env`)\n"
        f"Stop         make down",
        title="Where to look",
    )
    verdict = (
        "[bold green]Reconciled: every row is published or quarantined with a reason.[/]"
        if report.balanced
        else "[bold red]Not reconciled — see the batches table.[/]"
    )
    return Group(ingest, quality, rules, pubs, verdict, access)


def print_summary(day: str, console: Console | None = None, settings: Settings | None = None) -> CycleReport:
    console = console or Console()
    report = collect(day, settings)
    console.print(render(report, settings))
    return report
