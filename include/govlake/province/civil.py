"""民政厅's two sources: marriage registrations (婚姻登记) and subsistence-allowance recipients (低保对象).

* Marriages of the last twelve months are registered between unmarried young adults of the registry (sons
  and daughters of different households, of legal age: men 22, women 20); divorces between a household's
  head and spouse. The office is the county civil-affairs bureau of one party's household registration.
  Clerks' remarks (备注) contain commas, quotes and line breaks, as free text in a real export does.
* 低保 is granted to whole families, mostly in the poorer counties. Recipients leave the programme (停保,
  and the row is soft-deleted with ``is_deleted = 1``) — but about three in ten who died are still listed
  as receiving it: 公安厅 records them as 死亡 while 民政厅 does not know, the finding the subsidy audit
  exists for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from govlake.province import reference as ref
from govlake.province.births import short_county_name
from govlake.province.people import People, day, office_time, random_day_between
from govlake.province.tables import DIBAO_COLUMNS, MARRIAGE_COLUMNS, Table, date_strings, timestamp_strings

MARRIAGES_PER_PERSON = 0.0065  # a year: Guizhou registers about 250 000 marriages for 38.6 M people
DIVORCES_PER_PERSON = 0.002
DIBAO_SHARE = 0.04  # of registered persons
DECEASED_STILL_LISTED = 0.3

# Counties that were among Guizhou's deepest-poverty counties (short names); 低保 is far more common there.
POOR_COUNTIES = (
    "水城", "纳雍", "威宁", "赫章", "正安", "沿河", "望谟", "晴隆", "册亨", "紫云", "三都", "从江",
    "榕江", "剑河", "关岭", "印江",
)  # fmt: skip

_REMARKS = (
    "双方自愿，当场颁证",
    '男方曾用名"{a}"，已核验户口簿',
    "补领结婚证, 原证遗失",
    "再婚: 是, 原配偶已故",
    '当事人要求备注："婚礼另行举办"',
    "户口簿地址与身份证不一致\n已由派出所出具证明",
    "离婚协议已备案\n子女抚养：由女方抚养, 男方每月支付抚养费",
)


@dataclass
class Marriages:
    table: Table
    male: np.ndarray  # index into the chunk's People
    female: np.ndarray

    def __len__(self) -> int:
        return len(self.male)


@dataclass
class Dibao:
    table: Table
    person: np.ndarray  # index into the chunk's People
    active: np.ndarray  # bool: 在保 and not deleted
    stopped: np.ndarray  # datetime64[D]: when the recipient left (NaT while active)
    amount: np.ndarray  # float 元 per month
    start: np.ndarray  # datetime64[M]

    def __len__(self) -> int:
        return len(self.person)


def _is_district(code: int) -> bool:
    return 1 <= code % 100 <= 19


def poverty_weights() -> np.ndarray:
    """Per county (geography order): how much more often its people receive 低保."""
    geo = ref.geography()
    weights = []
    for name, code in zip(geo.county_names, geo.county_codes.tolist(), strict=True):
        weights.append(3.0 if name[:2] in POOR_COUNTIES else 0.3 if _is_district(code) else 1.0)
    return np.array(weights)


def office_names() -> list[str]:
    """Per county: the marriage registry office of its civil-affairs bureau."""
    geo = ref.geography()
    return [
        f"{prefix.removeprefix(ref.PROVINCE_NAME).removesuffix(name)}{short_county_name(name)}民政局婚姻登记处"
        for prefix, name in zip(geo.county_prefix, geo.county_names, strict=True)
    ]


def registration_number(kind: str, office: str, registered: str, serial: int) -> str:
    """结婚证字号 / 离婚证字号: J (marriage) or L (divorce), office division, year, sequence."""
    return f"{'J' if kind == '结婚' else 'L'}{office}-{registered[:4]}-{serial:06d}"


def _candidates(people: People, relation: np.ndarray, male: bool, min_age: float) -> np.ndarray:
    return np.flatnonzero(
        np.isin(relation, ("子", "女"))
        & (people.male == male)
        & (people.age >= min_age)
        & (people.age < min_age + 15)
        & (people.status == "正常")
    )


def _new_couples(rng: np.random.Generator, people: People, relation: np.ndarray) -> tuple[np.ndarray, ...]:
    men = _candidates(people, relation, True, 23)
    women = _candidates(people, relation, False, 21)
    k = min(len(men), len(women), int(MARRIAGES_PER_PERSON * len(people) + 0.5))
    men, women = rng.permutation(men)[:k], rng.permutation(women)[:k]
    household = np.array(people.household_id)
    same = household[men] == household[women]
    return men[~same], women[~same]


def _divorcing(rng: np.random.Generator, people: People, relation: np.ndarray) -> tuple[np.ndarray, ...]:
    heads = np.flatnonzero((relation == "户主") & (people.status == "正常") & (people.age >= 25))
    spouse_of = {people.household_id[i]: i for i in np.flatnonzero(relation == "配偶").tolist()}
    pairs = [
        (h, spouse_of[people.household_id[h]])
        for h in heads.tolist()
        if people.household_id[h] in spouse_of and people.status[spouse_of[people.household_id[h]]] == "正常"
    ]
    k = min(len(pairs), int(DIVORCES_PER_PERSON * len(people) + 0.5))
    chosen = [pairs[i] for i in rng.permutation(len(pairs))[:k].tolist()]
    a = np.array([p[0] for p in chosen], dtype=np.int64)
    b = np.array([p[1] for p in chosen], dtype=np.int64)
    a_male = people.male[a]
    return np.where(a_male, a, b), np.where(a_male, b, a)


def _remarks(rng: np.random.Generator, people: People, men: np.ndarray) -> list[str | None]:
    has = rng.random(len(men)) < 0.12
    which = rng.integers(0, len(_REMARKS), len(men))
    return [
        _REMARKS[w].format(a=people.name[m][0] + "小" + people.name[m][-1]) if h else None
        for h, w, m in zip(has.tolist(), which.tolist(), men.tolist(), strict=True)
    ]


def generate_marriages(
    rng: np.random.Generator, people: People, logical_date: date, serial_start: int
) -> Marriages:
    """The chunk's marriage and divorce registrations of the twelve months up to ``logical_date``."""
    today = day(logical_date)
    relation = np.array(people.relation)
    men_m, women_m = _new_couples(rng, people, relation)
    men_d, women_d = _divorcing(rng, people, relation)
    men, women = np.concatenate([men_m, men_d]), np.concatenate([women_m, women_d])
    kinds = ["结婚"] * len(men_m) + ["离婚"] * len(men_d)
    n = len(men)
    registered = date_strings(
        random_day_between(rng, np.full(n, today - np.timedelta64(364, "D")), np.full(n, today))
    )
    at_women = rng.random(n) < 0.5
    county = np.where(at_women, people.county_idx[women], people.county_idx[men])
    codes = ref.geography().county_codes
    offices = office_names()
    order = np.argsort(np.array(registered), kind="stable")  # the registry numbers ascend with the date
    men, women, county = men[order], women[order], county[order]
    kinds = [kinds[i] for i in order.tolist()]
    registered = [registered[i] for i in order.tolist()]
    table: Table = dict.fromkeys(MARRIAGE_COLUMNS)
    table["登记证号"] = [
        registration_number(k, str(codes[c]), r, serial_start + i)
        for i, (k, c, r) in enumerate(zip(kinds, county.tolist(), registered, strict=True))
    ]
    table["登记类型"] = kinds
    table["登记日期"] = registered
    table["登记机关行政区划代码"] = [str(codes[c]) for c in county.tolist()]
    table["登记机关"] = [offices[c] for c in county.tolist()]
    table["男方姓名"] = [people.name[i] for i in men.tolist()]
    table["男方身份证号"] = [people.resident_id[i] for i in men.tolist()]
    table["女方姓名"] = [people.name[i] for i in women.tolist()]
    table["女方身份证号"] = [people.resident_id[i] for i in women.tolist()]
    table["备注"] = _remarks(rng, people, men)
    return Marriages(table=table, male=men, female=women)


