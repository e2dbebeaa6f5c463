"""``govlake stack``: start, stop and inspect the local stack."""

from __future__ import annotations

import shlex

import typer
from rich.table import Table

from govlake.settings import Settings, load_settings
from govlake.stack import airflow, manager
from govlake.stack.process import StackError
from govlake.terminal import make_console

stack_app = typer.Typer(
    help="The local stack: PostgreSQL, SeaweedFS S3, Airflow and the simulated department API.",
    no_args_is_help=True,
)
console = make_console()
err_console = make_console(stderr=True)


def _settings() -> Settings:
    # Read fresh each time: `up` may just have written generated secrets into stack.env.
    return load_settings()


def _health_cell(component: manager.ComponentStatus) -> str:
    if component.state == "missing":
        return "[yellow]missing[/]"
    if component.state == "stopped":
        return "[dim]stopped[/]"
    return "[green]healthy[/]" if component.healthy else "[red]unhealthy[/]"


def _table(components: list[manager.ComponentStatus], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("component", "health", "address", "pid", "detail", "log"):
        table.add_column(column, overflow="fold")
    for c in components:
        table.add_row(
            c.name, _health_cell(c), c.address or "-", str(c.pid or "-"), c.detail, str(c.log or "-")
        )
    return table


@stack_app.command()
def up(
    timeout: float = typer.Option(300, help="Seconds to wait for every component to become healthy."),
    executor: str | None = typer.Option(None, help="local (LocalExecutor) or celery (Redis + workers)."),
    workers: int | None = typer.Option(None, help="Celery workers to run (with --executor celery)."),
    edge: bool | None = typer.Option(
        None, help="Front-end processors (前置机): an Edge worker per department."
    ),
    s3: str | None = typer.Option(None, help="single (weed mini) or cluster (master, 3 volumes, filer, s3)."),
    standby: bool | None = typer.Option(None, help="A read-only PostgreSQL hot standby."),
) -> None:
    """Start every component that is not running (idempotent) and wait until all are healthy.

    The scale-out options are remembered in the stack's stack.env (docs/SCALING.md)."""
    from govlake.stack.scaleout import scaleout_settings

    settings = scaleout_settings(_settings(), executor, workers, edge, s3, standby)
    try:
        with console.status("starting the local stack") as spinner:
            result = manager.up(settings, timeout=timeout, progress=lambda text: spinner.update(text))
    except StackError as exc:
        err_console.print(f"[red]stack up failed:[/] {exc}")
        raise typer.Exit(1) from exc
    if result.started:
        console.print(f"started: {', '.join(result.started)}")
    if result.already_running:
        console.print(f"already running: {', '.join(result.already_running)}")
    console.print(_table(result.components, f"govlake stack at {settings.home}"))
    console.print('Use it from a shell with: eval "$(govlake stack env)"')
    if not result.healthy:
        raise typer.Exit(1)


@stack_app.command()
def down(
    timeout: float = typer.Option(60, help="Seconds each component may take to stop before it is killed."),
) -> None:
    """Stop every component of the stack (Airflow, department API, S3, then PostgreSQL)."""
    settings = _settings()
    with console.status("stopping the local stack"):
        results = manager.down(settings, timeout=timeout)
    for name, outcome in results.items():
        console.print(f"{name}: {outcome}")


@stack_app.command()
def status() -> None:
    """Show each component: health, address, pid and log file."""
    settings = _settings()
    console.print(_table(manager.status(settings), f"govlake stack at {settings.home}"))


def env_lines(settings: Settings) -> list[str]:
    """Shell export lines: the platform's settings plus what the `airflow` CLI needs to reach the stack."""
    lines = list(settings.export_lines())
    extra = {
        "GOVLAKE_PROJECT_DIR": airflow.govlake_env(settings)["GOVLAKE_PROJECT_DIR"],
        "AIRFLOW_HOME": str(airflow.airflow_home(settings)),
    }
    extra.update(airflow.connection_env(settings))
    extra.update(airflow.airflow_config(settings))
    lines += [f"export {key}={shlex.quote(value)}" for key, value in extra.items()]
    return lines


@stack_app.command()
def env() -> None:
    """Print `export` lines for a shell: eval "$(govlake stack env)" then run psql, airflow, dbt, ..."""
    for line in env_lines(_settings()):
        typer.echo(line)
