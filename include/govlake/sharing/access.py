"""Reading the exchange as a department, and the access log of every read.

Reads go over a connection *as the department's own role*, so PostgreSQL decides what comes back: a
column the role holds no privilege on fails with *permission denied*, an expired conditional item reads
as NULL. The platform then records the read (who, which resource and items, how many rows, through
which channel) in ``platform.access_log``; the statement itself is in the PostgreSQL log
(``log_statement = 'all'`` on every department role).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import psycopg
from psycopg import errors, sql
from psycopg.types.json import Jsonb

from govlake.settings import Settings
from govlake.sharing.zone import ZONE_SCHEMA
from govlake.warehouse.department_roles import connect_as, role_name

FilterSpec = Mapping[str, Any]


class AccessDenied(PermissionError):
    """The department's role may not read what was asked; the message says what to request."""


def select_query(
    resource: str, items: Sequence[str], filters: FilterSpec | None = None, limit: int | None = None
) -> tuple[sql.Composable, list[Any]]:
    """``select <items> from exchange.<resource> where <item> = any(<values>) ...`` with bound values."""
    if not items:
        raise ValueError(f"name the items of {resource} to read")
    where, params = [], []
    for column, value in (filters or {}).items():
        values = value if isinstance(value, list | tuple) else [value]
        where.append(sql.SQL("{}::text = any(%s)").format(sql.Identifier(column)))
        params.append([str(v) for v in values])
    query = sql.SQL("select {cols} from {view}").format(
        cols=sql.SQL(", ").join(map(sql.Identifier, items)), view=sql.Identifier(ZONE_SCHEMA, resource)
    )
    if where:
        query = sql.SQL("{} where {}").format(query, sql.SQL(" and ").join(where))
    if limit is not None:
        query = sql.SQL("{} limit {}").format(query, sql.Literal(int(limit)))
    return query, params


def _denied(department: str, resource: str, exc: Exception) -> AccessDenied:
    return AccessDenied(
        f"{role_name(department)} may not read this from exchange.{resource} ({exc.diag.message_primary}). "
        f"Items that are 有条件共享 need an approved request: `govlake request submit --consumer {department} "
        f"--resource {resource} --items ...`"
    )


def stream_rows(
    department: str,
    resource: str,
    items: Sequence[str],
    filters: FilterSpec | None = None,
    settings: Settings | None = None,
    batch: int = 10_000,
    password: str | None = None,
) -> Iterator[tuple]:
    """Rows as tuples, read as the department with a server-side cursor (bounded memory)."""
    query, params = select_query(resource, items, filters)
    with connect_as(department, settings, password=password) as conn:
        try:
            with conn.transaction(), conn.cursor(name="govlake_exchange_read") as cur:
                cur.itersize = batch
                cur.execute(query, params)
                yield from cur
        except (errors.InsufficientPrivilege, errors.UndefinedTable, errors.UndefinedColumn) as exc:
            raise _denied(department, resource, exc) from exc


def read_rows(
    department: str,
    resource: str,
    items: Sequence[str],
    filters: FilterSpec | None = None,
    limit: int = 100,
    settings: Settings | None = None,
    password: str | None = None,
) -> list[dict[str, Any]]:
    query, params = select_query(resource, items, filters, limit)
    with connect_as(department, settings, password=password) as conn:
        try:
            rows = conn.execute(query, params).fetchall()
        except (errors.InsufficientPrivilege, errors.UndefinedTable, errors.UndefinedColumn) as exc:
            raise _denied(department, resource, exc) from exc
    return [dict(zip(items, row, strict=True)) for row in rows]


def record_access(
    conn: psycopg.Connection,
    department: str,
    channel: str,
    resource: str,
    items: Sequence[str],
    row_count: int | None,
    detail: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        "insert into platform.access_log (department, channel, resource_key, items, row_count, detail) "
        "values (%s, %s, %s, %s, %s, %s)",
        (department, channel, resource, list(items), row_count, Jsonb(detail or {})),
    )
