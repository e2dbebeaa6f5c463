"""Write-audit-publish, last step: swap the validated audit libraries into base, in one transaction.

dbt builds ``audit.<library>``, Great Expectations validates it; only then does this module move it into
``base`` (``alter table ... set schema``, a catalog update, no data copied) and recreate the masked
``share`` views over it (the masked layer the per-department ``exchange`` views read; no department
reads ``share`` itself). A table dbt builds incrementally (it has a record in ``platform.table_builds``)
is exchanged rather than replaced: the version it supersedes goes back into ``audit``, where the next
build updates only the rows that changed since it (dbt_project/macros/change_stamps.sql); its first
publication, with nothing to exchange, copies the published rows back into audit afterwards
(_seed_audit). The swap happens in one transaction holding ACCESS EXCLUSIVE locks taken in a
fixed order (tables sorted by name; per table share view, then base, then audit — the order a reader of
the share view takes them), so a concurrent reader waits a moment and then sees either the previous
version or the new one, never a missing table, and two publishers cannot deadlock each other.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from typing import Any, Protocol

import psycopg
from psycopg import errors, sql

from govlake.policy.masking import MaskingPolicy, load_masking_policy
from govlake.publish.publications import BLOCKED, PUBLISHED, Publication, as_date, record_publication
from govlake.publish.share import (
    create_share_view,
    restrict_share,
    retire_consumer_group,
)
from govlake.settings import Settings, get_settings
from govlake.warehouse import connect, ensure_platform_schema
from govlake.warehouse.analyst_roles import grant_analysts
from govlake.warehouse.department_roles import ensure_registry_department_roles

log = logging.getLogger(__name__)

LIBRARIES: tuple[str, ...] = ("population", "legal_entities")
BASE_SCHEMA, SHARE_SCHEMA = "base", "share"
# A reader holding a lock for longer than this makes the publish fail (and be retried by Airflow)
# instead of queueing every later reader behind our pending exclusive lock indefinitely.
LOCK_TIMEOUT = "2min"


class PublishError(RuntimeError):
    """The libraries cannot be published as asked; the message names the table and what to do."""


def _relation_exists(conn: psycopg.Connection, schema: str, name: str) -> bool:
    row = conn.execute("select to_regclass(%s)", (sql.Identifier(schema, name).as_string(conn),)).fetchone()
    return row is not None and row[0] is not None


def _has_build_date(conn: psycopg.Connection, schema: str, table: str) -> bool:
    """Libraries carry ``built_for_date``; reference tables (divisions, attribute sources) do not."""
    row = conn.execute(
        "select 1 from information_schema.columns where table_schema = %s and table_name = %s"
        " and column_name = 'built_for_date'",
        (schema, table),
    ).fetchone()
    return row is not None


def _build_record(conn: psycopg.Connection, schema: str, table: str) -> dt.date | None:
    """The date an incrementally built table is built for (``platform.table_builds``, by the table's OID)."""
    row = conn.execute(
        "select built_for_date from platform.table_builds where relation_oid = to_regclass(%s)::oid",
        (sql.Identifier(schema, table).as_string(conn),),
    ).fetchone()
    return row[0] if row else None


def _built_for(conn: psycopg.Connection, schema: str, table: str) -> dt.date | None:
    """The date a library is built for: its build record when dbt builds it incrementally (its rows are of
    several builds), else its ``built_for_date`` (one value per build; the first row is enough).

    None for a reference table without a build date: it is published whenever the build produced it.
    """
    recorded = _build_record(conn, schema, table)
    if recorded is not None:
        return recorded
    if not _has_build_date(conn, schema, table):
        return None
    query = sql.SQL("select built_for_date from {} limit 1").format(sql.Identifier(schema, table))
    row = conn.execute(query).fetchone()
    return row[0] if row else None


def _count(conn: psycopg.Connection, schema: str, table: str) -> int:
    return conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(schema, table))).fetchone()[
        0
    ]


def _row_counts(
    conn: psycopg.Connection, tables: Sequence[str], audit_schema: str, base_schema: str
) -> dict[str, int]:
    """Rows of what each table's published version will be, counted before any lock is taken."""
    counts = {}
    for table in tables:
        audit_is_newer = _relation_exists(conn, audit_schema, table) and not _audit_is_previous(
            conn, table, audit_schema, base_schema
        )
        for schema in (audit_schema, base_schema) if audit_is_newer else (base_schema,):
            if _relation_exists(conn, schema, table):
                counts[table] = _count(conn, schema, table)
                break
    return counts


def _audit_is_previous(conn: psycopg.Connection, table: str, audit_schema: str, base_schema: str) -> bool:
    """The audit table is the version an earlier publication exchanged out of base, not a new build (a
    build, even of an earlier date, clears ``published_at``)."""
    row = conn.execute(
        "select published_at is not null from platform.table_builds where relation_oid = to_regclass(%s)::oid",
        (sql.Identifier(audit_schema, table).as_string(conn),),
    ).fetchone()
    return bool(row and row[0])


