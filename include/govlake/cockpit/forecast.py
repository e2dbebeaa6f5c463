"""Next year's revenue per mu from a county's yearly series, with an interval and an honest back-test.

Method (statsmodels' state-space exponential smoothing, ``ETSModel``): with at least
``MIN_YEARS_FOR_TREND`` years, ETS(A,Ad,N) — additive errors, an additive *damped* trend (the trend
flattens out rather than being extrapolated for ever), no seasonality (yearly figures have none); with
fewer years ETS(A,N,N), simple exponential smoothing (the level only). The interval is the model's
prediction interval at ``INTERVAL`` (80 %: leaders read a plausible range, not a 95 % worst case).

Back-test: the same method is fitted on every year but the last known one and forecasts that year; the
naive forecast (next year = this year) is the yardstick. Both absolute percentage errors are stored, so
the page shows whether the model beat doing nothing. Fewer than ``MIN_YEARS`` years: no forecast, and
the page says why.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass

MIN_YEARS = 4  # below this an interval from 3 points means nothing
MIN_YEARS_FOR_TREND = 7  # a damped trend has 4 parameters; it needs a few more points than that
INTERVAL = 0.80


@dataclass(frozen=True)
class Forecast:
    """One series' forecast for the year after its last, and the back-test on its last known year."""

    method: str
    years_used: int
    first_year: int
    last_year: int
    forecast_year: int
    forecast: float
    lower: float
    upper: float
    interval: float
    backtest_year: int | None
    backtest_actual: float | None
    backtest_forecast: float | None
    backtest_naive: float | None
    backtest_error_pct: float | None  # |forecast - actual| / actual, in %
    naive_error_pct: float | None  # |naive - actual| / actual, in %
    backtest_in_interval: bool | None

    def as_dict(self) -> dict:
        return asdict(self)


def _method(n: int) -> tuple[str, dict]:
    if n >= MIN_YEARS_FOR_TREND:
        return "ETS(A,Ad,N) 阻尼趋势指数平滑", {"trend": "add", "damped_trend": True}
    return "ETS(A,N,N) 简单指数平滑", {"trend": None}


def _fit_predict(values: list[float], first_year: int) -> tuple[str, float, float, float]:
    """Fit on ``values`` (consecutive years from ``first_year``); the next year's mean and interval."""
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    name, kwargs = _method(len(values))
    series = pd.Series(values, index=pd.period_range(str(first_year), periods=len(values), freq="Y"))
    with warnings.catch_warnings():
        # few points: the optimiser's convergence and the frequency warnings are expected, not news
        warnings.simplefilter("ignore")
        fitted = ETSModel(series, error="add", seasonal=None, **kwargs).fit(disp=False)
        frame = fitted.get_prediction(start=len(values), end=len(values)).summary_frame(alpha=1 - INTERVAL)
    row = frame.iloc[0]
    mean, lower, upper = float(row["mean"]), float(row["pi_lower"]), float(row["pi_upper"])
    if not all(math.isfinite(v) for v in (mean, lower, upper)):
        raise ValueError("the model gave no finite forecast")
    return name, mean, lower, upper


def _pct_error(forecast: float, actual: float) -> float | None:
    return None if actual == 0 else round(100 * abs(forecast - actual) / abs(actual), 2)


def consecutive_tail(series: Mapping[int, float | None]) -> list[tuple[int, float]]:
    """The latest run of consecutive years with a value (a gap breaks a yearly series)."""
    years = sorted(y for y, v in series.items() if v is not None and math.isfinite(float(v)))
    run: list[int] = []
    for year in reversed(years):
        if run and year != run[-1] - 1:
            break
        run.append(year)
    return [(y, float(series[y])) for y in reversed(run)]


def forecast_next_year(series: Mapping[int, float | None]) -> Forecast | None:
    """Forecast the year after the series' last, back-tested on its last known year; None if too short."""
    points = consecutive_tail(series)
    if len(points) < MIN_YEARS:
        return None
    years = [y for y, _ in points]
    values = [v for _, v in points]
    name, mean, lower, upper = _fit_predict(values, years[0])

    bt_year = bt_actual = bt_forecast = bt_naive = bt_error = naive_error = None
    in_interval = None
    if len(values) - 1 >= MIN_YEARS:
        _, bt_mean, bt_lower, bt_upper = _fit_predict(values[:-1], years[0])
        bt_year, bt_actual, bt_naive = years[-1], values[-1], values[-2]
        bt_forecast = round(bt_mean, 2)
        bt_error = _pct_error(bt_mean, bt_actual)
        naive_error = _pct_error(bt_naive, bt_actual)
        in_interval = bt_lower <= bt_actual <= bt_upper
    return Forecast(
        method=name,
        years_used=len(values),
        first_year=years[0],
        last_year=years[-1],
        forecast_year=years[-1] + 1,
        forecast=round(mean, 2),
        lower=round(lower, 2),
        upper=round(upper, 2),
        interval=INTERVAL,
        backtest_year=bt_year,
        backtest_actual=bt_actual,
        backtest_forecast=bt_forecast,
        backtest_naive=bt_naive,
        backtest_error_pct=bt_error,
        naive_error_pct=naive_error,
        backtest_in_interval=in_interval,
    )
