"""The sharing exchange: one view per catalogued resource, and who may read which of its items.

Design (enforced by PostgreSQL, not by application code):

* ``exchange.<resource>`` is a ``security_barrier`` view owned by the platform. It never contains a
  不予共享 item. Values are masked by grade with the configurable patterns of ``config/masking.yaml``:
  libraries are read through the ``share`` views (already masked by publish/masking.py), department
  datasets through ``raw`` with the same masking expressions, minus quarantined rows.
* 无条件共享 items: column privilege (``GRANT SELECT (items)``) to the group ``govlake_departments``.
* 有条件共享 items: column privilege only to the department roles holding an approved grant, revoked on
  expiry or revocation; reading any other column fails with *permission denied*. On top, each such
  column is ``CASE WHEN (SELECT exchange.item_granted(resource, item)) THEN value END``: the function reads
  ``platform.share_grants`` for the login role and the current time, so a grant whose period is over
  yields NULLs even before the sweep has revoked the privilege.
* ``platform.share_grants`` has row-level security (``grantee = current_user``), so a department reads
  its own grants through ``exchange.my_grants`` and nobody else's.

Column privileges were chosen over per-request views: one view per resource keeps SQL, exports and the
API identical for every department, and the privilege catalogue itself documents who may read what.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import psycopg
from psycopg import sql

from govlake.catalog.model import CONDITIONAL, NOT_SHARED, UNCONDITIONAL, CatalogEntry
from govlake.settings import Settings
from govlake.warehouse.department_roles import DEPARTMENTS_GROUP, ensure_group

log = logging.getLogger(__name__)

ZONE_SCHEMA = "exchange"
PG_TYPES = {
    "string": "text",
    "integer": "bigint",
    "decimal": "numeric",
    "date": "date",
    "timestamp": "timestamp with time zone",
}


def view_name(entry_key: str) -> sql.Identifier:
    return sql.Identifier(ZONE_SCHEMA, entry_key)


def _relation_columns(conn: psycopg.Connection, schema: str, table: str) -> list[str]:
    rows = conn.execute(
        """
        select a.attname from pg_attribute a join pg_class c on c.oid = a.attrelid
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = %s and c.relname = %s and a.attnum > 0 and not a.attisdropped order by a.attnum
        """,
        (schema, table),
    ).fetchall()
    return [r[0] for r in rows]


def _library_source(conn: psycopg.Connection, entry: CatalogEntry) -> tuple[sql.Composable, set[str]] | None:
    """The masked share view of a library and its columns (None until the library is published)."""
    present = set(_relation_columns(conn, "share", entry.entry_key))
    if not present:
        return None
    return sql.SQL("{} as m").format(sql.Identifier("share", entry.entry_key)), present


def _dataset_source(conn: psycopg.Connection, entry: CatalogEntry) -> tuple[sql.Composable, set[str]] | None:
    """A department dataset from raw, masked like the share views, without quarantined rows."""
    from govlake.policy.masking import Classification, load_masking_policy, mask_expression

    present = set(_relation_columns(conn, "raw", entry.entry_key))
    if not present:
        return None
    policy = load_masking_policy()
    items = [i for i in entry.items if i.name in present and i.sharing_type != NOT_SHARED]
    masked = [
        mask_expression(
            i.name,
            PG_TYPES.get(i.data_type, "text"),
            policy.pattern_for(i.name, Classification(i.grade, i.pi)),
            policy,
        )
        for i in items
    ]
    source = sql.SQL(
        "(select {cols} from {raw} as r where not exists (select 1 from platform.quarantine q "
        "where q.batch_id = r._batch_id and q.source_file = r._source_file and q.source_row = r._source_row"
        " and q.superseded_at is null)) as m"
    ).format(cols=sql.SQL(", ").join(masked), raw=sql.Identifier("raw", entry.entry_key))
    return source, {i.name for i in items}


def build_view(conn: psycopg.Connection, entry: CatalogEntry) -> bool:
    """(Re)create ``exchange.<resource>`` with its privileges. False if its source does not exist yet."""
    view = view_name(entry.entry_key)
    if entry.sharing_type == NOT_SHARED:
        conn.execute(sql.SQL("drop view if exists {}").format(view))
        return False
    found = _library_source(conn, entry) if entry.kind == "library" else _dataset_source(conn, entry)
    if found is None:
        log.warning("exchange.%s: its source is not in the warehouse yet; view not created", entry.entry_key)
        return False
    source, present = found
    select = []
    for item in entry.items:
        if item.sharing_type == NOT_SHARED or item.name not in present:
            continue
        expr: sql.Composable = sql.SQL("m.{}").format(sql.Identifier(item.name))
        if item.sharing_type == CONDITIONAL:
            expr = sql.SQL("case when (select exchange.item_granted({k}, {i})) then {e} end").format(
                k=sql.Literal(entry.entry_key), i=sql.Literal(item.name), e=expr
            )
        select.append(sql.SQL("{} as {}").format(expr, sql.Identifier(item.name)))
    ensure_group(conn)
    with conn.transaction():
        conn.execute(sql.SQL("drop view if exists {}").format(view))
        conn.execute(
            sql.SQL("create view {v} with (security_barrier) as select {cols} from {src}").format(
                v=view, cols=sql.SQL(", ").join(select), src=source
            )
        )
        conn.execute(
            sql.SQL("comment on view {} is {}").format(
                view,
                sql.Literal(f"{entry.resource_code} {entry.name} — {entry.provider}; {entry.sharing_type}"),
            )
        )
        conn.execute(sql.SQL("revoke all on {} from public").format(view))
        open_items = [i.name for i in entry.items if i.sharing_type == UNCONDITIONAL and i.name in present]
        if open_items:
            conn.execute(
                sql.SQL("grant select ({}) on {} to {}").format(
                    sql.SQL(", ").join(map(sql.Identifier, open_items)),
                    view,
                    sql.Identifier(DEPARTMENTS_GROUP),
                )
            )
        sync_privileges(conn, entry.entry_key)
    return True


def view_columns(conn: psycopg.Connection, entry_key: str) -> list[str]:
    return _relation_columns(conn, ZONE_SCHEMA, entry_key)


def sync_privileges(
    conn: psycopg.Connection, resource_key: str, roles: Iterable[str] | None = None
) -> dict[str, list[str]]:
    """Make each grantee's column privileges on the view equal to its active grants' items.

    Called on approval, revocation, expiry and whenever the view is rebuilt; returns role -> items.
    """
    columns = set(view_columns(conn, resource_key))
    if roles is None:
        roles = [
            r[0]
            for r in conn.execute(
                "select distinct grantee from platform.share_grants where resource_key = %s", (resource_key,)
            ).fetchall()
        ]
    result = {}
    for role in roles:
        active = conn.execute(
            """
            select coalesce(array_agg(distinct i order by i), '{}') from platform.share_grants g, unnest(g.items) i
            where g.grantee = %s and g.resource_key = %s and g.revoked_at is null
              and now() >= g.valid_from and now() < g.valid_until
            """,
            (role, resource_key),
        ).fetchone()[0]
        items = [i for i in active if i in columns]
        if columns and conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone():
            view = view_name(resource_key)
            conn.execute(sql.SQL("revoke all on {} from {}").format(view, sql.Identifier(role)))
            if items:
                conn.execute(
                    sql.SQL("grant select ({}) on {} to {}").format(
                        sql.SQL(", ").join(map(sql.Identifier, items)), view, sql.Identifier(role)
                    )
                )
        result[role] = items
    return result


def rebuild_zone(conn: psycopg.Connection, entries: Sequence[CatalogEntry]) -> list[str]:
    """Every exchange view of the catalog; returns the resources that have one."""
    return [e.entry_key for e in entries if build_view(conn, e)]


def ensure_zone(conn: psycopg.Connection, entries: Sequence[CatalogEntry]) -> list[str]:
    """Create the exchange views that are missing (e.g. a library published for the first time)."""
    built = []
    for entry in entries:
        if (
            entry.sharing_type != NOT_SHARED
            and not view_columns(conn, entry.entry_key)
            and build_view(conn, entry)
        ):
            built.append(entry.entry_key)
    return built


def ensure_library_views(conn: psycopg.Connection, libraries: Sequence[str]) -> list[str]:
    """The exchange views of libraries just published: departments read a library through its exchange
    view only, so publish creates the missing ones in its transaction (an existing one is rebuilt by
    :func:`attach_zone`). A library not catalogued yet is catalogued now from the dbt manifest; if that
    fails the library stays unreadable for departments (fail closed) and the reason is logged."""
    from govlake.catalog.entries import build_library_entries
    from govlake.catalog.model import CatalogError
    from govlake.catalog.store import get_entry, sync_catalog

    entries, missing = [], []
    for library in libraries:
        try:
            entries.append(get_entry(conn, library))
        except CatalogError:
            missing.append(library)
    if missing:
        errors: list[str] = []
        new = [e for e in build_library_entries(errors=errors) if e.entry_key in missing]
        entries += sync_catalog(conn, new, prune=False)
        for library in set(missing) - {e.entry_key for e in new}:
            log.warning("exchange.%s not created: the library is not catalogued (%s)", library, errors)
    return ensure_zone(conn, entries)


def detach_zone(conn: psycopg.Connection, share_schema: str, tables: Sequence[str]) -> list[str]:
    """Drop the exchange views reading ``<share_schema>.<table>`` so publish can replace the table.

    Publish calls this first in its transaction (so locks follow the readers' order: exchange, share,
    base) and :func:`attach_zone` at the end; a scratch share schema has no dependants (a no-op).
    """
    names: list[str] = []
    for table in tables:
        rows = conn.execute(
            """
            select distinct v.relname from pg_depend d
            join pg_rewrite r on r.oid = d.objid
            join pg_class v on v.oid = r.ev_class
            join pg_namespace vn on vn.oid = v.relnamespace
            join pg_class t on t.oid = d.refobjid
            join pg_namespace tn on tn.oid = t.relnamespace
            where tn.nspname = %s and t.relname = %s and vn.nspname = %s and v.oid <> t.oid
            """,
            (share_schema, table, ZONE_SCHEMA),
        ).fetchall()
        names += [r[0] for r in rows]
    for name in names:
        conn.execute(sql.SQL("drop view if exists {}").format(view_name(name)))
    return names


def attach_zone(conn: psycopg.Connection, names: Sequence[str]) -> list[str]:
    """Rebuild the exchange views :func:`detach_zone` dropped, from the stored catalog."""
    from govlake.catalog.model import CatalogError
    from govlake.catalog.store import get_entry

    built = []
    for name in names:
        try:
            if build_view(conn, get_entry(conn, name)):
                built.append(name)
        except CatalogError as exc:
            log.warning("exchange.%s not rebuilt: %s", name, exc)
    return built


def sync_catalog_and_zone(settings: Settings | None = None) -> dict:
    """The catalog follows what was published: entries from the registry and the dbt manifest are stored
    and the exchange views that are missing are created. Called by the publish DAG after every swap and
    by ``govlake catalog sync``. Returns what was catalogued, created and skipped (with the reason)."""
    from govlake.catalog.entries import build_entries
    from govlake.catalog.store import sync_catalog
    from govlake.warehouse import connect

    errors: list[str] = []
    entries = build_entries(errors=errors)
    with connect(settings, autocommit=True) as conn:
        stored = sync_catalog(conn, entries)
        created = ensure_zone(conn, stored)
    return {"catalogued": len(stored), "views_created": created, "skipped": errors}


class ExchangeUpkeep:
    """The exchange views' part of a publish swap (govlake.publish.swap.ZoneUpkeep): they read ``share.*``,
    which the swap drops and recreates, so they are detached first and rebuilt after, in its transaction;
    libraries published for the first time get their exchange views then."""

    def detach(self, conn: psycopg.Connection, share_schema: str, tables: Sequence[str]) -> list[str]:
        return detach_zone(conn, share_schema, tables)

    def attach(
        self, conn: psycopg.Connection, detached: list[str], shared: Sequence[str], share_schema: str
    ) -> None:
        attach_zone(conn, detached)
        if share_schema == "share":  # the exchange reads the real share schema, not a test's scratch one
            ensure_library_views(conn, shared)


EXCHANGE_UPKEEP = ExchangeUpkeep()
