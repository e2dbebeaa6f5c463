"""``govlake request`` (数据调度) and ``govlake audit`` (the hash-chained trail)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from govlake.terminal import make_console

request_app = typer.Typer(
    help="数据调度: file, decide, escalate, revoke, expire data requests.", no_args_is_help=True
)
audit_app = typer.Typer(
    help="The dispatch audit trail: show and verify the hash chain.", no_args_is_help=True
)
console = make_console()
STATE_COLOURS = {
    "pending": "yellow",
    "escalated": "red",
    "approved": "green",
    "rejected": "dim",
    "revoked": "magenta",
    "expired": "dim",
}


def _conn():
    from govlake.warehouse import connect

    return connect(autocommit=True)


def _run(action):
    from govlake.catalog.model import CatalogError
    from govlake.sharing.dispatch import DispatchError
    from govlake.warehouse.department_roles import RoleError

    try:
        return action()
    except (DispatchError, CatalogError, RoleError) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc


def _print(requests) -> None:
    table = Table(title_justify="left")
    for col in ("#", "consumer", "resource", "owner", "items", "period", "state", "SLA left", "reason"):
        table.add_column(col, overflow="fold")
    for r in requests:
        left = r.sla_remaining()
        clock = "-" if left is None else f"{left.total_seconds() / 3600:+.1f} h"
        table.add_row(
            str(r.request_id),
            r.consumer,
            r.resource_key,
            r.owner,
            ", ".join(r.items),
            f"{r.period_start}…{r.period_end}",
            f"[{STATE_COLOURS.get(r.state, '')}]{r.state}[/]",
            clock,
            r.reason or "",
        )
    console.print(table)


@request_app.command("submit")
def submit(
    consumer: str = typer.Option(..., help="requesting department code"),
    resource: str = typer.Option(..., help="catalog key or resource code"),
    items: str = typer.Option(..., help="comma-separated 有条件共享 items"),
    purpose: str = typer.Option(...),
    legal_basis: str = typer.Option(..., help="the law or document that allows the use"),
    start: str = typer.Option(None, help="period start YYYY-MM-DD (default today)"),
    end: str = typer.Option(..., help="period end YYYY-MM-DD"),
    sla_hours: float = typer.Option(120, help="hours the owner has to answer"),
) -> None:
    """File a request for items of a resource."""
    from govlake.sharing.dispatch import submit_request

    begin = dt.date.fromisoformat(start) if start else dt.date.today()
    with _conn() as conn:
        r = _run(
            lambda: submit_request(
                conn,
                consumer,
                resource,
                items.split(","),
                purpose,
                legal_basis,
                begin,
                dt.date.fromisoformat(end),
                sla_hours=sla_hours,
            )
        )
    _print([r])


@request_app.command("list")
def list_(
    state: str = typer.Option(None), consumer: str = typer.Option(None), owner: str = typer.Option(None)
) -> None:
    """Requests with their state and SLA clock."""
    from govlake.sharing.dispatch import list_requests

    with _conn() as conn:
        _print(list_requests(conn, consumer, owner, state))


@request_app.command("approve")
def approve(
    request_id: int,
    actor: str = typer.Option(..., help="owner department or data_office"),
    reason: str = typer.Option(None),
) -> None:
    """Approve: provisions the grant and the column privileges."""
    from govlake.sharing.dispatch import approve as run

    with _conn() as conn:
        _print([_run(lambda: run(conn, request_id, actor, reason))])


@request_app.command("reject")
def reject(request_id: int, actor: str = typer.Option(...), reason: str = typer.Option(...)) -> None:
    """Reject with a reason."""
    from govlake.sharing.dispatch import reject as run

    with _conn() as conn:
        _print([_run(lambda: run(conn, request_id, actor, reason))])


@request_app.command("revoke")
def revoke(request_id: int, actor: str = typer.Option(...), reason: str = typer.Option(...)) -> None:
    """Revoke an approved request's grant now."""
    from govlake.sharing.dispatch import revoke as run

    with _conn() as conn:
        _print([_run(lambda: run(conn, request_id, actor, reason))])


@request_app.command("sweep")
def sweep() -> None:
    """Escalate overdue requests to the data office and expire grants whose period is over."""
    from govlake.sharing.dispatch import escalate_overdue, expire_grants

    with _conn() as conn:
        escalated, expired = escalate_overdue(conn), expire_grants(conn)
    console.print(
        f"escalated: {[r.request_id for r in escalated]}; expired: {[r.request_id for r in expired]}"
    )


@request_app.command("roles")
def roles(
    departments: Annotated[list[str], typer.Argument(help="department codes (or data_office)")],
) -> None:
    """Provision department login roles; passwords go to <GOVLAKE_HOME>/departments.env (0600)."""
    from govlake.settings import get_settings
    from govlake.warehouse.department_roles import credentials_file, ensure_department_role, role_name

    with _conn() as conn:
        for dept in departments:
            _run(lambda d=dept: ensure_department_role(conn, d))
            console.print(f"{role_name(dept)} ready")
    console.print(f"passwords in {credentials_file(get_settings())}")


@request_app.command("analysts")
def analysts(names: Annotated[list[str], typer.Argument(help="analyst names, e.g. wang_li")]) -> None:
    """Provision read-only analyst login roles (analyst_<name>: base and open only); passwords go to
    <GOVLAKE_HOME>/departments.env (0600)."""
    from govlake.settings import get_settings
    from govlake.warehouse.analyst_roles import analyst_role, ensure_analyst_role
    from govlake.warehouse.department_roles import credentials_file

    with _conn() as conn:
        for name in names:
            _run(lambda n=name: ensure_analyst_role(conn, n))
            console.print(f"{analyst_role(name)} ready (reads base and open)")
    console.print(f"passwords in {credentials_file(get_settings())}")


@audit_app.command("show")
def show(subject: str = typer.Option(None, help="e.g. request:12"), last: int = typer.Option(50)) -> None:
    """The latest audit records."""
    from govlake.sharing.audit import records

    with _conn() as conn:
        rows = list(records(conn, subject))[-last:]
    table = Table(title_justify="left")
    for col in ("seq", "at", "actor", "action", "subject", "hash"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(str(r.seq), r.recorded_at, r.actor, r.action, r.subject, r.hash[:16] + "…")
    console.print(table)


@audit_app.command("verify")
def verify() -> None:
    """Recompute the hash chain; exit 1 if any record was edited, deleted or the tail cut off."""
    from govlake.sharing.audit import verify as run

    with _conn() as conn:
        result = run(conn)
    if result.ok:
        console.print(f"[green]audit log intact:[/] {result.records} records, head {result.head}")
        return
    for problem in result.problems:
        console.print(f"[red]✘[/] {problem}")
    console.print(
        f"[bold red]audit log FAILED verification[/] ({len(result.problems)} problem(s), "
        f"{result.records} records)"
    )
    raise typer.Exit(1)
