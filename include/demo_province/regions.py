"""自然资源厅's official division list (行政区划) and 交通运输厅's passenger volumes (客运量).

* Divisions: the real GB/T 2260 list the package carries (province, prefectures, counties, townships),
  with level names as the department writes them (省级/地级/县级/乡级) and an area in km² per county that
  sums to each prefecture's real area (city districts are small, rural counties large).
* Passenger volumes by prefecture, month and mode (公路, 铁路, 民航, 水运) since 2015: road travel shrinking
  as high-speed rail and flights grow, a Spring Festival peak, and the 2020-2022 collapse and recovery.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from demo_province import reference as ref
from demo_province.tables import DIVISION_COLUMNS, PASSENGER_COLUMNS, Table

# Real land area (km²) of each prefecture-level division; the province is 176 167 km².
PREFECTURE_AREA: dict[str, float] = {
    "520100": 8034, "520200": 9914, "520300": 30762, "520400": 9267, "520500": 26853,
    "520600": 18003, "522300": 16804, "522600": 30337, "522700": 26193,
}  # fmt: skip
_LEVEL_NAMES = {"province": "省级", "prefecture": "地级", "county": "县级", "township": "乡级"}
FIRST_YEAR = 2015


def county_areas(rng: np.random.Generator) -> dict[str, float]:
    """km² per county: the prefecture's real area split by weights (districts about a third of a county)."""
    geo = ref.geography()
    codes = [str(c) for c in geo.county_codes.tolist()]
    weights = np.array([0.35 if 1 <= int(c[4:]) <= 19 else 1.0 for c in codes]) * rng.uniform(
        0.6, 1.5, len(codes)
    )
    areas: dict[str, float] = {}
    for i, pref in enumerate(ref.PREFECTURES):
        mask = geo.prefecture_of_county == i
        share = weights[mask] / weights[mask].sum()
        for code, a in zip(
            np.array(codes)[mask].tolist(), (share * PREFECTURE_AREA[pref]).tolist(), strict=True
        ):
            areas[code] = round(a, 2)
    return areas


def division_table(rng: np.random.Generator) -> Table:
    """Every division of the reference list in code order; areas for counties and their sums above."""
    areas = county_areas(rng)
    for pref in ref.PREFECTURES:
        areas[pref] = round(
            sum(a for c, a in areas.items() if c[:4] == pref[:4] and len(c) == 6 and c != pref), 2
        )
    areas[ref.PROVINCE_CODE] = round(sum(areas[p] for p in ref.PREFECTURES), 2)
    divisions = ref.load_divisions()
    return dict(
        zip(
            DIVISION_COLUMNS,
            (
                [d.code for d in divisions],
                [d.name for d in divisions],
                [_LEVEL_NAMES[d.level] for d in divisions],
                [d.parent_code or None for d in divisions],
                [f"{areas[d.code]:.2f}" if d.code in areas else None for d in divisions],
            ),
            strict=True,
        )
    )


# -- passenger volumes ------------------------------------------------------------------------------------

MODES = ("公路", "铁路", "民航", "水运")
# Province total per month in 2015, 万人次, and the yearly trend factor per mode.
_BASE_2015 = {"公路": 6800.0, "铁路": 620.0, "民航": 140.0, "水运": 150.0}
_TREND = {"公路": 0.92, "铁路": 1.09, "民航": 1.08, "水运": 0.97}
_KM_PER_TRIP = {"公路": 48.0, "铁路": 260.0, "民航": 1250.0, "水运": 25.0}
# Spring Festival (January/February) and summer holidays carry more travellers.
_SEASON = np.array([1.18, 1.22, 0.95, 0.97, 0.98, 0.96, 1.05, 1.08, 0.97, 1.04, 0.93, 0.90])
# Prefecture shares per mode (民航 dominated by 贵阳龙洞堡, 水运 by the 乌江/北盘江 prefectures).
_PREF_WEIGHTS = {
    "公路": (0.20, 0.08, 0.17, 0.07, 0.15, 0.09, 0.08, 0.09, 0.07),
    "铁路": (0.38, 0.07, 0.16, 0.07, 0.05, 0.07, 0.04, 0.09, 0.07),
    "民航": (0.78, 0.02, 0.06, 0.02, 0.03, 0.03, 0.03, 0.02, 0.01),
    "水运": (0.05, 0.10, 0.20, 0.05, 0.05, 0.20, 0.10, 0.20, 0.05),
}


def _covid(year: int, month: int) -> float:
    if year == 2020:
        return (0.25, 0.15, 0.35, 0.5, 0.6, 0.65, 0.7, 0.75, 0.75, 0.8, 0.75, 0.7)[month - 1]
    if year == 2021:
        return 0.72
    if year == 2022:
        return 0.6 if month in (4, 5, 11, 12) else 0.68
    return 1.0 if year < 2020 else 0.88  # after 2023 road travel never fully came back


def passenger_months(logical_date: date) -> list[tuple[int, int]]:
    """(year, month) from January 2015 to the month before the logical date (published a month late)."""
    last = (
        (logical_date.year, logical_date.month - 1) if logical_date.month > 1 else (logical_date.year - 1, 12)
    )
    return [(y, m) for y in range(FIRST_YEAR, last[0] + 1) for m in range(1, 13) if (y, m) <= last]


def passenger_table(rng: np.random.Generator, logical_date: date) -> Table:
    """One row per prefecture x month x mode: 万人次 and 万人公里."""
    names = {d.code: d.name for d in ref.load_divisions()}
    rows: list[tuple] = []
    for year, month in passenger_months(logical_date):
        for mode in MODES:
            covid = _covid(year, month) if mode != "水运" else 1.0
            if mode == "民航" and year >= 2023:
                covid = 1.05
            total = _BASE_2015[mode] * _TREND[mode] ** (year - FIRST_YEAR) * _SEASON[month - 1] * covid
            noise = rng.normal(1.0, 0.04, len(ref.PREFECTURES))
            for pref, w, e in zip(ref.PREFECTURES, _PREF_WEIGHTS[mode], noise.tolist(), strict=True):
                volume = total * w * e
                km = volume * _KM_PER_TRIP[mode] * rng.normal(1.0, 0.03)
                rows.append((f"{year}-{month:02d}", pref, names[pref], mode, f"{volume:.2f}", f"{km:.1f}"))
    return dict(zip(PASSENGER_COLUMNS, (list(c) for c in zip(*rows, strict=True)), strict=True))
