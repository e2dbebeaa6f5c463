"""Read-only analysts of the data office: the published layers, never the layers on the way there.

Analyst login roles (``analyst_<name>``) are members of the NOLOGIN group ``govlake_analysts``, which may
read ``base`` (base and theme libraries, published by the swap) and ``open`` (the open releases) and
nothing else: not ``raw``, ``staging`` or ``audit`` (unvalidated data, quarantined rows included), not
``platform`` (requests, grants, the audit log) and not ``share``/``exchange`` (the departments' zone).

Publish moves tables into ``base`` with ``alter table ... set schema``, which keeps the table's own
privileges — so default privileges cannot cover ``base`` (they would have to be set on ``audit``, the
schema analysts must never read). Publishing therefore calls :func:`grant_analysts` in its transaction.
Open releases are created in ``open`` by the platform's role, so default privileges cover those.
"""

from __future__ import annotations

import re

import psycopg
from psycopg import sql

from govlake.settings import Settings, get_settings
from govlake.warehouse.department_roles import RoleError, _role_exists, drop_login_role, ensure_login_role

ANALYSTS_GROUP = "govlake_analysts"
ANALYST_SCHEMAS = ("base", "open")
FORBIDDEN_SCHEMAS = ("raw", "staging", "audit", "platform", "share", "exchange", "history")
ANALYST_NAME = re.compile(r"^[a-z][a-z0-9_]{1,40}$")


class AnalystError(RoleError):
    """An analyst role cannot be created as asked; the message says what to do."""


def analyst_role(name: str) -> str:
    if not ANALYST_NAME.match(name):
        raise AnalystError(f"analyst name {name!r} must be lower-case letters, digits and _ (e.g. wang_li)")
    return f"analyst_{name}"


def _existing(conn: psycopg.Connection, schemas: tuple[str, ...]) -> list[sql.Identifier]:
    rows = conn.execute("select nspname from pg_namespace where nspname = any(%s)", (list(schemas),))
    return [sql.Identifier(r[0]) for r in rows.fetchall()]


def grant_analysts(conn: psycopg.Connection) -> None:
    """The group (created if missing) reads every table and view of ``base`` and ``open``, including the
    ones created since the last call, and holds no privilege anywhere else (hand grants taken back)."""
    group = sql.Identifier(ANALYSTS_GROUP)
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('govlake.department_roles'))")
        if not _role_exists(conn, ANALYSTS_GROUP):
            conn.execute(sql.SQL("create role {} nologin").format(group))
        for schema in _existing(conn, ANALYST_SCHEMAS):
            conn.execute(sql.SQL("grant usage on schema {} to {}").format(schema, group))
            conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(schema, group))
            conn.execute(
                sql.SQL("alter default privileges in schema {} grant select on tables to {}").format(
                    schema, group
                )
            )
        for schema in _existing(conn, FORBIDDEN_SCHEMAS):
            conn.execute(sql.SQL("revoke all on schema {} from {}").format(schema, group))
            conn.execute(sql.SQL("revoke all on all tables in schema {} from {}").format(schema, group))


def ensure_analyst_role(
    conn: psycopg.Connection, name: str, settings: Settings | None = None, password: str | None = None
) -> str:
    """Create (or refresh) an analyst's LOGIN role in the group; returns its password, kept with the
    department roles' in ``departments.env`` (generated once)."""
    role = analyst_role(name)
    grant_analysts(conn)
    return ensure_login_role(conn, role, ANALYSTS_GROUP, settings or get_settings(), password)


def drop_analyst_role(conn: psycopg.Connection, name: str, settings: Settings | None = None) -> None:
    drop_login_role(conn, analyst_role(name), settings)
