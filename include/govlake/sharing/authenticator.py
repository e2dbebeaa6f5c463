"""The web service's one database login, and a login role for every department (PostgREST's pattern).

``govlake_web`` is a LOGIN role with ``NOINHERIT`` and no privileges of its own: a member of every
department role (and the data office's), it can read nothing until it switches to one. For each
request of a signed-in person the portal opens a transaction and runs ``SET LOCAL ROLE dept_<code>``
(:func:`as_department`), so PostgreSQL applies exactly that department's column privileges, grants
and masking, the same as the department's own psql login; at the end of the transaction the role falls
back to the authenticator. ``exchange.item_granted`` takes the role set this way (the ``role``
setting, which only a member can set) before the login name, so conditional items follow the switch.

Every department of the registry gets its own login role and password too, listed with the data office
and the authenticator in ``<GOVLAKE_HOME>/departments.env`` (:func:`ensure_department_logins`).
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from govlake.settings import Settings, get_settings
from govlake.warehouse.department_roles import (
    DATA_OFFICE,
    DATA_OFFICE_ROLE,
    DEPARTMENTS_GROUP,
    _read_credentials,
    credentials_file,
    ensure_department_role,
    ensure_group,
    ensure_login_role,
    role_name,
)

log = logging.getLogger(__name__)

AUTHENTICATOR_ROLE = "govlake_web"


def _department_roles(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        """
        select r.rolname from pg_roles r
        where r.rolname = %s or pg_has_role(r.rolname, %s, 'member') and r.rolname like 'dept\\_%%'
        order by 1
        """,
        (DATA_OFFICE_ROLE, DEPARTMENTS_GROUP),
    ).fetchall()
    return [r[0] for r in rows]


def ensure_authenticator(conn: psycopg.Connection, settings: Settings | None = None) -> str:
    """Create (or refresh) the authenticator login and make it a member of every department role.

    Returns its password (kept in ``departments.env``)."""
    settings = settings or get_settings()
    ensure_group(conn)
    password = ensure_login_role(conn, AUTHENTICATOR_ROLE, None, settings)
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('govlake.department_roles'))")
        ident = sql.Identifier(AUTHENTICATOR_ROLE)
        # ensure_login_role gives login roles INHERIT; the authenticator must hold nothing by itself.
        conn.execute(sql.SQL("alter role {} noinherit").format(ident))
        for role in _department_roles(conn):
            conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(role), ident))
    return password


def ensure_department_logins(
    conn: psycopg.Connection, departments: Iterable[str], settings: Settings | None = None
) -> dict[str, str]:
    """A login role for each department code and the data office, then the authenticator over them all.

    Returns ``{role: password}`` as written to ``departments.env``."""
    settings = settings or get_settings()
    for code in dict.fromkeys([*departments, DATA_OFFICE]):
        ensure_department_role(conn, code, settings)
    ensure_authenticator(conn, settings)
    return dict(sorted(_read_credentials(credentials_file(settings)).items()))


def registry_department_codes() -> list[str]:
    from govlake.registry import load_departments

    return [d.code for d in load_departments()]


def authenticator_password(settings: Settings) -> str | None:
    return _read_credentials(credentials_file(settings)).get(AUTHENTICATOR_ROLE)


class AuthenticatorPool:
    """A few open connections as the authenticator (opening one costs more than most page queries)."""

    def __init__(self, settings: Settings, size: int = 8):
        self.settings, self.size = settings, size
        self._idle: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue()

    def _open(self) -> psycopg.Connection:
        password = authenticator_password(self.settings)
        if not password:
            raise RuntimeError(
                f"{credentials_file(self.settings)} has no {AUTHENTICATOR_ROLE} password: run "
                "`govlake users provision` (or `govlake demo`) to create the department logins"
            )
        url = self.settings.pg_url(self.settings.warehouse_db, user=AUTHENTICATOR_ROLE, password=password)
        return psycopg.connect(url, connect_timeout=5, application_name="govlake-portal")

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = self._open()
        try:
            yield conn
        except BaseException:
            conn.close()
            raise
        if conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.close()
        elif self._idle.qsize() < self.size:
            self._idle.put(conn)
        else:
            conn.close()


@contextmanager
def as_department(conn: psycopg.Connection, department: str) -> Iterator[psycopg.Connection]:
    """A transaction on an authenticator connection switched to the department's role (then back)."""
    with conn.transaction():
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role_name(department))))
        yield conn


def grant_to_authenticator(conn: psycopg.Connection, department: str) -> None:
    """Make a department role (created since the authenticator was) switchable; idempotent."""
    conn.execute(
        sql.SQL("grant {} to {}").format(
            sql.Identifier(role_name(department)), sql.Identifier(AUTHENTICATOR_ROLE)
        )
    )
