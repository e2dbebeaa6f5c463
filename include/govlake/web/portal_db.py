"""Pooled platform connections for the portal's pages.

Opening a PostgreSQL connection (TCP + SCRAM) costs more than most page queries, so the pages reuse a
few autocommit connections: :func:`connect` hands one out and takes it back when it is idle again (a
connection that saw an error, or is left inside a transaction, is closed instead).
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from govlake.settings import get_settings
from govlake.warehouse import connect as open_connection

POOL_SIZE = 16
_idle: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue()


@contextmanager
def connect(autocommit: bool = True) -> Iterator[psycopg.Connection]:
    """A platform connection (autocommit) from the pool; same use as ``govlake.warehouse.connect``."""
    try:
        conn = _idle.get_nowait()
    except queue.Empty:
        conn = open_connection(get_settings(), autocommit=True, application_name="govlake-portal")
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
        _idle.put(conn)
