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

from demo_province import reference as ref
from demo_province.identifiers import USCC_ALPHABET, USCC_ENTITY_TYPES, make_uscc
from demo_province.people import People, day, pick, random_day_between
from demo_province.timeline import ERA_YEARS, NEVER, epoch_of, era_end, exponential_day, mix, on_or_before

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

    def take(self, rows: np.ndarray) -> Entities:
        """The entities at ``rows`` (in that order)."""
        picked = rows.tolist()
        return Entities(
            **{
                name: value[rows] if isinstance(value, np.ndarray) else [value[i] for i in picked]
                for name, value in vars(self).items()
            }
        )

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


def _hashed_org_body(h: int, new_style: bool) -> str:
    """An organisation code body from a 64-bit hash: ``MA`` + 6 characters, or 8 digits (old style)."""
    if new_style:
        return "MA" + "".join(USCC_ALPHABET[(h >> (5 * i)) % len(USCC_ALPHABET)] for i in range(6))
    return f"{h % 10**8:08d}"


def _credit_codes(
    salt: int,
    index: np.ndarray,
    type_codes: list[str],
    divisions: list[str],
    established: np.ndarray,
    used: set[str],
) -> list[str]:
    """Codes fixed by (salt, entity): an entity keeps its code whichever date first lists it."""
    codes = []
    first_tries = (
        mix(salt, index, 0).tolist() if len(index) else []
    )  # one vectorised hash, not one per entity
    for i, first, type_code, division, new_style in zip(
        index.tolist(),
        first_tries,
        type_codes,
        divisions,
        (established >= _NEW_STYLE_FROM).tolist(),
        strict=True,
    ):
        attempt = 0
        code = make_uscc(type_code, division, _hashed_org_body(first, new_style))
        while code[:16] in used:  # the organisation code must be unique, whatever its check characters
            attempt += 1
            code = make_uscc(type_code, division, _hashed_org_body(int(mix(salt, i, attempt)[0]), new_style))
        used.add(code[:16])
        codes.append(code)
    return codes


def _capital(u: np.ndarray, kinds: list[str]) -> list[str]:
    out = []
    for kind, x in zip(kinds, u.tolist(), strict=True):
        choices = ENTITY_TYPES[kind][2]
        out.append(f"{choices[int(x * len(choices))]:.2f}")
    return out


def _addresses(u: np.ndarray, county_idx: np.ndarray, kinds: list[str]) -> list[str]:
    geo = ref.geography()
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


NEW_ENTITY_RATE = 0.06  # new entities a year, per entity registered at the epoch
CLOSURE_RATE = 0.05  # of the shops (个体工商户) and the era's new entities in business, a year


def generate_entities(
    rng: np.random.Generator,
    n: int,
    people: People,
    logical_date: date,
    used_codes: set[str],
    salt: int = 0,
) -> tuple[Entities, list[str]]:
    """The entities of ``logical_date``, and the employers (credit codes) other departments link to.

    ``n`` entities are registered at the era's epoch and more are established during it; their legal
    representatives are adults of ``people`` living in the province at the epoch. An entity in business
    may close (注销, or 吊销 by the regulator) on a drawn day — except the employers, those in business at
    the epoch that are not shops, which 人社厅's draws link to (and which do not depend on the date). Only the entities shown get names,
    codes and addresses built (the draws behind them are made for all).
    """
    geo = ref.geography()
    epoch = epoch_of(logical_date)
    start, end, today = day(epoch), era_end(epoch), day(logical_date)
    later = int(round(NEW_ENTITY_RATE * ERA_YEARS * n))
    total = n + later
    candidates = np.flatnonzero((people.status_epoch == "正常") & (people.age >= 22) & (people.age <= 75))
    if len(candidates) == 0:
        candidates = np.arange(len(people))
    rep = candidates[rng.integers(0, len(candidates), total)]
    kind_names = list(ENTITY_TYPES)
    kind_idx = pick(rng, np.array([v[0] for v in ENTITY_TYPES.values()]), total)
    kinds_all = [kind_names[i] for i in kind_idx.tolist()]
    industries_all = _industries(rng, kinds_all)
    own_county = rng.random(total) < 0.8
    county_all = np.where(own_county, people.county_idx[rep], pick(rng, geo.county_weights, total))
    years_back = np.minimum(rng.exponential(6.0, total), 30.0)
    established = start - (years_back * 365.25).astype(np.int64).astype("m8[D]")
    adult = people.birth[rep] + np.timedelta64(18 * 366, "D")
    established = np.where(
        established < adult, random_day_between(rng, adult, np.full(total, start)), established
    )
    established[n:] = random_day_between(
        rng, np.full(later, start + np.timedelta64(1, "D")), np.full(later, end)
    )
    u_name = rng.random((total, 5))
    status_idx = pick(rng, STATUS_P, total)
    status_idx[n:] = 0
    closes = exponential_day(
        rng.random(total), np.maximum(established, start), np.full(total, CLOSURE_RATE), end
    )
    revoked = rng.random(total) < 0.2
    u_capital = rng.random(total)
    u_address = rng.random((3, total))
    # Companies that employ insured staff (人社厅 names them) stay in business through the era: when one
    # closes, its employees' enrollments would have to move with it. Shops and newer entities do close.
    individual = np.array([k == "个体工商户" for k in kinds_all], dtype=bool)
    closes = np.where((status_idx == 0) & (individual | (np.arange(total) >= n)), closes, NEVER)
    closed = on_or_before(closes, today)
    status_now = np.where(closed, np.where(revoked, 2, 1), status_idx)

    shown = np.flatnonzero(established <= today)
    rows = shown.tolist()
    kinds = [kinds_all[i] for i in rows]
    industries = [industries_all[i] for i in rows]
    county_idx = county_all[shown]
    divisions = [str(c) for c in geo.county_codes[county_idx].tolist()]
    rep_names = [people.name[i] for i in rep[shown].tolist()]
    names = [
        _entity_name(k, ind, c, rn, u_name[i])
        for i, k, ind, c, rn in zip(rows, kinds, industries, county_idx.tolist(), rep_names, strict=True)
    ]
    entities = Entities(
        credit_code=_credit_codes(
            salt, shown, [ENTITY_TYPES[k][1] for k in kinds], divisions, established[shown], used_codes
        ),
        name=names,
        entity_type=kinds,
        legal_rep_name=rep_names,
        legal_rep_id=[people.resident_id[i] for i in rep[shown].tolist()],
        industry=industries,
        capital=_capital(u_capital[shown], kinds),
        established=established[shown],
        division=divisions,
        address=_addresses(u_address[:, shown], county_idx, kinds),
        status=[STATUSES[i] for i in status_idx[shown].tolist()],
    )
    base = np.flatnonzero(shown < n)  # every entity of the epoch is shown (the date is in its era)
    employers = entities.take(base).employers()
    entities.status = [STATUSES[i] for i in status_now[shown].tolist()]
    return entities, employers
