"""统计局's macro-economic indicators by region and period, served by its REST API (``/api/v1/indicators``).

Annual values for the province, the nine prefectures and the 88 counties since 2015, and quarterly
cumulative values (NBS period codes ``2024A``..``2024D`` for Q1..Q4) for the province and prefectures.
Province figures follow Guizhou's published series roughly; prefectures add up to the province within the
statistical discrepancy real prefecture sums show (±0.5%), and counties to their prefecture. Units are as
the bureau publishes them — 亿元 for the province and prefectures but 万元 for counties, 万人 but 人 for
county population, 元 for incomes, % for growth rates — so staging has to normalise them. A period appears
only once it is published (annual in March of the next year, a quarter about 20 days after it ends), and a
few values are revised later, which moves their ``gxsj``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from demo_province import reference as ref
from demo_province.tables import INDICATOR_COLUMNS, Table, timestamp_strings
from demo_province.timeline import epoch_of, era_end, moment

FIRST_YEAR = 2015
_YEARS = tuple(range(2015, 2025))
# fmt: off
_GDP = (10503, 11777, 13541, 14806, 16769, 17827, 19586, 20165, 20913, 22667)  # 亿元
_POPULATION = (3530, 3555, 3580, 3600, 3623, 3858, 3852, 3856, 3865, 3860)  # 万人 (2020: census revision)
_URBAN_INCOME = (24580, 26743, 29080, 31592, 34404, 36096, 39211, 41086, 42772, 44447)  # 元
_RURAL_INCOME = (7387, 8090, 8869, 9716, 10756, 11642, 12856, 13707, 14817, 15797)
_RETAIL = (3283, 3709, 4154, 4523, 4914, 4870, 5330, 5640, 5900, 6150)  # 亿元
_FAI_GROWTH = (21.6, 21.1, 20.1, 15.8, 1.0, 3.2, -3.8, -5.1, -5.7, -5.6)  # %
_PRIMARY_SHARE = (0.156, 0.157, 0.149, 0.146, 0.136, 0.142, 0.139, 0.142, 0.138, 0.136)
_SECONDARY_SHARE = (0.396, 0.396, 0.395, 0.382, 0.361, 0.348, 0.353, 0.352, 0.351, 0.350)
# per prefecture (reference.PREFECTURES order)
_GDP_SHARE = (0.235, 0.075, 0.215, 0.055, 0.103, 0.075, 0.072, 0.070, 0.100)
_PRIMARY_WEIGHT = (0.3, 0.9, 1.0, 1.2, 1.5, 1.4, 1.1, 1.5, 1.2)
_SECONDARY_WEIGHT = (1.1, 1.3, 1.2, 0.9, 0.9, 0.8, 1.0, 0.7, 1.0)
_URBAN_FACTOR = (1.12, 0.97, 1.02, 0.95, 0.93, 0.94, 0.95, 0.94, 0.96)
_RURAL_FACTOR = (1.30, 0.92, 1.10, 1.00, 0.90, 0.95, 0.97, 0.93, 1.00)
_RETAIL_SHARE = (0.300, 0.065, 0.200, 0.050, 0.095, 0.065, 0.070, 0.070, 0.085)
# fmt: on
_QUARTER_SHARE = (0.22, 0.47, 0.72, 1.0)  # cumulative share of the year's flow by the end of Q1..Q4
_QUARTER_CODES = "ABCD"


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    unit: str  # province and prefectures
    county_unit: str
    quarterly: bool
    kind: str  # "flow" (adds up), "stock" (adds up, not cumulative), "level" (per head), "rate" (%)


INDICATORS: tuple[Indicator, ...] = (
    Indicator("A020101", "地区生产总值", "亿元", "万元", True, "flow"),
    Indicator("A020102", "第一产业增加值", "亿元", "万元", True, "flow"),
    Indicator("A020103", "第二产业增加值", "亿元", "万元", True, "flow"),
    Indicator("A020104", "第三产业增加值", "亿元", "万元", True, "flow"),
    Indicator("A030101", "常住人口", "万人", "人", False, "stock"),
    Indicator("A0A0101", "城镇居民人均可支配收入", "元", "元", True, "level"),
    Indicator("A0A0102", "农村居民人均可支配收入", "元", "元", True, "level"),
    Indicator("A0H0101", "社会消费品零售总额", "亿元", "万元", True, "flow"),
    Indicator("A0F0102", "固定资产投资增速", "%", "%", True, "rate"),
)
_TO_COUNTY_UNIT = {("亿元", "万元"): 10_000.0, ("万人", "人"): 10_000.0}


def _series(values: tuple, year: int) -> float:
    """A published value, or the last one grown on for years after the series ends."""
    if year in _YEARS:
        return float(values[_YEARS.index(year)])
    return float(values[-1]) * (1.05 if values is not _FAI_GROWTH else 1.0) ** (year - _YEARS[-1])


def _province(year: int) -> dict[str, float]:
    gdp = _series(_GDP, year)
    primary = gdp * _series(_PRIMARY_SHARE, year)
    secondary = gdp * _series(_SECONDARY_SHARE, year)
    return {
        "A020101": gdp, "A020102": primary, "A020103": secondary, "A020104": gdp - primary - secondary,
        "A030101": _series(_POPULATION, year), "A0A0101": _series(_URBAN_INCOME, year),
        "A0A0102": _series(_RURAL_INCOME, year), "A0H0101": _series(_RETAIL, year),
        "A0F0102": _series(_FAI_GROWTH, year),
    }  # fmt: skip


def _shares(weights: tuple[float, ...], base: tuple[float, ...]) -> np.ndarray:
    w = np.array(weights) * np.array(base)
    return w / w.sum()


def _prefectures(rng: np.random.Generator, province: dict[str, float]) -> np.ndarray:
    """Rows = prefectures, columns = INDICATORS; flows add up to the province within ±0.5%."""
    pop_share = np.array(list(ref.PREFECTURE_POPULATION.values()))
    pop_share = pop_share / pop_share.sum()
    gdp = province["A020101"] * np.array(_GDP_SHARE)
    primary = province["A020102"] * _shares(_PRIMARY_WEIGHT, _GDP_SHARE)
    secondary = province["A020103"] * _shares(_SECONDARY_WEIGHT, _GDP_SHARE)
    columns = [
        gdp, primary, secondary, gdp - primary - secondary, province["A030101"] * pop_share,
        province["A0A0101"] * np.array(_URBAN_FACTOR), province["A0A0102"] * np.array(_RURAL_FACTOR),
        province["A0H0101"] * np.array(_RETAIL_SHARE),
        province["A0F0102"] + rng.normal(0.0, 3.0, 9),
    ]  # fmt: skip
    table = np.column_stack(columns)
    discrepancy = rng.normal(1.0, 0.0025, table.shape)
    additive = np.array([i.kind in ("flow", "stock") for i in INDICATORS])
    return np.where(additive, table * discrepancy, table)


def _counties(rng: np.random.Generator, prefectures: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Rows = counties; flows and stocks split the prefecture's by weight, levels and rates vary around it."""
    geo = ref.geography()
    pref = geo.prefecture_of_county
    share = weights / np.bincount(pref, weights)[pref]
    out = np.empty((len(pref), len(INDICATORS)))
    for j, ind in enumerate(INDICATORS):
        if ind.kind in ("flow", "stock"):
            out[:, j] = prefectures[pref, j] * share
        elif ind.kind == "level":
            out[:, j] = prefectures[pref, j] * rng.normal(1.0, 0.06, len(pref))
        else:
            out[:, j] = prefectures[pref, j] + rng.normal(0.0, 4.0, len(pref))
    return out