def _mark_published(conn: psycopg.Connection, schema: str, table: str) -> None:
    conn.execute(
        "update platform.table_builds set published_at = now() where relation_oid = to_regclass(%s)::oid",
        (sql.Identifier(schema, table).as_string(conn),),
    )


def _tables_to_move(
    conn: psycopg.Connection, date: dt.date, tables: Sequence[str], audit_schema: str, base_schema: str
) -> list[str]:
    """Which audit tables to move into base, checked under the locks so no other publisher races us.

    A table already moved for this date (a re-run after success) is not moved again: the re-run only
    refreshes the views, grants and publication rows, which makes publishing a date idempotent.
    """
    to_move = []
    for table in tables:
        if _relation_exists(conn, audit_schema, table) and _audit_is_previous(
            conn, table, audit_schema, base_schema
        ):
            if _built_for(conn, base_schema, table) == date:
                continue  # published already; audit holds the version it replaced
            raise PublishError(
                f"{audit_schema}.{table} holds the version published before {base_schema}.{table}; "
                f"run build__libraries for {date} before publishing"
            )
        if _relation_exists(conn, audit_schema, table):
            built = _built_for(conn, audit_schema, table)
            if built not in (None, date):
                raise PublishError(
                    f"{audit_schema}.{table} was built for {built}, not {date}; rebuild it for {date} first"
                )
            to_move.append(table)
        elif not _relation_exists(conn, base_schema, table) or _built_for(conn, base_schema, table) not in (
            None,
            date,
        ):
            raise PublishError(
                f"{audit_schema}.{table} does not exist and {base_schema}.{table} is not the build for {date}; "
                f"run build__libraries for {date} before publishing"
            )
    return to_move


