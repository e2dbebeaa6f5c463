"""The crop forecast: statsmodels ETS on a yearly series, an interval, and a back-test against naive."""

from __future__ import annotations

import math

import pytest

from govlake.cockpit.forecast import MIN_YEARS, consecutive_tail, forecast_next_year


def test_a_steady_trend_is_forecast_within_its_interval_and_beats_naive() -> None:
    series = {2015 + i: 1000.0 + 100.0 * i for i in range(10)}  # 1000 .. 1900, +100 a year
    fc = forecast_next_year(series)
    assert fc is not None
    assert fc.forecast_year == 2025 and fc.last_year == 2024 and fc.years_used == 10
    assert fc.method.startswith("ETS(A,Ad,N)")
    assert fc.lower <= fc.forecast <= fc.upper
    assert 1900 < fc.forecast < 2100  # the trend goes on, damped
    # back-test: fitted on 2015-2023, forecast 2024 (actual 1900); naive says 1800 (5.26 % off)
    assert fc.backtest_year == 2024 and fc.backtest_actual == 1900.0 and fc.backtest_naive == 1800.0
    assert fc.naive_error_pct == pytest.approx(100 * 100 / 1900, abs=0.01)
    assert fc.backtest_error_pct < fc.naive_error_pct


def test_a_flat_noisy_series_uses_the_level_only() -> None:
    values = [820.0, 790.0, 805.0, 812.0, 798.0]
    fc = forecast_next_year({2020 + i: v for i, v in enumerate(values)})
    assert fc is not None and fc.method.startswith("ETS(A,N,N)")
    assert 780 < fc.forecast < 830
    # five years: the back-test fits the first four (MIN_YEARS) and forecasts the fifth
    assert fc.backtest_year == 2024 and fc.backtest_naive == 812.0
    assert fc.naive_error_pct == pytest.approx(100 * 14 / 798, abs=0.01)
    assert fc.backtest_in_interval is not None
    assert all(math.isfinite(v) for v in (fc.forecast, fc.lower, fc.upper))


def test_back_test_error_is_the_absolute_percentage_error_of_the_held_out_year() -> None:
    values = [500.0, 520.0, 510.0, 530.0, 525.0, 600.0]
    fc = forecast_next_year({2019 + i: v for i, v in enumerate(values)})
    assert fc is not None and fc.backtest_year == 2024
    refit = forecast_next_year({2019 + i: v for i, v in enumerate(values[:-1])})
    assert refit is not None
    assert fc.backtest_forecast == pytest.approx(refit.forecast, abs=0.01)
    assert fc.backtest_error_pct == pytest.approx(100 * abs(refit.forecast - 600.0) / 600.0, abs=0.02)
    assert fc.naive_error_pct == pytest.approx(100 * 75 / 600, abs=0.01)


def test_too_short_or_broken_series_give_no_forecast() -> None:
    assert forecast_next_year({2022: 1.0, 2023: 2.0, 2024: 3.0}) is None
    # a gap breaks the series: only the consecutive tail counts
    gapped = {2015: 1.0, 2016: 2.0, 2017: 3.0, 2018: 4.0, 2021: 5.0, 2022: 6.0, 2023: 7.0}
    assert consecutive_tail(gapped) == [(2021, 5.0), (2022, 6.0), (2023, 7.0)]
    assert forecast_next_year(gapped) is None
    assert forecast_next_year({2020 + i: None for i in range(6)}) is None
    assert MIN_YEARS == 4
