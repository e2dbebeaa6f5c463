"""Shared fixtures: the real local stack (started if it is not running), settings, connections."""

from __future__ import annotations

import pytest

from govlake.settings import Settings, get_settings


def pytest_collection_modifyitems(config, items):
    # Integration and end-to-end tests run against the real stack; keep them after the fast unit tests.
    order = {"e2e": 2, "integration": 1}
    items.sort(key=lambda it: max((order.get(m.name, 0) for m in it.iter_markers()), default=0))


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


@pytest.fixture
def warehouse(stack: Settings):
    from govlake.warehouse import connect

    with connect(stack, autocommit=True) as conn:
        yield conn
