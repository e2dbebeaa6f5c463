"""农业农村厅's yearly production of the 12 characteristic industries, plus corn, by county (2015 - last year).

Shaped so that the leaders' question — "if farmers in Bijie stop planting corn, which crop earns more per mu,
and how steadily?" — has real answers: each crop has its own scale trend (Guizhou cut corn by a third in
the 2018 农村产业革命 while tea, 刺梨 and 食用菌 grew), yields hit by province-wide weather (the 2022
drought), prices that drift and swing (the 2019-2020 pig cycle, volatile 中药材 and 辣椒, 刺梨 falling as
plantations matured), and prefectures with their own strengths: 遵义 tea and chilli, 毕节 vegetables
(mostly 马铃薯), chilli and medicinal herbs, 六盘水 刺梨, 铜仁 and 黔南 tea, 黔东南 forestry and fishery.
Livestock is counted by head (存栏/出栏), so the scale unit is a column and per-mu comparisons apply only
where the unit is 亩.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from demo_province import reference as ref
from demo_province.tables import CROP_COLUMNS, Table
from demo_province.timeline import epoch_of, era_end

FIRST_YEAR = 2015


@dataclass(frozen=True)
class Crop:
    name: str
    indicator: str  # 种植面积 / 存栏量 / 出栏量 / 养殖面积
    unit: str  # 亩 / 头 / 万羽
    scale_2015: float  # province, in ``unit``
    growth: tuple[float, float]  # yearly scale factor before and from 2018
    yield_per_unit: float  # 吨 per unit
    price_2015: float  # 元/公斤
    drift: float  # yearly price factor
    volatility: float  # sd of the yearly log price change
    prefecture: tuple[float, ...]  # strength per prefecture (reference.PREFECTURES order)


# fmt: off
CROPS: tuple[Crop, ...] = (
    Crop("茶叶", "种植面积", "亩", 6.5e6, (1.04, 1.01), 0.035, 120.0, 1.03, 0.06, (0.6, 0.5, 2.5, 1.0, 0.6, 1.8, 0.8, 1.2, 1.6)),
    Crop("食用菌", "种植面积", "亩", 5.0e4, (1.10, 1.30), 4.0, 8.0, 1.00, 0.12, (1.2, 0.8, 1.0, 0.8, 1.5, 1.2, 1.0, 1.0, 0.8)),
    Crop("蔬菜", "种植面积", "亩", 1.5e7, (1.03, 1.04), 1.6, 2.8, 1.03, 0.10, (1.3, 0.9, 1.0, 1.0, 1.8, 0.8, 0.8, 0.8, 1.0)),
    Crop("牛羊", "存栏量", "头", 6.0e6, (1.01, 1.03), 0.05, 65.0, 1.04, 0.05, (0.3, 1.0, 1.0, 0.8, 1.8, 0.9, 1.2, 1.2, 0.8)),
    Crop("特色林业", "种植面积", "亩", 5.0e6, (1.08, 1.12), 0.08, 12.0, 1.01, 0.08, (0.4, 1.0, 1.0, 0.8, 1.1, 1.3, 1.3, 1.5, 1.2)),
    Crop("水果", "种植面积", "亩", 5.0e6, (1.05, 1.07), 0.7, 5.0, 1.02, 0.12, (1.0, 1.3, 0.9, 1.0, 0.8, 0.9, 1.3, 1.2, 1.1)),
    Crop("生猪", "出栏量", "头", 1.8e7, (1.02, 1.00), 0.09, 15.0, 1.00, 0.00, (0.8, 0.9, 1.3, 0.9, 1.2, 1.0, 0.9, 1.0, 0.9)),
    Crop("中药材", "种植面积", "亩", 4.0e6, (1.06, 1.09), 0.4, 10.0, 1.02, 0.20, (0.4, 0.8, 1.1, 0.8, 2.0, 1.0, 1.0, 1.0, 0.9)),
    Crop("刺梨", "种植面积", "亩", 6.0e5, (1.15, 1.25), 0.25, 2.6, 0.95, 0.15, (0.5, 9.0, 0.6, 1.2, 1.4, 0.5, 0.8, 0.6, 1.0)),
    Crop("生态渔业", "养殖面积", "亩", 3.5e5, (1.02, 1.04), 0.6, 16.0, 1.02, 0.06, (0.8, 0.7, 1.2, 0.8, 0.6, 1.2, 1.3, 1.3, 1.0)),
    Crop("辣椒", "种植面积", "亩", 4.5e6, (1.03, 1.04), 1.2, 4.0, 1.02, 0.18, (0.5, 0.6, 2.3, 0.9, 1.6, 0.8, 0.8, 0.7, 0.6)),
    Crop("生态家禽", "出栏量", "万羽", 1.0e4, (1.04, 1.05), 15.0, 18.0, 1.02, 0.07, (1.0, 0.9, 1.1, 1.0, 1.0, 1.0, 0.9, 1.1, 1.0)),
    Crop("玉米", "种植面积", "亩", 1.1e7, (1.00, 0.93), 0.36, 2.2, 1.01, 0.05, (0.5, 1.3, 1.0, 1.0, 1.6, 0.9, 1.0, 0.7, 0.8)),
)
# fmt: on
CROP_NAMES = tuple(c.name for c in CROPS)
# 生猪 price (元/公斤): the African-swine-fever cycle, not a random walk.
_PIG_PRICE = {2015: 15.5, 2016: 18.0, 2017: 14.5, 2018: 13.0, 2019: 21.5, 2020: 33.5, 2021: 20.0,
              2022: 19.0, 2023: 15.0, 2024: 16.8}  # fmt: skip
# Province-wide harvest factor per year (2022: the summer drought).
_WEATHER = {2016: 0.97, 2019: 1.03, 2022: 0.84, 2023: 0.95}


def crop_years(logical_date: date) -> list[int]:
    """2015 up to the last complete year."""
    return list(range(FIRST_YEAR, logical_date.year))


def _price_paths(rng: np.random.Generator, years: list[int]) -> np.ndarray:
    """Province average price per crop (rows) and year (columns)."""
    out = np.zeros((len(CROPS), len(years)))
    for i, crop in enumerate(CROPS):
        steps = np.log(crop.drift) + crop.volatility * rng.standard_normal(len(years))
        steps[0] = 0.0
        out[i] = crop.price_2015 * np.exp(np.cumsum(steps))
        if crop.name == "生猪":
            out[i] = [_PIG_PRICE.get(y, 16.5) * rng.normal(1.0, 0.03) for y in years]
        if crop.name == "刺梨":
            out[i] = np.maximum(out[i], 1.2)
    return out


def _scale(crop: Crop, year: int) -> float:
    before, after = crop.growth
    t_before = min(year, 2018) - FIRST_YEAR
    t_after = max(year - 2018, 0)
    return crop.scale_2015 * before**t_before * after**t_after


def _main_townships(rng: np.random.Generator) -> list[str]:
    """Per county: two townships that grow most; counties with GB18030-only township names list them."""
    towns: dict[str, list[str]] = {}
    for d in ref.load_divisions():
        if d.level == "township":
            towns.setdefault(d.parent_code, []).append(d.name)
    out = []
    for code in ref.geography().county_codes.tolist():
        names = towns.get(str(code), ["城关镇"])
        rare = [n for n in names if not _gbk(n)]
        picks = list(rng.choice(names, size=min(2, len(names)), replace=False))
        out.append("、".join(list(dict.fromkeys(rare + [str(x) for x in picks]))[:2]))
    return out


def _gbk(text: str) -> bool:
    try:
        text.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


def crop_table(rng: np.random.Generator, logical_date: date) -> Table:
    """One row per county x crop x year; a county that does not grow a crop has no row for it."""
    geo = ref.geography()
    # Every year of the era is drawn, so a new year's rows never change an earlier year's.
    years = list(range(FIRST_YEAR, int(str(era_end(epoch_of(logical_date)))[:4]) + 1))
    shown = set(crop_years(logical_date))
    # Prices and each year's noise come from streams of their own: a year more never moves the counties.
    base = int(rng.integers(2**31))
    prices = _price_paths(np.random.default_rng([base, 0]), years)
    n_counties = len(geo.county_codes)
    district = np.array([1 <= c % 100 <= 19 for c in geo.county_codes.tolist()])
    towns = _main_townships(rng)
    rows: list[tuple] = []
    for i, crop in enumerate(CROPS):
        strength = np.array(crop.prefecture)[geo.prefecture_of_county]
        factor = strength * rng.lognormal(0.0, 0.5, n_counties) * np.where(district, 0.3, 1.0)
        grows = rng.random(n_counties) < np.where(district, 0.6, 0.95)
        share = factor / factor.sum()
        productivity = rng.lognormal(0.0, 0.15, n_counties)
        premium = rng.lognormal(0.0, 0.08, n_counties)
        for t, year in enumerate(years):
            noise = np.random.default_rng([base, 1 + i, year])
            weather = _WEATHER.get(year, 1.0) if crop.unit == "亩" else 1.0
            scale = _scale(crop, year) * share * noise.normal(1.0, 0.03, n_counties)
            output = (
                scale * crop.yield_per_unit * productivity * weather * noise.normal(1.0, 0.05, n_counties)
            )
            price = prices[i, t] * premium * noise.normal(1.0, 0.03, n_counties)
            value = output * price / 10.0  # 吨 x 元/公斤 x 1000 / 10000 = 万元
            for c in np.flatnonzero(grows).tolist() if year in shown else ():
                rows.append((
                    str(year), str(geo.county_codes[c]), geo.county_names[c], crop.name, crop.indicator,
                    f"{scale[c]:.0f}" if crop.unit != "万羽" else f"{scale[c]:.2f}", crop.unit,
                    f"{output[c]:.1f}", f"{price[c]:.2f}", f"{value[c]:.1f}", towns[c],
                ))  # fmt: skip
    rows.sort(key=lambda r: (r[0], r[1], CROP_NAMES.index(r[3])))
    return dict(zip(CROP_COLUMNS, (list(c) for c in zip(*rows, strict=True)), strict=True))
