"""``govlake users``: the portal's personal accounts (add, list, disable, reset a password) and the
department logins the portal switches between (``provision``)."""

from __future__ import annotations

import typer
from rich.table import Table

from govlake.terminal import make_console

users_app = typer.Typer(help="Portal accounts: add, list, disable, reset-password.", no_args_is_help=True)
console = make_console()


def _conn():
    from govlake.warehouse import connect

    return connect(autocommit=True)


def _fail(exc: Exception) -> typer.Exit:
    console.print(f"[bold red]{exc}[/]")
    return typer.Exit(1)


@users_app.command("add")
def add(
    username: str = typer.Argument(..., help="Sign-in name, e.g. mz_zhang"),
    department: str = typer.Option(..., "--department", "-d", help="Department code, or data_office"),
    role: str = typer.Option(
        "requester", "--role", "-r", help="requester | approver | steward | data_office | leader | analyst"
    ),
    name: str = typer.Option("", "--name", help="Display name (张三)"),
    password: str = typer.Option(
        None, "--password", help="Initial password (default: generated and printed once)", hide_input=True
    ),
) -> None:
    """Create a person's account; the generated password is printed once, never stored in clear."""
    from govlake.accounts.people import AccountError, add_person, generate_password

    chosen = password or generate_password()
    try:
        with _conn() as conn:
            person = add_person(conn, username, name or username, department, role, chosen)
    except AccountError as exc:
        raise _fail(exc) from exc
    console.print(f"added {person.username} ({person.role_label}, {person.department})")
    if not password:
        console.print(f"password: {chosen}")


@users_app.command("list")
def list_(department: str = typer.Option(None, "--department", "-d")) -> None:
    """Every account with its department, role and state (never a password)."""
    from govlake.accounts.people import list_people

    with _conn() as conn:
        people = list_people(conn, department)
    table = Table("user", "name", "department", "role", "state", "last sign-in")
    for p in people:
        state = "disabled" if p.disabled else ("locked" if p.locked_until else "active")
        last = p.last_sign_in_at.strftime("%Y-%m-%d %H:%M") if p.last_sign_in_at else "-"
        table.add_row(p.username, p.display_name, p.department, p.role_label, state, last)
    console.print(table)


@users_app.command("disable")
def disable(
    username: str,
    enable: bool = typer.Option(False, "--enable", help="Enable the account again instead"),
) -> None:
    """Disable an account (it can no longer sign in; its sessions end at the next request)."""
    from govlake.accounts.people import AccountError, set_disabled

    try:
        with _conn() as conn:
            person = set_disabled(conn, username, not enable)
    except AccountError as exc:
        raise _fail(exc) from exc
    console.print(f"{person.username}: {'disabled' if person.disabled else 'enabled'}")


@users_app.command("reset-password")
def reset(
    username: str,
    password: str = typer.Option(None, "--password", help="New password (default: generated, printed once)"),
) -> None:
    """Set a new password and unlock the account."""
    from govlake.accounts.people import AccountError, reset_password

    try:
        with _conn() as conn:
            chosen = reset_password(conn, username, password)
    except AccountError as exc:
        raise _fail(exc) from exc
    console.print(f"{username}: password reset" + ("" if password else f"; new password: {chosen}"))


@users_app.command("provision")
def provision() -> None:
    """A database login for every registry department and the data office, and the portal's
    authenticator over them (written to departments.env)."""
    from govlake.settings import get_settings
    from govlake.sharing.authenticator import ensure_department_logins, registry_department_codes
    from govlake.warehouse.department_roles import credentials_file

    with _conn() as conn:
        roles = ensure_department_logins(conn, registry_department_codes())
    console.print(f"{len(roles)} logins in {credentials_file(get_settings())}: {', '.join(roles)}")
