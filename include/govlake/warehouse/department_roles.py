"""A PostgreSQL login role per consumer department, and the data office's role for the web service.

Roles are ``dept_<department code>``, members of the NOLOGIN group ``govlake_departments``, which may
use the ``exchange`` schema and nothing else of the warehouse. Passwords are generated once and kept in
``<GOVLAKE_HOME>/departments.env`` (mode 0600, never committed); the web service and the export tasks
read them from there. Every statement a department role runs is logged by PostgreSQL
(``ALTER ROLE ... SET log_statement = 'all'``): pgaudit is not available on this cluster, and the
per-role setting logs department queries without flooding the log with the platform's own.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import psycopg
from psycopg import sql

from govlake.settings import Settings, get_settings

DEPARTMENTS_GROUP = "govlake_departments"
DATA_OFFICE_ROLE = "govlake_data_office"
DATA_OFFICE = "data_office"
DEPARTMENT_CODE = re.compile(r"^[a-z][a-z0-9_]{1,40}$")


class RoleError(ValueError):
    """A department cannot be given a role, or has none yet; the message says what to do."""


def role_name(department: str) -> str:
    """The database role of a department (``data_office`` maps to the data office's role)."""
    if department == DATA_OFFICE:
        return DATA_OFFICE_ROLE
    if not DEPARTMENT_CODE.match(department):
        raise RoleError(f"department code {department!r} must be lower-case letters, digits and _")
    return f"dept_{department}"


def department_of(role: str) -> str:
    """The department code of a role name (the inverse of :func:`role_name`)."""
    if role == DATA_OFFICE_ROLE:
        return DATA_OFFICE
    code = role.removeprefix("dept_")
    if code == role or not DEPARTMENT_CODE.match(code):
        raise RoleError(
            f"role {role!r} is not a department role; name it dept_<department code> "
            "(e.g. GOVLAKE_CONSUMER_ROLE=dept_civil_affairs)"
        )
    return code


def credentials_file(settings: Settings) -> Path:
    return settings.home / "departments.env"


def _read_credentials(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs if not k.startswith("#")}


def _write_credentials(path: Path, values: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Department database roles of this stack (generated). Never commit this file."]
    lines += [f"{k}={v}" for k, v in sorted(values.items())]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)


def department_password(department: str, settings: Settings | None = None) -> str:
    """The department role's password from ``departments.env``; RoleError if it was never provisioned."""
    settings = settings or get_settings()
    role = role_name(department)
    password = _read_credentials(credentials_file(settings)).get(role)
    if not password:
        raise RoleError(
            f"{credentials_file(settings)}: no password for {role}; run `govlake request roles {department}` "
            "(or approve a request for it) to provision the role"
        )
    return password


def _role_exists(conn: psycopg.Connection, role: str) -> bool:
    return conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone() is not None


def ensure_group(conn: psycopg.Connection) -> None:
    """The departments' group: USAGE on ``exchange``, its guard function and the grants view only."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('govlake.department_roles'))")
        if not _role_exists(conn, DEPARTMENTS_GROUP):
            conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(DEPARTMENTS_GROUP)))
        group = sql.Identifier(DEPARTMENTS_GROUP)
        conn.execute(sql.SQL("grant usage on schema exchange to {}").format(group))
        conn.execute(
            sql.SQL("grant execute on function exchange.item_granted(text, text) to {}").format(group)
        )
        conn.execute(sql.SQL("grant select on exchange.my_grants to {}").format(group))
        # my_grants runs as the caller (security_invoker) and RLS keeps each department to its own rows.
        conn.execute(sql.SQL("grant usage on schema platform to {}").format(group))
        conn.execute(sql.SQL("grant select on platform.share_grants to {}").format(group))


def ensure_login_role(
    conn: psycopg.Connection,
    role: str,
    group: str | None,
    settings: Settings,
    password: str | None = None,
    log_statements: bool = False,
) -> str:
    """Create (or refresh) a LOGIN role in ``group``; its password is generated once, then kept in
    ``departments.env`` (a given ``password`` replaces it there too). Returns the password."""
    path = credentials_file(settings)
    creds = _read_credentials(path)
    password = password or creds.get(role) or secrets.token_urlsafe(18)
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('govlake.department_roles'))")
        ident = sql.Identifier(role)
        if not _role_exists(conn, role):
            conn.execute(sql.SQL("create role {} login").format(ident))
        conn.execute(sql.SQL("alter role {} login inherit password {}").format(ident, sql.Literal(password)))
        if log_statements:
            conn.execute(sql.SQL("alter role {} set log_statement = 'all'").format(ident))
        if group:
            conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(group), ident))
    if creds.get(role) != password:
        creds[role] = password
        _write_credentials(path, creds)
    return password


def ensure_department_role(
    conn: psycopg.Connection, department: str, settings: Settings | None = None, password: str | None = None
) -> str:
    """Create (or refresh) a department's LOGIN role; returns its password (generated once, then kept)."""
    ensure_group(conn)
    group = None if department == DATA_OFFICE else DEPARTMENTS_GROUP
    return ensure_login_role(
        conn, role_name(department), group, settings or get_settings(), password, log_statements=True
    )


def ensure_registry_department_roles(conn: psycopg.Connection, settings: Settings | None = None) -> list[str]:
    """A login role for every department in the registry and for the data office, each with its own
    password in ``departments.env``: every department can sign in to the sharing zone from the start.
    Returns the role names."""
    from govlake.registry import load_departments

    settings = settings or get_settings()
    codes = [d.code for d in load_departments()]
    for code in dict.fromkeys([*codes, DATA_OFFICE]):
        ensure_department_role(conn, code, settings)
    return [role_name(code) for code in dict.fromkeys([*codes, DATA_OFFICE])]


def connect_as(department: str, settings: Settings | None = None, password: str | None = None, **kwargs):
    """A connection to the warehouse as the department's own role: the database decides what it sees."""
    settings = settings or get_settings()
    role = role_name(department)
    password = password or department_password(department, settings)
    return psycopg.connect(settings.pg_url(settings.warehouse_db, user=role, password=password), **kwargs)


def drop_login_role(conn: psycopg.Connection, role: str, settings: Settings | None = None) -> None:
    """Remove a role, whatever was granted to it and its line in ``departments.env``."""
    if _role_exists(conn, role):
        conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))
    path = credentials_file(settings or get_settings())
    creds = _read_credentials(path)
    if creds.pop(role, None) is not None:
        _write_credentials(path, creds)


def drop_department_role(conn: psycopg.Connection, department: str, settings: Settings | None = None) -> None:
    """Remove a department's role (tests and decommissioned departments)."""
    drop_login_role(conn, role_name(department), settings)
