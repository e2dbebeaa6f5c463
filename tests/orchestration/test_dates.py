from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from govlake.orchestration.cycle_dates import cycle_date_from_context, date_of


def test_date_of_accepts_dates_datetimes_and_strings():
    assert date_of(datetime(2026, 11, 27, 0, 0, tzinfo=UTC)) == date(2026, 11, 27)
    assert date_of("2026-11-27T00:00:00+00:00") == date(2026, 11, 27)
    assert date_of(date(2026, 1, 2)) == date(2026, 1, 2)


def test_conf_wins_over_logical_date():
    ctx = {
        "dag_run": SimpleNamespace(conf={"logical_date": "2026-11-20"}),
        "logical_date": datetime(2026, 11, 27, tzinfo=UTC),
    }
    assert cycle_date_from_context(ctx) == "2026-11-20"


def test_asset_events_carry_the_date_of_the_latest_batch():
    ev = lambda d: SimpleNamespace(extra={"logical_date": d})  # noqa: E731
    ctx = {
        "dag_run": SimpleNamespace(conf={}),
        "logical_date": None,
        "triggering_asset_events": {"a": [ev("2026-11-26")], "b": [ev("2026-11-27"), ev("2026-11-26")]},
    }
    assert cycle_date_from_context(ctx) == "2026-11-27"


def test_logical_date_is_used_for_scheduled_runs():
    ctx = {"dag_run": SimpleNamespace(conf=None), "logical_date": datetime(2026, 11, 27, tzinfo=UTC)}
    assert cycle_date_from_context(ctx) == "2026-11-27"


def test_no_date_at_all_is_an_error():
    with pytest.raises(ValueError, match="cycle date"):
        cycle_date_from_context({"dag_run": SimpleNamespace(conf={}, run_after=None)})
