"""A published daily cycle, for the tests that read what one leaves: the cockpit's (tests/cockpit,
tests/web/test_cockpit_pages.py) and the portal journeys on real departments' data (exchange views,
the catalog's libraries).

The cockpit is built by ``publish__libraries`` after every publication, so this needs one cycle that went
through the scheduler: the latest published date on the test stack is used when the cockpit was built
for it; otherwise one small cycle is generated and run (tests/e2e/cycles.py), once per session.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime
from pathlib import Path

from govlake.settings import Settings
from govlake.warehouse import connect

SEED = 7


def _cycles():
    path = Path(__file__).resolve().parents[1] / "e2e" / "cycles.py"
    spec = importlib.util.spec_from_file_location("govlake_tests_e2e_cycles", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def cockpit_day(stack: Settings) -> str | None:
    """The latest date whose libraries were published and whose cockpit the cycle then built."""
    with connect(stack, autocommit=True) as conn:
        if conn.execute("select to_regclass('cockpit.builds')").fetchone()[0] is None:
            return None
        row = conn.execute(
            """
            select max(b.logical_date) from cockpit.builds b
            where exists (select 1 from platform.publications p
                          where p.logical_date = b.logical_date and p.target = 'base.bijie_crops_vs_corn'
                            and p.status = 'published')
            """
        ).fetchone()
    return row[0].isoformat() if row and row[0] else None


def published_cockpit_day(stack: Settings) -> str:
    day = cockpit_day(stack)
    if day is not None:
        return day
    cycles = _cycles()
    day = datetime.now(UTC).date().isoformat()
    cycles.generate_day(stack, day, scale="small", seed=SEED, defect_rate=0.03)
    outcome = cycles.run_day(stack, day)
    assert outcome.ok, f"the cycle the cockpit tests need failed: {outcome.failed}"
    assert cockpit_day(stack) == day, "publish__libraries did not build the cockpit"
    return day