def _published(year: int, quarter: int | None) -> np.datetime64:
    if quarter is None:
        return np.datetime64(f"{year + 1}-03-15")
    end = np.datetime64(f"{year}-{3 * quarter:02d}", "M") + 1
    return end.astype("M8[D]") + np.timedelta64(19, "D")


def _value_text(value: float, unit: str) -> str:
    return f"{value:.0f}" if unit in ("人", "元") else f"{value:.2f}"


def indicator_table(rng: np.random.Generator, logical_date: date) -> Table:
    """Every published indicator value up to ``logical_date``, in publication order."""
    return indicator_rows(rng, logical_date)[0]


def indicator_rows(rng: np.random.Generator, logical_date: date) -> tuple[Table, np.ndarray]:
    """The table of ``logical_date`` and each row's publication day.

    Every value of the era is drawn (so no date moves another's draws) and a date shows those published
    by then; a revision moves a row's ``gxsj`` on its own day. Rows are numbered in publication order, so
    a row keeps its id from the day it is published.
    """
    today = np.datetime64(logical_date.isoformat(), "D")
    last_year = int(str(era_end(epoch_of(logical_date)))[:4])
    geo = ref.geography()
    names = {d.code: d.name for d in ref.load_divisions()}
    county_weights = geo.county_weights * rng.lognormal(0.0, 0.25, len(geo.county_codes))
    regions = [ref.PROVINCE_CODE, *ref.PREFECTURES, *(str(c) for c in geo.county_codes.tolist())]
    rows: list[tuple] = []
    for year in range(FIRST_YEAR, last_year + 1):
        province = _province(year)
        prefs = _prefectures(rng, province)
        counties = _counties(rng, prefs, county_weights)
        values = np.vstack([[province[i.code] for i in INDICATORS], prefs, counties])
        for quarter in (1, 2, 3, 4, None):
            published = _published(year, quarter)
            period = str(year) if quarter is None else f"{year}{_QUARTER_CODES[quarter - 1]}"
            frequency = "年度" if quarter is None else "季度"
            for j, ind in enumerate(INDICATORS):
                if quarter is not None and not ind.quarterly:
                    continue
                for r, region in enumerate(regions if quarter is None else regions[:10]):
                    county = r >= 10
                    unit = ind.county_unit if county else ind.unit
                    value = values[r, j] * _TO_COUNTY_UNIT.get((ind.unit, unit), 1.0)
                    if quarter is not None and ind.kind == "flow":
                        value *= _QUARTER_SHARE[quarter - 1] * rng.normal(1.0, 0.01)
                    elif quarter is not None and ind.kind == "level":
                        value *= _QUARTER_SHARE[quarter - 1] * 1.02
                    revised = rng.random() < 0.05
                    stamp = published + (rng.integers(1, 90) if revised else 0) * np.timedelta64(1, "D")
                    if published <= today:
                        rows.append((ind.code, ind.name, region, names[region], frequency, period,
                                     _value_text(value, unit), unit, stamp if stamp <= today else published,
                                     published))  # fmt: skip
    rows.sort(key=lambda r: (r[9], r[5], r[0], r[2]))
    ids = np.arange(1, len(rows) + 1)
    stamps = timestamp_strings(moment(np.array([r[8] for r in rows], dtype="M8[D]"), 0x1D1, ids))
    table: Table = dict.fromkeys(INDICATOR_COLUMNS)
    table["id"] = [f"ZB{i:08d}" for i in ids.tolist()]
    for k, column in enumerate(INDICATOR_COLUMNS[1:-1]):
        table[column] = [r[k] for r in rows]
    table["gxsj"] = stamps
    return table, np.array([r[9] for r in rows], dtype="M8[D]")
