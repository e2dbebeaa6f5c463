"""The words a leader's question is parsed with: Guizhou's real division names and the crops.

Divisions come from ``data/divisions.csv`` (province, prefectures and counties, copied from the dbt seed
``dbt_project/seeds/divisions.csv``, GB/T 2260 codes): each is known by its full name and the ways people
say it — without 市/县/区/特区, without the ethnic part of an autonomous name (威宁彝族回族苗族自治县 →
威宁, 威宁县; 黔南布依族苗族自治州 → 黔南, 黔南州) — and by names it had before a change (黔西县 became
黔西市 in 2021). Crops are the province's 12 characteristic industries and 玉米, with everyday names.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("data")
PROVINCE_CODE = "520000"
BIJIE_CODE = "520500"
CORN = "玉米"

ETHNIC_NAMES = ("布依族", "苗族", "侗族", "彝族", "回族", "仡佬族", "土家族", "水族")
FORMER_NAMES = {"黔西县": "520581", "毕节地区": "520500", "铜仁地区": "520600", "水城县": "520221"}

# The 12 characteristic industries (农业农村厅's crop_production dataset) and corn, with everyday names.
CROP_ALIASES: dict[str, tuple[str, ...]] = {
    "茶叶": ("茶叶", "茶", "茶园", "种茶"),
    "食用菌": ("食用菌", "菌", "菌菇", "蘑菇", "香菇"),
    "蔬菜": ("蔬菜", "菜", "青菜"),
    "牛羊": ("牛羊", "牛", "羊", "养牛", "养羊"),
    "特色林业": ("特色林业", "林业", "竹", "核桃", "油茶"),
    "水果": ("水果", "果", "果树", "猕猴桃", "李子"),
    "生猪": ("生猪", "猪", "养猪"),
    "中药材": ("中药材", "中药", "药材", "天麻", "太子参"),
    "刺梨": ("刺梨",),
    "生态渔业": ("生态渔业", "渔业", "鱼", "养鱼", "水产"),
    "辣椒": ("辣椒", "海椒", "椒"),
    "生态家禽": ("生态家禽", "家禽", "鸡", "养鸡", "禽"),
    CORN: ("玉米", "苞谷", "包谷", "苞米"),
}


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    level: str  # province | prefecture | county
    parent_code: str | None

    @property
    def prefecture_code(self) -> str | None:
        if self.level == "prefecture":
            return self.code
        return self.parent_code if self.level == "county" else None


def short_name(name: str) -> str:
    """威宁彝族回族苗族自治县 -> 威宁; 黔南布依族苗族自治州 -> 黔南; 六枝特区 -> 六枝; 毕节市 -> 毕节."""
    cut = [name.find(e) for e in ETHNIC_NAMES if name.find(e) > 0]
    if cut:
        return name[: min(cut)]
    for suffix in ("特区", "市", "县", "区", "州", "省"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


@cache
def divisions() -> dict[str, Division]:
    with (DATA / "divisions.csv").open(encoding="utf-8") as f:
        return {
            r["code"]: Division(r["code"], r["name"], r["level"], r["parent_code"] or None)
            for r in csv.DictReader(f)
        }


@cache
def region_aliases() -> dict[str, str]:
    """Every way of naming a division -> its code (full names win over a shorter form of another)."""
    aliases: dict[str, str] = {}
    for d in divisions().values():
        short = short_name(d.name)
        forms = [short]
        if d.level == "prefecture" and d.name.endswith("自治州"):
            forms += [short + "州", short + "自治州"]
        elif d.level == "county" and d.name.endswith("自治县"):
            forms += [short + "县", short + "自治县"]
        elif d.level == "county" and not d.name.endswith(("区", "特区")):
            forms += [short + "县"]
        for form in forms:
            aliases.setdefault(form, d.code)
    aliases.update(
        {"贵州": PROVINCE_CODE, "全省": PROVINCE_CODE, "贵州省": PROVINCE_CODE, "省里": PROVINCE_CODE}
    )
    aliases.update(FORMER_NAMES)
    for d in divisions().values():  # the official name always means that division
        aliases[d.name] = d.code
    return aliases


@cache
def crop_aliases() -> dict[str, str]:
    return {alias: crop for crop, names in CROP_ALIASES.items() for alias in names}


@cache
def tokenizer():
    """A jieba tokenizer of its own, knowing the division and crop names (the global one stays untouched)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    for word in (*region_aliases(), *crop_aliases()):
        if len(word) >= 2:
            tok.add_word(word, freq=2_000_000)
    for word in ("种什么", "不种", "改种", "比玉米", "已故", "最晚", "参保", "市场主体", "这五年", "近五年"):
        tok.add_word(word, freq=2_000_000)
    return tok


def cut(text: str) -> list[str]:
    return [w for w in tokenizer().lcut(text) if w.strip()]


def region_name(code: str) -> str:
    d = divisions().get(code)
    return d.name if d else code


def counties_of(prefecture_code: str) -> list[Division]:
    return [d for d in divisions().values() if d.level == "county" and d.parent_code == prefecture_code]
