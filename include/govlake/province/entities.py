"""Synthetic market entities (市场主体) registered with 市场监管局.

Each entity's legal representative is a real (synthetic) resident of the same chunk, so the legal-entity
library can link them to the population library. Entity types, industries, names, capital and dates follow
the shape of a provincial register: most entities are 个体工商户 in retail, catering and services, then
limited companies, then farmers' cooperatives in the province's characteristic crops.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from govlake.province import reference as ref
from govlake.province.identifiers import USCC_ALPHABET, USCC_ENTITY_TYPES, make_uscc
from govlake.province.people import People, day, pick, random_day_between

# entity type -> (share, registration authority + type code, capital choices in 万元)
ENTITY_TYPES: dict[str, tuple[float, str, tuple[float, ...]]] = {
    "个体工商户": (0.655, USCC_ENTITY_TYPES["个体工商户"], (0.5, 1, 2, 3, 5, 10, 20, 50)),
    "有限责任公司": (
        0.27,
        USCC_ENTITY_TYPES["企业"],
        (3, 5, 10, 30, 50, 100, 200, 300, 500, 1000, 2000, 5000),
    ),
    "股份有限公司": (0.01, USCC_ENTITY_TYPES["企业"], (500, 1000, 2000, 5000, 10000, 50000)),
    "个人独资企业": (0.015, USCC_ENTITY_TYPES["企业"], (1, 3, 5, 10, 50, 100)),
    "合伙企业": (0.005, USCC_ENTITY_TYPES["企业"], (10, 100, 500, 1000, 3000)),
    "农民专业合作社": (0.045, USCC_ENTITY_TYPES["农民专业合作社"], (5, 10, 20, 50, 100, 200, 500)),
}
STATUSES = ("存续", "注销", "吊销")
STATUS_P = np.array([0.86, 0.10, 0.04])

# New-style organisation codes (issued with the credit code since October 2015) start with "MA".
_NEW_STYLE_FROM = np.datetime64("2015-10-01")
_TRADE_FIRST = "黔华鑫宏盛凯金恒永聚苗乌梵云瑞泰汇嘉天博润新民兴百多红筑爽娄锦正诚远德益铭和安祥卓智绿青康"
_TRADE_SECOND = "丰联源达世旋信兴水岭江净灵泰和通禾誉远泽航城韵腾发图绣鑫大隆众顺瑞桥河越晟辉昌盛恒"
_PREFECTURE_SHORT = ("贵阳", "六盘水", "遵义", "安顺", "毕节", "铜仁", "黔西南州", "黔东南州", "黔南州")


@dataclass
class Entities:
    """One chunk of market entities as 市场监管局 records them (strings), plus what others link to."""

    credit_code: list[str]
    name: list[str]
    entity_type: list[str]
    legal_rep_name: list[str]
    legal_rep_id: list[str]
    industry: list[str]
    capital: list[str]
    established: np.ndarray  # datetime64[D]
    division: list[str]
    address: list[str]
    status: list[str]

    def __len__(self) -> int:
        return len(self.credit_code)

    def employers(self) -> list[str]:
        """Credit codes of active non-individual entities (the ones that insure employees)."""
        return (
            [
                c
                for c, t, s in zip(self.credit_code, self.entity_type, self.status, strict=True)
                if s == "存续" and t != "个体工商户"
            ]
            or [c for c, s in zip(self.credit_code, self.status, strict=True) if s == "存续"]
            or list(self.credit_code)
        )


def _industries(rng: np.random.Generator, types: list[str]) -> list[str]:
    letters = list(ref.INDUSTRY_WEIGHTS)
    general = np.array(list(ref.INDUSTRY_WEIGHTS.values()))
    drawn = pick(rng, general, len(types))
    shop = rng.choice(np.array(["F", "H", "O"]), len(types), p=[0.6, 0.3, 0.1])
    out = []
    for t, g, s in zip(types, drawn.tolist(), shop.tolist(), strict=True):
        out.append("A" if t == "农民专业合作社" else s if t == "个体工商户" else letters[g])
    return out


def _trade_name(u: float, v: float) -> str:
    return _TRADE_FIRST[int(u * len(_TRADE_FIRST))] + _TRADE_SECOND[int(v * len(_TRADE_SECOND))]


def _entity_name(kind: str, industry: str, county: int, rep_name: str, u: np.ndarray) -> str:
    geo = ref.geography()
    county_name = geo.county_names[county]
    trade = _trade_name(u[0], u[1]) if u[4] > 0.15 else ref.TRADE_NAMES[int(u[0] * len(ref.TRADE_NAMES))]
    phrases = ref.INDUSTRY_PHRASES[industry]
    phrase = phrases[int(u[2] * len(phrases))]
    if kind == "个体工商户":
        trades = ref.SHOP_TRADES[industry]
        return f"{county_name}{rep_name[0]}记{trades[int(u[2] * len(trades))]}"
    if kind == "农民专业合作社":
        village = ref.VILLAGES[int(u[3] * len(ref.VILLAGES))]
        product = ref.COOPERATIVE_PRODUCTS[int(u[2] * len(ref.COOPERATIVE_PRODUCTS))]
        return f"{county_name}{village}{product}农民专业合作社"
    if kind == "个人独资企业":
        return f"{county_name}{trade}{phrase}经营部"
    if kind == "合伙企业":
        return f"贵州{trade}{phrase}合伙企业（有限合伙）"
    suffix = "股份有限公司" if kind == "股份有限公司" else "有限公司"
    place = (
        "贵州"
        if u[3] < 0.6 or kind == "股份有限公司"
        else _PREFECTURE_SHORT[geo.prefecture_of_county[county]]
    )
    return f"{place}{trade}{phrase}{suffix}"


def _org_body(rng: np.random.Generator, new_style: bool) -> str:
    if new_style:
        return "MA" + "".join(USCC_ALPHABET[i] for i in rng.integers(0, len(USCC_ALPHABET), 6))
    return "".join(str(d) for d in rng.integers(0, 10, 8))


def _credit_codes(
    rng: np.random.Generator,
    type_codes: list[str],
    divisions: list[str],
    established: np.ndarray,
    used: set[str],
) -> list[str]:
    codes = []
    for type_code, division, new_style in zip(
        type_codes, divisions, (established >= _NEW_STYLE_FROM).tolist(), strict=True
    ):
        code = make_uscc(type_code, division, _org_body(rng, new_style))
        while code[:16] in used:  # the organisation code must be unique, whatever its check characters
            code = make_uscc(type_code, division, _org_body(rng, new_style))
        used.add(code[:16])
        codes.append(code)
    return codes


def _capital(rng: np.random.Generator, kinds: list[str]) -> list[str]:
    u = rng.random(len(kinds))
    out = []
    for kind, x in zip(kinds, u.tolist(), strict=True):
        choices = ENTITY_TYPES[kind][2]
        out.append(f"{choices[int(x * len(choices))]:.2f}")
    return out


def _addresses(rng: np.random.Generator, county_idx: np.ndarray, kinds: list[str]) -> list[str]:
    geo = ref.geography()
    u = rng.random((3, len(kinds)))
    out = []
    for c, kind, a, b, h in zip(
        county_idx.tolist(), kinds, u[0].tolist(), u[1].tolist(), u[2].tolist(), strict=True
    ):
        towns = geo.townships[c]
        town = towns[int(a * len(towns))]
        if kind == "农民专业合作社" or not town.endswith("街道"):
            place = f"{ref.VILLAGES[int(b * len(ref.VILLAGES))]}村{1 + int(h * 12)}组"
        else:
            place = f"{ref.ROADS[int(b * len(ref.ROADS))]}{1 + int(h * 500)}号"
        out.append(f"{geo.county_prefix[c]}{town}{place}")
    return out


def generate_entities(
    rng: np.random.Generator, n: int, people: People, logical_date: date, used_codes: set[str]
) -> Entities:
    """``n`` entities whose legal representatives are adults of ``people`` still living in the province."""
    geo = ref.geography()
    today = day(logical_date)
    candidates = np.flatnonzero((people.status == "正常") & (people.age >= 22) & (people.age <= 75))
    if len(candidates) == 0:
        candidates = np.arange(len(people))
    rep = candidates[rng.integers(0, len(candidates), n)]
    kind_names = list(ENTITY_TYPES)
    kinds = [kind_names[i] for i in pick(rng, np.array([v[0] for v in ENTITY_TYPES.values()]), n).tolist()]
    industries = _industries(rng, kinds)
    own_county = rng.random(n) < 0.8
    county_idx = np.where(own_county, people.county_idx[rep], pick(rng, geo.county_weights, n))
    years_back = np.minimum(rng.exponential(6.0, n), 30.0)
    established = today - (years_back * 365.25).astype(np.int64).astype("m8[D]")
    adult = people.birth[rep] + np.timedelta64(18 * 366, "D")
    established = np.where(
        established < adult, random_day_between(rng, adult, np.full(n, today)), established
    )
    divisions = [str(c) for c in geo.county_codes[county_idx].tolist()]
    u = rng.random((n, 5))
    rep_names = [people.name[i] for i in rep.tolist()]
    names = [
        _entity_name(k, ind, c, rn, u[i])
        for i, (k, ind, c, rn) in enumerate(
            zip(kinds, industries, county_idx.tolist(), rep_names, strict=True)
        )
    ]
    return Entities(
        credit_code=_credit_codes(
            rng, [ENTITY_TYPES[k][1] for k in kinds], divisions, established, used_codes
        ),
        name=names,
        entity_type=kinds,
        legal_rep_name=rep_names,
        legal_rep_id=[people.resident_id[i] for i in rep.tolist()],
        industry=industries,
        capital=_capital(rng, kinds),
        established=established,
        division=divisions,
        address=_addresses(rng, county_idx, kinds),
        status=[STATUSES[i] for i in pick(rng, STATUS_P, n).tolist()],
    )
