"""``govlake generate``: build the synthetic province and write every department's source.

Mounted on the main ``govlake`` app through the entry point ``govlake.commands`` (:func:`register`),
together with ``govlake demo``.
"""

from __future__ import annotations

from datetime import date as Date  # noqa: N812 - the option is called ``date``

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from demo_province.generator import SCALES, ProvinceReport, generate_province
from demo_province.systems import department_systems
from govlake.settings import get_settings
from govlake.terminal import make_console

console = make_console()


def _parse_date(value: str) -> Date:
    try:
        return Date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD", param_hint="--date") from None


def summary_table(report: ProvinceReport) -> Table:
    table = Table(title=f"Synthetic province: {report.scale}, seed {report.seed}, {report.logical_date}")
    table.add_column("dataset", no_wrap=True)
    table.add_column("rows", justify="right", no_wrap=True)
    table.add_column("defects by kind", no_wrap=True)
    table.add_column("written to", overflow="fold", min_width=24)
    for dataset, rows in report.counts.items():
        kinds = "\n".join(f"{k} {v:,}" for k, v in report.manifest[dataset].items() if v)
        department, _, code = dataset.partition("__")
        table.add_row(f"{department}\n{code}", f"{rows:,}", kinds or "-", report.locations[dataset])
    return table


def generate_command(
    scale: str = typer.Option(
        "small", help=f"How many people: {', '.join(f'{k} ≈ {v:,}' for k, v in SCALES.items())}."
    ),
    seed: int = typer.Option(42, help="Random seed; the same seed and date give byte-identical sources."),
    date: str = typer.Option(
        Date.today().isoformat(), help="Logical date YYYY-MM-DD (no timestamp is later)."
    ),
    defect_rate: float = typer.Option(
        0.02, help="Share of rows per dataset given a realistic defect (0-0.5)."
    ),
) -> None:
    """Generate the synthetic Guizhou province and (re)write every department's source for the date."""
    if scale not in SCALES:
        raise typer.BadParameter(
            f"{scale!r} is not a scale; choose one of {', '.join(SCALES)}", param_hint="--scale"
        )
    if not 0.0 <= defect_rate <= 0.5:
        raise typer.BadParameter(f"{defect_rate} is outside 0-0.5", param_hint="--defect-rate")
    logical_date = _parse_date(date)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        report = generate_province(get_settings(), scale, seed, logical_date, defect_rate, progress=progress)
    console.print(summary_table(report))
    api = department_systems(get_settings()).api_url
    console.print(f"人社厅 API: {api}/api/v1/enrollments   统计局 API: {api}/api/v1/indicators")
    found = ", ".join(
        f"{kind} {len(keys):,}" for kinds in report.findings.values() for kind, keys in kinds.items()
    )
    console.print(f"subsidy-audit findings built in: {found}")
    console.print(f"defects manifest: {report.defects_uri}  ({report.seconds:.1f} s)")


if __name__ == "__main__":
    typer.run(generate_command)


def demo(
    scale: str = typer.Option("small", help="tiny | small | medium | large"),
    seed: int = typer.Option(42, help="Seed of the synthetic province."),
) -> None:
    """Start the stack, generate a province, run one daily cycle through Airflow, print the summary."""
    from govlake.cli import call_command, cycle_run, today
    from govlake.cli.stack_commands import up as stack_up

    call_command(stack_up, timeout=300)
    day = today()
    call_command(generate_command, scale=scale, seed=seed, date=day, defect_rate=0.02)
    call_command(cycle_run, day=day, timeout=3600)
    from govlake.cli.user_commands import create_demo_people, print_demo_people

    people = create_demo_people()
    share_demo_data(day)
    print_demo_people(people)  # the portal's URL and a sign-in per role


def share_demo_data(day: str) -> None:
    """A few requests between departments, approved and read, so the sharing graph has arteries."""
    from demo_province.sharing import seed_sharing
    from govlake.sharing.access import AccessDenied
    from govlake.sharing.dispatch import DispatchError
    from govlake.warehouse import connect

    try:
        with connect(autocommit=True) as conn:
            approved = seed_sharing(conn, Date.fromisoformat(day))
    except (DispatchError, AccessDenied) as exc:  # e.g. a library the cycle did not publish
        console.print(f"[yellow]the demo's data-sharing requests were not all filed: {exc}[/]")
        return
    for r in approved:
        console.print(
            f"数据调度 #{r.request_id}: {r.consumer} ← {r.resource_key} ({'、'.join(r.items)}) 已批准并读取"
        )


def register(app: typer.Typer) -> None:
    """Add ``govlake generate`` and ``govlake demo`` to the platform's command line."""
    app.command("generate", help="Generate a synthetic province into the department systems.")(
        generate_command
    )
    app.command("demo", help="Start the stack, generate a province, run one daily cycle, print the summary.")(
        demo
    )
