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


# The demo's people: one of each department role for three departments, and the data office's staff,
# leader and analyst. Passwords are generated once and kept in <GOVLAKE_HOME>/portal_users.env (0600).
DEMO_PEOPLE: tuple[tuple[str, str, str, str], ...] = (
    ("mz_requester", "民政厅 申请人", "civil_affairs", "requester"),
    ("mz_approver", "民政厅 审批人", "civil_affairs", "approver"),
    ("mz_steward", "民政厅 数据管理员", "civil_affairs", "steward"),
    ("ga_requester", "公安厅 申请人", "public_security", "requester"),
    ("ga_approver", "公安厅 审批人", "public_security", "approver"),
    ("ga_steward", "公安厅 数据管理员", "public_security", "steward"),
    ("wj_requester", "卫健委 申请人", "health", "requester"),
    ("wj_approver", "卫健委 审批人", "health", "approver"),
    ("wj_steward", "卫健委 数据管理员", "health", "steward"),
    ("dsj_staff", "大数据局 工作人员", "data_office", "data_office"),
    ("dsj_leader", "大数据局 领导", "data_office", "leader"),
    ("dsj_analyst", "大数据局 分析师", "data_office", "analyst"),
)


def demo_people_file(settings) -> object:
    return settings.home / "portal_users.env"


def create_demo_people(settings=None) -> list[tuple[str, str, str, str, str]]:
    """The demo's accounts (and every department's database login); ``(user, password, name, dept, role)``."""
    from govlake.accounts.people import add_person, generate_password
    from govlake.settings import get_settings
    from govlake.sharing.authenticator import ensure_department_logins, registry_department_codes
    from govlake.warehouse.department_roles import _read_credentials, _write_credentials

    settings = settings or get_settings()
    path = demo_people_file(settings)
    known = _read_credentials(path)
    people = []
    with _conn() as conn:
        ensure_department_logins(conn, registry_department_codes(), settings)
        for username, name, department, role in DEMO_PEOPLE:
            password = known.get(username) or generate_password()
            add_person(conn, username, name, department, role, password, replace=True)
            known[username] = password
            people.append((username, password, name, department, role))
    _write_credentials(path, known)
    return people


@users_app.command("demo")
def demo() -> None:
    """Create the demo's people (one per role for 民政厅, 公安厅, 卫健委 and the data office) and print
    how to sign in to the portal."""
    print_demo_people(create_demo_people())


def print_demo_people(people) -> None:
    from govlake.accounts.people import ROLES
    from govlake.settings import get_settings
    from govlake.warehouse.department_roles import credentials_file

    settings = get_settings()
    table = Table("user", "password", "department", "role", title="portal sign-ins")
    for username, password, _name, department, role in people:
        table.add_row(username, password, department, ROLES[role])
    console.print(table)
    console.print(
        f"Portal: [bold]{settings.web_url}/[/] — sign in with a user above "
        f"(passwords also in {demo_people_file(settings)})."
    )
    console.print(
        f"Department database logins (psql, and HTTP Basic on /api/v1 as <department code> / password; "
        f"data_office for the data office): {credentials_file(settings)}"
    )
