"""Fixtures of the cockpit's integration tests: the published cycle and the cockpit's people."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from govlake.settings import Settings


def _published_cycle():
    path = Path(__file__).with_name("published_cycle.py")
    spec = importlib.util.spec_from_file_location("govlake_tests_cockpit_published_cycle", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def cockpit_day(stack: Settings) -> str:
    return _published_cycle().published_cockpit_day(stack)