# -- 低保 ------------------------------------------------------------------------------------------------

_APPLICANT_RELATION = {
    "户主": "本人",
    "配偶": "配偶",
    "子": "子女",
    "女": "子女",
    "父亲": "父母",
    "母亲": "父母",
}


def _dibao_households(rng: np.random.Generator, people: People) -> np.ndarray:
    """Persons of the households granted 低保 (whole families), chosen by their county's poverty."""
    weights = poverty_weights()[people.county_idx]
    household = np.array(people.household_id)
    starts = np.flatnonzero(np.r_[True, household[1:] != household[:-1]])
    p = DIBAO_SHARE * weights[starts] / weights.mean()
    chosen = rng.random(len(starts)) < p
    sizes = np.diff(np.r_[starts, len(household)])
    return np.flatnonzero(np.repeat(chosen, sizes))


def generate_dibao(
    rng: np.random.Generator, people: People, logical_date: date, family_start: int
) -> tuple[Dibao, int]:
    """The chunk's 低保 recipients; returns them and the next free family number."""
    today = day(logical_date)
    person = _dibao_households(rng, people)
    n = len(person)
    birth, death = people.birth[person], people.death[person]
    household = [people.household_id[i] for i in person.tolist()]
    first = np.r_[True, np.array(household[1:]) != np.array(household[:-1])] if n else np.zeros(0, bool)
    family_no = np.cumsum(first) - 1 + family_start
    fam_first = np.flatnonzero(first)
    # One approval per family, between 2015 and a month ago.
    lo = (
        np.maximum(np.datetime64("2015-01-01"), people.birth[person[fam_first]])
        if n
        else np.zeros(0, "M8[D]")
    )
    approved_family = random_day_between(rng, lo, np.full(len(fam_first), today - np.timedelta64(30, "D")))
    approved = approved_family[np.cumsum(first) - 1] if n else approved_family
    approved = np.maximum(approved, birth)
    next_family = family_start + len(fam_first)

    dead = ~np.isnat(death)
    # Recipients who died before the family was approved were never listed.
    keep = ~dead | (death >= approved)
    person, approved, family_no, birth, death, dead = (
        person[keep],
        approved[keep],
        family_no[keep],
        birth[keep],
        death[keep],
        dead[keep],
    )
    n = len(person)
    left_alive = ~dead & ((rng.random(n) < 0.1) | (people.status[person] == "迁出"))
    handled_dead = dead & (rng.random(n) >= DECEASED_STILL_LISTED)
    stopped = np.full(n, np.datetime64("NaT", "D"))
    stopped = np.where(left_alive, random_day_between(rng, approved, np.full(n, today)), stopped)
    after_death = np.minimum(death + rng.integers(5, 61, n).astype("m8[D]"), today)
    stopped = np.where(handled_dead, after_death, stopped)
    active = np.isnat(stopped)
    review = random_day_between(rng, approved, np.full(n, today))
    review = np.where(rng.random(n) < 0.01, today, review)
    updated = np.where(active, review, stopped)

    district = np.array([_is_district(c) for c in people.county_code[person].tolist()], dtype=bool)
    amount = np.round(np.where(district, rng.uniform(300, 700, n), rng.uniform(150, 480, n)))
    codes = people.county_code[person].tolist()
    table: Table = dict.fromkeys(DIBAO_COLUMNS)
    table["recipient_id"] = [people.resident_id[i] for i in person.tolist()]
    table["recipient_name"] = [people.name[i] for i in person.tolist()]
    table["family_id"] = [f"DB{c}{f:07d}" for c, f in zip(codes, family_no.tolist(), strict=True)]
    table["relation_to_applicant"] = [
        _APPLICANT_RELATION.get(people.relation[i], "其他") for i in person.tolist()
    ]
    table["division_code"] = [str(c) for c in codes]
    table["monthly_amount"] = [f"{a:.2f}" for a in amount.tolist()]
    table["start_month"] = [d[:7] for d in date_strings(approved)]
    table["approval_date"] = date_strings(approved)
    table["status"] = ["在保" if a else "停保" for a in active.tolist()]
    table["is_deleted"] = ["0" if a else "1" for a in active.tolist()]
    table["updated_at"] = timestamp_strings(office_time(rng, updated))
    return Dibao(table, person, active, stopped, amount, approved.astype("M8[M]")), next_family
