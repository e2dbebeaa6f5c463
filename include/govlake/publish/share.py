"""The masked layer of the sharing zone: ``security_barrier`` views over the base libraries.

``share.<library>`` masks every item by its grade (config/masking.yaml) but knows nothing about sharing
types or grants, so **no department role may read it**: departments read libraries only through
``exchange.<library>`` (govlake.sharing.zone), a view over this one that leaves out 不予共享 items, gives
无条件共享 items to every department and 有条件共享 items only to the holders of an approved, unexpired
grant. The exchange views run with their owner's rights, so they need no privilege on ``share`` either.

An earlier design granted the share views to a group ``govlake_consumers`` that the demo department
role belonged to — every item of a library, conditional ones included, without any request. Publishing
now retires that group (:func:`retire_consumer_group`) and revokes the share views from everyone
(:func:`restrict_share`). ``security_barrier`` still matters: the exchange views read through these ones,
and a department's own WHERE clauses must not run before the masking.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import psycopg
from psycopg import sql

from govlake.policy.masking import MaskingPolicy, classify_library, load_masking_policy, mask_expression
from govlake.warehouse.department_roles import (
    DEPARTMENTS_GROUP,
)

log = logging.getLogger(__name__)

# The retired group that once read every share view; dropped on the next publication.
LEGACY_CONSUMER_GROUP = "govlake_consumers"
# Layers a department must never touch directly; the base/audit names follow the caller's schemas.
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
            sql.Literal(
                f"Masked {library} library (policy {policy.path.name}); departments read it through "
                f"exchange.{library}, never directly."
            ),
        )
    )


def _role_exists(conn: psycopg.Connection, role: str) -> bool:
    return conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone() is not None


def _existing_schemas(conn: psycopg.Connection, names: Iterable[str]) -> list[str]:
    rows = conn.execute("select nspname from pg_namespace where nspname = any(%s)", (list(names),)).fetchall()
    return [r[0] for r in rows]


def retire_consumer_group(conn: psycopg.Connection, group: str = LEGACY_CONSUMER_GROUP) -> bool:
    """Drop the legacy group that read every share view, with its privileges and memberships.

    Idempotent; True if there was one to drop. ``drop owned by`` also revokes every privilege granted
    to it (the group owned nothing), and dropping the role ends its members' membership.
    """
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('govlake.department_roles'))")
        if not _role_exists(conn, group):
            return False
        conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(group)))
        conn.execute(sql.SQL("drop role {}").format(sql.Identifier(group)))
    log.warning("dropped the legacy group %s: departments read libraries through exchange.* only", group)
    return True


def restrict_share(
    conn: psycopg.Connection,
    views: Sequence[str],
    share_schema: str = "share",
    roles: Sequence[str] = (),
    protected_schemas: Sequence[str] = ("base", "audit", *PROTECTED_LAYERS),
) -> None:
    """No privilege on the share schema or its views for PUBLIC, the departments' group or ``roles``, and
    none on the layers below for ``roles``. The revokes also take back a grant someone made by hand
    since the last publication. (The group keeps what govlake.warehouse.department_roles gives it on ``platform``:
    its own grant rows, under row-level security.)"""
    present = [r for r in (DEPARTMENTS_GROUP, *roles) if _role_exists(conn, r)]
    share_grantees = sql.SQL(", ").join([sql.SQL("public"), *map(sql.Identifier, present)])
    conn.execute(
        sql.SQL("revoke all on schema {} from {}").format(sql.Identifier(share_schema), share_grantees)
    )
    for view in views:
        target = sql.Identifier(share_schema, view)
        conn.execute(sql.SQL("revoke all on {} from {}").format(target, share_grantees))
    own = [r for r in roles if r in present]
    if not own:
        return
    grantees = sql.SQL(", ").join(map(sql.Identifier, own))
    for schema in _existing_schemas(conn, protected_schemas):
        ident = sql.Identifier(schema)
        conn.execute(sql.SQL("revoke all on schema {} from {}").format(ident, grantees))
        conn.execute(sql.SQL("revoke all on all tables in schema {} from {}").format(ident, grantees))
