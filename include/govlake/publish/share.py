"""The sharing zone: masked ``security_barrier`` views over the base libraries, and consumer roles.

Consumer departments connect with their own login role, a member of the NOLOGIN group
``govlake_consumers``. The group holds USAGE on the share schema and SELECT on its views and nothing else:
the views run with their owner's rights, so consumers read base data only through the masking.
``security_barrier`` keeps a consumer's own WHERE clauses (a function that leaks its argument, say) from
being evaluated before the view's masking.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import psycopg
from psycopg import sql

from govlake.publish.masking import MaskingPolicy, classify_library, load_masking_policy, mask_expression

log = logging.getLogger(__name__)

CONSUMER_GROUP = "govlake_consumers"
# Layers a consumer must never touch directly; the base/audit names follow the caller's schemas.
PROTECTED_LAYERS = ("raw", "platform", "staging")


def table_columns(conn: psycopg.Connection, schema: str, table: str) -> list[tuple[str, str]]:
    """(name, SQL type) of a table's columns in order, read from the catalog so the view follows dbt's model."""
    rows = conn.execute(
        """
        select a.attname, format_type(a.atttypid, a.atttypmod)
        from pg_attribute a
        join pg_class c on c.oid = a.attrelid
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = %s and c.relname = %s and a.attnum > 0 and not a.attisdropped
        order by a.attnum
        """,
        (schema, table),
    ).fetchall()
    if not rows:
        raise LookupError(f"table {schema}.{table} does not exist or has no columns")
    return [(name, kind) for name, kind in rows]


def share_select_list(
    conn: psycopg.Connection, library: str, base_schema: str, policy: MaskingPolicy
) -> list[sql.Composable]:
    """One masked expression per classified column; unclassified columns are left out (fail closed)."""
    classes = classify_library(policy, library)
    items = []
    for name, data_type in table_columns(conn, base_schema, library):
        if name not in classes:
            log.warning("%s.%s has no classification; it is left out of the share view", library, name)
            continue
        items.append(mask_expression(name, data_type, policy.pattern_for(name, classes[name]), policy))
    return items


def create_share_view(
    conn: psycopg.Connection,
    library: str,
    base_schema: str = "base",
    share_schema: str = "share",
    policy: MaskingPolicy | None = None,
) -> None:
    """(Re)create ``<share>.<library>`` over ``<base>.<library>``. Call inside the publishing transaction."""
    policy = policy or load_masking_policy()
    view = sql.Identifier(share_schema, library)
    conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(share_schema)))
    conn.execute(sql.SQL("drop view if exists {}").format(view))
    conn.execute(
        sql.SQL("create view {v} with (security_barrier) as select {cols} from {t}").format(
            v=view,
            cols=sql.SQL(", ").join(share_select_list(conn, library, base_schema, policy)),
            t=sql.Identifier(base_schema, library),
        )
    )
    conn.execute(
        sql.SQL("comment on view {} is {}").format(
            view,
            sql.Literal(f"Masked {library} library for consumer departments (policy {policy.path.name})."),
        )
    )


def ensure_consumer_role(
    conn: psycopg.Connection, role: str, password: str, group: str = CONSUMER_GROUP
) -> None:
    """Create (or update) the NOLOGIN consumer group and a department's LOGIN role in it. Idempotent.

    Roles are cluster-wide and CREATE ROLE has no IF NOT EXISTS, so concurrent callers are serialised
    with an advisory lock. The password is re-set on every call so it follows the settings.
    """
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('govlake.consumer_roles'))")
        if not _role_exists(conn, group):
            conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(group)))
        if not _role_exists(conn, role):
            conn.execute(sql.SQL("create role {} login").format(sql.Identifier(role)))
        conn.execute(sql.SQL("alter role {} login inherit").format(sql.Identifier(role)))
        if password:
            conn.execute(
                sql.SQL("alter role {} password {}").format(sql.Identifier(role), sql.Literal(password))
            )
        else:
            log.warning(
                "no password set for consumer role %s (GOVLAKE_CONSUMER_PASSWORD); it cannot log in", role
            )
        conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(group), sql.Identifier(role)))


def _role_exists(conn: psycopg.Connection, role: str) -> bool:
    return conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone() is not None


def _existing_schemas(conn: psycopg.Connection, names: Iterable[str]) -> list[str]:
    rows = conn.execute("select nspname from pg_namespace where nspname = any(%s)", (list(names),)).fetchall()
    return [r[0] for r in rows]


def grant_share(
    conn: psycopg.Connection,
    views: Sequence[str],
    share_schema: str = "share",
    group: str = CONSUMER_GROUP,
    roles: Sequence[str] = (),
    protected_schemas: Sequence[str] = ("base", "audit", *PROTECTED_LAYERS),
) -> None:
    """USAGE on the share schema and SELECT on its views for the group; everything else revoked.

    The revokes also cover the department roles themselves, so a grant made by hand to a role is
    taken back on the next publication rather than lingering.
    """
    grantees = sql.SQL(", ").join(sql.Identifier(r) for r in (group, *roles))
    conn.execute(
        sql.SQL("grant usage on schema {} to {}").format(sql.Identifier(share_schema), sql.Identifier(group))
    )
    for view in views:
        target = sql.Identifier(share_schema, view)
        conn.execute(sql.SQL("revoke all on {} from public").format(target))
        conn.execute(sql.SQL("grant select on {} to {}").format(target, sql.Identifier(group)))
    for schema in _existing_schemas(conn, protected_schemas):
        ident = sql.Identifier(schema)
        conn.execute(sql.SQL("revoke all on schema {} from {}").format(ident, grantees))
        conn.execute(sql.SQL("revoke all on all tables in schema {} from {}").format(ident, grantees))
