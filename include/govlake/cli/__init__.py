"""``govlake`` — the command line for everything a person runs.

govlake stack up|down|status|env     the local stack (PostgreSQL, S3, Airflow, department systems)
govlake cycle run [--date D]         one daily cycle through the Airflow scheduler, then its summary
govlake cycle summary [--date D]     the summary of a cycle that already ran

Packages installed beside govlake add their own commands through the entry-point group
``govlake.commands`` (a function taking the typer app): the synthetic province adds
``govlake generate`` and ``govlake demo``. The platform imports none of them by name.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime

import typer

from govlake.cli.catalog_commands import catalog_app
from govlake.cli.export_commands import export_app
from govlake.cli.lineage_commands import lineage_app
from govlake.cli.sharing_commands import audit_app, request_app
from govlake.cli.stack_commands import stack_app
from govlake.cli.user_commands import users_app
from govlake.terminal import make_console

console = make_console()

app = typer.Typer(
    name="govlake",
    help="govlake: a provincial government data platform (ingest → lake → dbt libraries → GX gates → publish).",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(stack_app, name="stack", help="Start, stop and inspect the local stack.")

app.add_typer(catalog_app, name="catalog", help="政务信息资源目录: sync, search, show, export, classify.")
app.add_typer(request_app, name="request", help="数据调度: data requests, decisions, grants.")
app.add_typer(audit_app, name="audit", help="The hash-chained audit trail of data dispatch.")
app.add_typer(export_app, name="export", help="Scheduled exports into department outboxes.")
app.add_typer(lineage_app, name="lineage", help="血缘: upstream, downstream, impact; OpenLineage collection.")
app.add_typer(users_app, name="users", help="Portal accounts: add, list, disable, reset-password.")

cycle_app = typer.Typer(help="Run and inspect the daily cycle.", no_args_is_help=True)
app.add_typer(cycle_app, name="cycle")


def today() -> str:
    """The cycle date the scheduler itself would run today (DAG schedules are daily at 00:00 UTC)."""
    return datetime.now(UTC).date().isoformat()


def _check_date(value: str) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date like 2026-11-27") from exc


def call_command(command, **values):
    """Call a command function from Python: every parameter not given takes its option's default (a
    typer command's defaults are ``OptionInfo`` objects, which a plain call would pass on as values)."""
    import inspect

    from typer.models import ParameterInfo

    arguments = {}
    for name, parameter in inspect.signature(command).parameters.items():
        default = parameter.default
        arguments[name] = (
            values.pop(name)
            if name in values
            else (default.default if isinstance(default, ParameterInfo) else default)
        )
    if values:
        raise TypeError(f"{command.__name__}() has no parameter {', '.join(values)}")
    return command(**arguments)


@cycle_app.command("run")
def cycle_run(
    day: str = typer.Option(None, "--date", help="Cycle date YYYY-MM-DD (default: today, UTC)."),
    timeout: int = typer.Option(1800, help="Give up waiting after this many seconds."),
) -> None:
    """Run one daily cycle through the Airflow scheduler and print its summary.

    Triggers every ingest DAG for the date (or re-runs it if the date already ran); the scheduler starts
    build and publish from the Asset events. Progress is shown while waiting.
    """
    from govlake.cycle.cycle_runner import check_cycle_date, run_cycle
    from govlake.cycle.cycle_summary import print_summary

    day = _check_date(day or today())
    try:
        check_cycle_date(day)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--date") from exc
    outcome = run_cycle(day, console=console, timeout=timeout)
    report = print_summary(day, console)
    if not outcome.ok:
        console.print(
            f"[bold red]cycle {day} did not complete:[/] {', '.join(outcome.failed)} — "
            "open the Airflow UI for the failing task's log."
        )
        raise typer.Exit(1)
    console.print(f"[bold green]cycle {day} done in {outcome.seconds:,.0f}s[/]")
    if not report.balanced:
        raise typer.Exit(1)


@cycle_app.command("summary")
def cycle_summary(
    day: str = typer.Option(None, "--date", help="Cycle date YYYY-MM-DD (default: today, UTC)."),
) -> None:
    """Print what a cycle extracted, quarantined and published, and where to look."""
    from govlake.cycle.cycle_summary import print_summary

    print_summary(_check_date(day or today()), console)


def _add_plugin_commands() -> None:
    from importlib.metadata import entry_points

    for ep in entry_points(group="govlake.commands"):
        ep.load()(app)


_add_plugin_commands()


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
