"""`govlake cycle run` refuses a date Airflow would never start, instead of waiting for its timeout."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from govlake.cli import app
from govlake.cycle.cycle_runner import check_cycle_date

NOW = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)


def test_today_and_earlier_dates_can_run() -> None:
    check_cycle_date("2026-11-28", now=NOW)
    check_cycle_date("2026-11-27", now=NOW)


def test_a_later_date_is_refused_with_the_reason_and_what_to_run() -> None:
    with pytest.raises(
        ValueError, match=r"2026-11-29 is after today \(2026-11-28, UTC\).*Run the cycle of 2026-11-28"
    ):
        check_cycle_date("2026-11-29", now=NOW)


def test_the_cli_refuses_before_touching_airflow() -> None:
    result = CliRunner().invoke(app, ["cycle", "run", "--date", "2999-01-01"], env={"COLUMNS": "240"})
    assert result.exit_code == 2
    assert "after today" in result.output and "--date" in result.output
