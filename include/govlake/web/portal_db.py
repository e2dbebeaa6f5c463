"""Pooled platform connections for the web service: the portal's pages and the JSON APIs alike.

Opening a PostgreSQL connection (TCP + SCRAM) costs more than most page queries — ~6 ms of the web
worker's CPU and as much of the server's, per request — so every request reuses one of a few autocommit
connections: :func:`connect` hands one out and takes it back when it is idle again (a connection that
saw an error, or is left inside a transaction, is closed instead). A pooled connection belongs to the
database it was opened for: if the settings point elsewhere (a test's scratch stack), it is closed.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from govlake.settings import get_settings
from govlake.warehouse import connect as open_connection

POOL_SIZE = 16
CHECK_AFTER_IDLE_S = 10.0  # a connection idle longer is tried first (the server may have restarted)
_idle: queue.LifoQueue[tuple[str, float, psycopg.Connection]] = queue.LifoQueue()


def _alive(conn: psycopg.Connection) -> bool:
    try:
        conn.execute("select 1")
    except psycopg.Error:
        conn.close()
        return False
    return True


def _pooled(url: str) -> psycopg.Connection | None:
    while True:
        try:
            opened_for, idle_since, conn = _idle.get_nowait()
        except queue.Empty:
            return None
        if opened_for != url or conn.closed:
            conn.close()
        elif time.monotonic() - idle_since < CHECK_AFTER_IDLE_S or _alive(conn):
            return conn


@contextmanager
def connect(autocommit: bool = True) -> Iterator[psycopg.Connection]:
    """A platform connection (autocommit) from the pool; same use as ``govlake.warehouse.connect``."""
    settings = get_settings()
    url = settings.pg_url()
    conn = _pooled(url) or open_connection(settings, autocommit=True, application_name="govlake-web")
    try:
        yield conn
    except BaseException:
        conn.close()
        raise
    if (
        conn.closed
        or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
        or _idle.qsize() >= POOL_SIZE
    ):
        conn.close()
    else:
        _idle.put((url, time.monotonic(), conn))
