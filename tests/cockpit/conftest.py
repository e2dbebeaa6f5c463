"""Fixtures of the cockpit's integration tests: the published cycle and the cockpit's people."""

from __future__ import annotations

import pytest
from support.published_cycle import published_cockpit_day

from govlake.settings import Settings


@pytest.fixture(scope="session")
def cockpit_day(stack: Settings) -> str:
    return published_cockpit_day(stack)
