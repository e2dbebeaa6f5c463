"""Shared fixtures: the real local stack (started if it is not running), settings, connections."""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from govlake.settings import Settings, get_settings


def pytest_configure(config):
    # The zz_* sharing fixtures (zone, platform, outboxes) of tests/{sharing,exports,web}; lazy until asked for.
    config.pluginmanager.register(
        importlib.import_module("support.sharing_fixtures"), "govlake_tests_sharing_fixtures"
    )


# Fixtures that start or reach the running stack: a test using one (directly or through another fixture)
# is an integration test whatever its marks say, so `make test-unit` never starts a stack.
STACK_FIXTURES = frozenset({"stack"})


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects
def pytest_collection_modifyitems(config, items):
    for item in items:
        needs_stack = STACK_FIXTURES & set(getattr(item, "fixturenames", ()))
        if needs_stack and not (item.get_closest_marker("integration") or item.get_closest_marker("e2e")):
            item.add_marker(pytest.mark.integration)
    # Integration and end-to-end tests run against the real stack; keep them after the fast unit tests.
    # The day's first cycle (tests/e2e/test_daily_cycle.py) opens the stack tests: it checks a fresh stack,
    # and the tests that read a published day (published_day) then reuse its cycle instead of running one.
    order = {"first_cycle": 1, "e2e": 3, "integration": 2}
    items.sort(key=lambda it: _rank(it, order))


def _rank(item, order: dict[str, int]) -> int:
    marks = {m.name for m in item.iter_markers()}
    if "first_cycle" in marks:
        return order["first_cycle"]
    return max((order.get(name, 0) for name in marks), default=0)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
def stack(settings: Settings) -> Settings:
    """The running stack (PostgreSQL, S3, Airflow, department systems); `up` is a no-op if it runs."""
    from govlake.stack.manager import up

    up(settings)
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture(scope="session")
def published_day(stack) -> str:
    """A date the test stack's daily cycle published (libraries, exchange views, cockpit): the latest, or
    one small cycle run now (tests/support/published_cycle.py)."""
    from support.published_cycle import published_cockpit_day

    return published_cockpit_day(stack)


@pytest.fixture
def warehouse(stack: Settings):
    from govlake.warehouse import connect

    with connect(stack, autocommit=True) as conn:
        yield conn


class Received(list):
    """The JSON bodies POSTed to a webhook listener, in order, with their Content-Type headers beside."""

    def __init__(self) -> None:
        super().__init__()
        self.content_types: list[str] = []


@contextmanager
def _listen(path: str = "/hook") -> Iterator[tuple[str, Received]]:
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            received.content_types.append(self.headers["Content-Type"])
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}{path}", received
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def webhook_listener():
    """A real local HTTP listener for alert webhooks: ``with webhook_listener("/robot/send") as (url, received)``."""
    return _listen
