"""``govlake export``: list subscriptions, run one for a date, show past runs."""

from __future__ import annotations

import datetime as dt

import typer
from rich.table import Table

from govlake.terminal import make_console

export_app = typer.Typer(
    help="Scheduled exports into department outboxes (s3://exchange/<dept>/exports/).", no_args_is_help=True
)
console = make_console()


@export_app.command("list")
def list_() -> None:
    """Every subscription (= one export DAG) and where it is defined."""
    from govlake.sharing.subscriptions import load_subscriptions

    errors: list[str] = []
    subs = load_subscriptions(errors=errors)
    table = Table(title_justify="left")
    for col in ("DAG", "items", "filter", "format", "schedule", "file"):
        table.add_column(col, overflow="fold")
    for s in subs:
        table.add_row(s.dag_id, ", ".join(s.items), str(s.filter or ""), s.format, s.schedule, s.source_file)
    console.print(table)
    for e in errors:
        console.print(f"[red]skipped:[/] {e}")


@export_app.command("run")
def run(
    subscription: str = typer.Argument(..., help="export__<consumer>__<resource>"),
    day: str = typer.Option(None, "--date", help="YYYY-MM-DD (default today)"),
) -> None:
    """Run one export now (what its DAG does) and print the manifest and download link."""
    from govlake.exports.run import ExportError, run_export
    from govlake.sharing.subscriptions import SubscriptionError, get_subscription

    try:
        with console.status(f"exporting {subscription}"):
            result = run_export(get_subscription(subscription), day or dt.date.today().isoformat())
    except (ExportError, SubscriptionError) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    console.print(
        f"{result['rows']} rows → {result['file']}\nsha256 {result['sha256']}\n"
        f"link (until {result['expires_at']}): {result['download_url']}\nwebhook: {result['notified']}"
    )