def _lock_in_order(conn: psycopg.Connection, tables: Sequence[str], schemas: Sequence[str]) -> None:
    """ACCESS EXCLUSIVE on every relation involved, in one fixed order (see the module docstring)."""
    conn.execute(sql.SQL("set local lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
    for table in sorted(tables):
        for schema in schemas:
            if _relation_exists(conn, schema, table):
                conn.execute(
                    sql.SQL("lock table {} in access exclusive mode").format(sql.Identifier(schema, table))
                )


def _move_into_base(conn: psycopg.Connection, table: str, audit_schema: str, base_schema: str) -> None:
    """Replace base.<table> by audit.<table>; an incrementally built one goes back into audit instead."""
    built = _build_record(conn, audit_schema, table)
    incremental = built is not None
    base_built = (
        _build_record(conn, base_schema, table) if _relation_exists(conn, base_schema, table) else None
    )
    # the version in base goes back to audit for the next build to update, unless it is of a later date
    # (an earlier date re-published): a build never starts from a later state than its own
    if incremental and base_built is not None and base_built <= built:
        _exchange(conn, table, audit_schema, base_schema)
        _mark_published(conn, base_schema, table)
        return
    try:
        conn.execute(sql.SQL("drop table if exists {}").format(sql.Identifier(base_schema, table)))
    except errors.DependentObjectsStillExist as exc:
        raise PublishError(
            f"{base_schema}.{table} cannot be replaced: other objects depend on it ({exc.diag.message_detail}); "
            "point them at the share view or rebuild them from the new base table"
        ) from exc
    conn.execute(
        sql.SQL("alter table {} set schema {}").format(
            sql.Identifier(audit_schema, table), sql.Identifier(base_schema)
        )
    )
    if incremental:
        _mark_published(conn, base_schema, table)


def _seed_audit(conn: psycopg.Connection, table: str, audit_schema: str, base_schema: str) -> bool:
    """Copy an incrementally built base.<table> into audit when audit has no version of it, so the next
    build updates the rows that changed instead of rebuilding them all.

    After a table's first publication (a move: there was no earlier version to exchange back) audit is
    empty, and so would the next day's build be a full one — at 10 M persons a 357 s dbt build and a
    history that compares every open version. The copy is the state an exchange leaves: the published
    rows in audit, with a build record that says which build they are and that they were published.
    Runs after the publishing transaction, holding no lock readers of base would wait on; idempotent (a
    re-run of the publication, or one that stopped before the copy, seeds what is missing).
    """
    base, audit = sql.Identifier(base_schema, table), sql.Identifier(audit_schema, table)
    with conn.transaction():
        if _relation_exists(conn, audit_schema, table) or _build_record(conn, base_schema, table) is None:
            return False
        conn.execute(sql.SQL("create table {} (like {} including all excluding indexes)").format(audit, base))
        conn.execute(sql.SQL("insert into {} select * from {}").format(audit, base))
        # keys and indexes once the rows are in (as macros/create_table_as.sql builds the table)
        constraints = conn.execute(
            "select conname, pg_get_constraintdef(oid) from pg_constraint"
            " where conrelid = to_regclass(%s) and contype in ('p', 'u', 'x') order by conname",
            (base.as_string(conn),),
        ).fetchall()
        for name, definition in constraints:
            conn.execute(
                sql.SQL("alter table {} add constraint {} {}").format(
                    audit, sql.Identifier(f"{name}__seed"), sql.SQL(definition)
                )
            )
        indexes = conn.execute(
            "select pg_get_indexdef(pg_index.indexrelid) from pg_index"
            " where pg_index.indrelid = to_regclass(%s)"
            " and not exists (select 1 from pg_constraint where conindid = pg_index.indexrelid)",
            (base.as_string(conn),),
        ).fetchall()
        for (definition,) in indexes:
            unique, method = _INDEX_DEFINITION.fullmatch(definition).group("unique", "method")
            conn.execute(
                sql.SQL("create {}index on {} {}").format(sql.SQL(unique or ""), audit, sql.SQL(method))
            )
        conn.execute(sql.SQL("analyze {}").format(audit))
        conn.execute(
            "insert into platform.table_builds (relation_oid, relation_name, built_for_date, built_at,"
            " published_at)"
            " select to_regclass(%s)::oid, %s, built_for_date, built_at, now() from platform.table_builds"
            " where relation_oid = to_regclass(%s)::oid"
            # a record left by a dropped table whose OID the copy now has describes nothing
            " on conflict (relation_oid) do update set relation_name = excluded.relation_name,"
            " built_for_date = excluded.built_for_date, built_at = excluded.built_at,"
            " recorded_at = now(), published_at = excluded.published_at",
            (audit.as_string(conn), f"{audit_schema}.{table}", base.as_string(conn)),
        )
    return True


# pg_get_indexdef: "CREATE [UNIQUE] INDEX name ON [ONLY] schema.table USING method (columns) ..."
_INDEX_DEFINITION = re.compile(
    r"CREATE (?P<unique>UNIQUE )?INDEX \S+ ON (?:ONLY )?\S+ (?P<method>USING .*)", re.S
)


def _exchange(conn: psycopg.Connection, table: str, audit_schema: str, base_schema: str) -> None:
    """audit.<table> becomes base.<table> and base's becomes audit's: catalog updates, no rows copied.

    Index names are unique per schema and both versions may carry dbt's, so each index is first named
    after its own OID. Objects other than our share view that depend on the base
    table would silently follow it into audit, so they stop the publication as a drop would.
    """
    base = sql.Identifier(base_schema, table)
    dependents = conn.execute(
        """select distinct view.oid::regclass::text
           from pg_depend as dep
           join pg_rewrite as rule on rule.oid = dep.objid
           join pg_class as view on view.oid = rule.ev_class
           where dep.refobjid = to_regclass(%s) and view.oid <> dep.refobjid""",
        (base.as_string(conn),),
    ).fetchall()
    if dependents:
        raise PublishError(
            f"{base_schema}.{table} cannot be replaced: other objects depend on it "
            f"({', '.join(d[0] for d in dependents)}); point them at the share view or rebuild them from the "
            "new base table"
        )
    for schema in (audit_schema, base_schema):
        indexes = conn.execute(
            "select index.relname, index.oid from pg_index join pg_class as index on index.oid = pg_index.indexrelid"
            " where pg_index.indrelid = to_regclass(%s)",
            (sql.Identifier(schema, table).as_string(conn),),
        ).fetchall()
        for index, index_oid in indexes:
            own_name = f"{table}__{index_oid}"
            if index != own_name:
                conn.execute(
                    sql.SQL("alter index {} rename to {}").format(
                        sql.Identifier(schema, index), sql.Identifier(own_name)
                    )
                )
    publishing = f"{table}__publishing"
    conn.execute(
        sql.SQL("alter table {} rename to {}").format(
            sql.Identifier(audit_schema, table), sql.Identifier(publishing)
        )
    )
    conn.execute(sql.SQL("alter table {} set schema {}").format(base, sql.Identifier(audit_schema)))
    conn.execute(
        sql.SQL("alter table {} set schema {}").format(
            sql.Identifier(audit_schema, publishing), sql.Identifier(base_schema)
        )
    )
    conn.execute(
        sql.SQL("alter table {} rename to {}").format(
            sql.Identifier(base_schema, publishing), sql.Identifier(table)
        )
    )


def _record_blocked(
    conn: psycopg.Connection,
    date: dt.date,
    tables: Sequence[str],
    reason: str,
    audit_schema: str,
    base_schema: str,
) -> list[Publication]:
    pubs = []
    with conn.transaction():
        for table in tables:
            rows = _count(conn, audit_schema, table) if _relation_exists(conn, audit_schema, table) else None
            details = {
                "reason": reason,
                "audit_table": f"{audit_schema}.{table}",
                "base_left_untouched": True,
            }
            pub = Publication(date, f"{base_schema}.{table}", "base", rows, BLOCKED, details)
            record_publication(conn, pub, keep_published=True)
            pubs.append(pub)
    log.warning("publication of %s for %s blocked: %s", ", ".join(tables), date, reason)
    return pubs


class ZoneUpkeep(Protocol):
    """What a zone over the published libraries must do inside the swap's transaction — the sharing
    zone's exchange views (govlake.sharing.zone.EXCHANGE_UPKEEP) read share.*, which the swap recreates.
    Passed in by the caller so that this stage never imports the zones built on it."""

    def detach(self, conn: psycopg.Connection, share_schema: str, tables: Sequence[str]) -> Any: ...

    def attach(
        self, conn: psycopg.Connection, detached: Any, shared: Sequence[str], share_schema: str
    ) -> None: ...


def publish_libraries(
    logical_date: str | dt.date,
    validation_passed: bool,
    tables: Sequence[str] = LIBRARIES,
    settings: Settings | None = None,
    *,
    reason: str | None = None,
    audit_schema: str = "audit",
    base_schema: str = "base",
    share_schema: str = "share",
    policy: MaskingPolicy | None = None,
    zone: ZoneUpkeep | None = None,
) -> list[Publication]:
    """Publish the audit libraries of ``logical_date`` into base and share, or record why not.

    ``validation_passed`` is the gate's verdict (no blocking expectation failed). When it is False,
    base and share stay exactly as they are and a 'blocked' row per table records ``reason``.
    The schema names are parameters so tests can publish between scratch schemas. ``zone`` keeps the
    views built over ``share`` (the exchange) in step, in the same transaction.
    """
    date = as_date(logical_date)
    settings = settings or get_settings()
    policy = policy or load_masking_policy()
    with connect(settings, autocommit=True) as conn:
        ensure_platform_schema(conn)
        if not validation_passed:
            return _record_blocked(
                conn, date, tables, reason or "a blocking expectation failed", audit_schema, base_schema
            )
        retire_consumer_group(conn)
        logins = ensure_registry_department_roles(conn, settings)
        counts = _row_counts(conn, tables, audit_schema, base_schema)
        with conn.transaction():
            for schema in (base_schema, share_schema):
                conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
            detached = (
                zone.detach(conn, share_schema, tables) if zone else None
            )  # views over share.*, locked first
            _lock_in_order(conn, tables, (share_schema, base_schema, audit_schema))
            to_move = _tables_to_move(conn, date, tables, audit_schema, base_schema)
            for table in tables:
                conn.execute(sql.SQL("drop view if exists {}").format(sql.Identifier(share_schema, table)))
                if table in to_move:
                    _move_into_base(conn, table, audit_schema, base_schema)
            # Only libraries whose masking is declared in masking.yaml get a (masked) share view; departments
            # read it through exchange.<library> only, which applies the catalog's per-item sharing types.
            shared = [t for t in tables if t in policy.libraries]
            for table in shared:
                create_share_view(conn, table, base_schema, share_schema, policy)
            restrict_share(
                conn,
                shared,
                share_schema,
                roles=logins,
                protected_schemas=(base_schema, audit_schema, "base", "audit", "raw", "platform", "staging"),
            )
            if zone:
                zone.attach(conn, detached, shared, share_schema)
            if base_schema == BASE_SCHEMA:  # moved tables keep audit's privileges: grant the analysts here
                grant_analysts(conn)
            pubs = _record_published(conn, date, tables, shared, to_move, counts, base_schema, share_schema)
        seeded = [t for t in tables if _seed_audit(conn, t, audit_schema, base_schema)]
        if seeded:
            log.info("copied %s into %s for the next build to update", ", ".join(seeded), audit_schema)
    log.info("published %s for %s", ", ".join(f"{p.target} ({p.rows} rows)" for p in pubs), date)
    return pubs


def _record_published(
    conn: psycopg.Connection,
    date: dt.date,
    tables: Sequence[str],
    shared: Sequence[str],
    moved: Sequence[str],
    counts: dict[str, int],
    base_schema: str,
    share_schema: str,
) -> list[Publication]:
    pubs = []
    for table in tables:
        rows = counts.get(table)
        details = {"swapped_from_audit": table in moved}
        zones = [("base", base_schema)] + ([("share", share_schema)] if table in shared else [])
        for zone, schema in zones:
            pub = Publication(date, f"{schema}.{table}", zone, rows, PUBLISHED, details)
            record_publication(conn, pub)
            pubs.append(pub)
    return pubs
