"""The web service's pooled platform connections (govlake.web.portal_db): reused while healthy, never
handed out in a transaction, replaced when the server dropped them."""

from __future__ import annotations

import pytest

from govlake.web import portal_db

pytestmark = pytest.mark.integration


def _drain() -> None:
    while not portal_db._idle.empty():
        portal_db._idle.get_nowait()[2].close()


@pytest.fixture
def empty_pool(stack):
    _drain()
    yield
    _drain()


def _backend(conn) -> int:
    return conn.execute("select pg_backend_pid()").fetchone()[0]


def test_an_idle_connection_is_reused(empty_pool):
    with portal_db.connect() as conn:
        first = _backend(conn)
    with portal_db.connect() as conn:
        assert _backend(conn) == first


def test_a_connection_left_in_a_transaction_or_failed_is_not_reused(empty_pool):
    with portal_db.connect() as conn:
        first = _backend(conn)
        conn.execute("begin")
    with portal_db.connect() as conn:
        second = _backend(conn)
    assert second != first
    with pytest.raises(RuntimeError), portal_db.connect() as conn:
        raise RuntimeError("the page failed while holding the connection")
    with portal_db.connect() as conn:
        assert _backend(conn) != second


def test_a_connection_the_server_dropped_is_replaced(empty_pool, warehouse, monkeypatch):
    with portal_db.connect() as conn:
        dropped = _backend(conn)
    warehouse.execute("select pg_terminate_backend(%s)", (dropped,))
    monkeypatch.setattr(portal_db, "CHECK_AFTER_IDLE_S", 0.0)
    with portal_db.connect() as conn:
        assert _backend(conn) != dropped
