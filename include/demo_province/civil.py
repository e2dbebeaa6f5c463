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

from demo_province import reference as ref
from demo_province.births import short_county_name
from demo_province.people import People, day, random_day_between
from demo_province.tables import (
    DIBAO,
    DIBAO_COLUMNS,
    MARRIAGE_COLUMNS,
    Table,
    date_strings,
    empty_table,
    timestamp_strings,
)
from demo_province.timeline import (
    ERA_YEARS,
    NEVER,
    epoch_of,
    era_end,
    exponential_day,
    last_edit,
    latest,
    mix,
    moment,
    on_or_before,
)

MARRIAGES_PER_PERSON = 0.0065  # a year: Guizhou registers about 250 000 marriages for 38.6 M people
DIVORCES_PER_PERSON = 0.002
DIBAO_SHARE = 0.04  # of registered persons
DECEASED_STILL_LISTED = 0.3
_YEARS = ERA_YEARS + 1  # marriages are drawn for the era and the year before its epoch
_KEY_SALT = 0xD1B

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
    hard_deleted: np.ndarray | None = None  # datetime64[D]: the row is deleted outright (NaT: never)
    previous_keys: list[str] | None = None  # row keys of 民政厅's table the day before the logical date
    previous_versions: np.ndarray | None = None  # datetime64[D]: those rows' updated_at days then
    versions: np.ndarray | None = None  # datetime64[D]: the rows' updated_at days on the logical date

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
        & (people.status_epoch == "正常")
    )


def _new_couples(rng: np.random.Generator, people: People, relation: np.ndarray) -> tuple[np.ndarray, ...]:
    men = _candidates(people, relation, True, 23)
    women = _candidates(people, relation, False, 21)
    k = min(len(men), len(women), int(MARRIAGES_PER_PERSON * _YEARS * len(people) + 0.5))
    men, women = rng.permutation(men)[:k], rng.permutation(women)[:k]
    household = np.array(people.household_id)
    same = household[men] == household[women]
    return men[~same], women[~same]


def _divorcing(rng: np.random.Generator, people: People, relation: np.ndarray) -> tuple[np.ndarray, ...]:
    heads = np.flatnonzero((relation == "户主") & (people.status_epoch == "正常") & (people.age >= 25))
    spouse_of = {people.household_id[i]: i for i in np.flatnonzero(relation == "配偶").tolist()}
    pairs = [
        (h, spouse_of[people.household_id[h]])
        for h in heads.tolist()
        if people.household_id[h] in spouse_of
        and people.status_epoch[spouse_of[people.household_id[h]]] == "正常"
        and people.age[spouse_of[people.household_id[h]]] >= 23  # of legal age a year before the epoch
    ]
    k = min(len(pairs), int(DIVORCES_PER_PERSON * _YEARS * len(people) + 0.5))
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


def _in_province(people: People, persons: np.ndarray, days: np.ndarray) -> np.ndarray:
    """The persons were registered, alive and not moved out on the days."""
    death, moved = people.death_day[persons], people.moved_day[persons]
    return (
        (people.registered[persons] <= days)
        & (np.isnat(death) | (death > days))
        & (np.isnat(moved) | (moved > days))
    )


def generate_marriages(
    rng: np.random.Generator, people: People, logical_date: date, serial_start: int
) -> tuple[Marriages, int]:
    """The chunk's marriage and divorce registrations of the twelve months up to ``logical_date``.

    All registrations of the era (and the year before its epoch) are drawn and numbered in date order;
    a date lists those of its last twelve months whose parties were living in the province then.
    Returns them and the next free registration serial.
    """
    epoch = epoch_of(logical_date)
    start, end, today = day(epoch), era_end(epoch), day(logical_date)
    relation = np.array(people.relation)
    men_m, women_m = _new_couples(rng, people, relation)
    men_d, women_d = _divorcing(rng, people, relation)
    men, women = np.concatenate([men_m, men_d]), np.concatenate([women_m, women_d])
    kinds = np.array(["结婚"] * len(men_m) + ["离婚"] * len(men_d), dtype=object)
    n = len(men)
    days = random_day_between(rng, np.full(n, start - np.timedelta64(364, "D")), np.full(n, end))
    at_women = rng.random(n) < 0.5
    county = np.where(at_women, people.county_idx[women], people.county_idx[men])
    order = np.argsort(days, kind="stable")  # the registry numbers ascend with the date
    men, women, county, kinds, days = men[order], women[order], county[order], kinds[order], days[order]
    remarks = _remarks(rng, people, men)
    shown = np.flatnonzero(
        (days > today - np.timedelta64(365, "D"))
        & (days <= today)
        & _in_province(people, men, days)
        & _in_province(people, women, days)
    )
    codes = ref.geography().county_codes
    offices = office_names()
    registered = date_strings(days[shown])
    men, women, county = men[shown], women[shown], county[shown]
    kinds = kinds[shown].tolist()
    table: Table = dict.fromkeys(MARRIAGE_COLUMNS)
    table["登记证号"] = [
        registration_number(k, str(codes[c]), r, serial_start + i)
        for i, k, c, r in zip(shown.tolist(), kinds, county.tolist(), registered, strict=True)
    ]
    table["登记类型"] = kinds
    table["登记日期"] = registered
    table["登记机关行政区划代码"] = [str(codes[c]) for c in county.tolist()]
    table["登记机关"] = [offices[c] for c in county.tolist()]
    table["男方姓名"] = [people.name[i] for i in men.tolist()]
    table["男方身份证号"] = [people.resident_id[i] for i in men.tolist()]
    table["女方姓名"] = [people.name[i] for i in women.tolist()]
    table["女方身份证号"] = [people.resident_id[i] for i in women.tolist()]
    table["备注"] = [remarks[i] for i in shown.tolist()]
    return Marriages(table=table, male=men, female=women), serial_start + n


# -- 低保 ------------------------------------------------------------------------------------------------

_APPLICANT_RELATION = {
    "户主": "本人",
    "配偶": "配偶",
    "子": "子女",
    "女": "子女",
    "父亲": "父母",
    "母亲": "父母",
}


LATER_FAMILIES = 0.2  # of the families drawn: approved during the era rather than before its epoch
EXIT_RATE = 0.025  # a year: recipients leaving the programme alive
HARD_DELETED = 0.25  # of the rows that leave: the county office deletes them outright (no is_deleted)


def _dibao_households(rng: np.random.Generator, people: People, start: np.datetime64) -> np.ndarray:
    """Persons of the households granted 低保 (whole families at the epoch), chosen by their county's poverty."""
    base = int((people.birth < start).sum())  # the era's newborns follow the epoch's persons
    weights = poverty_weights()[people.county_idx[:base]]
    household = np.array(people.household_id[:base])
    starts = np.flatnonzero(np.r_[True, household[1:] != household[:-1]])
    p = DIBAO_SHARE * weights[starts] / weights.mean()
    chosen = rng.random(len(starts)) < p
    sizes = np.diff(np.r_[starts, len(household)])
    return np.flatnonzero(np.repeat(chosen, sizes))


def _earliest(*days: np.ndarray) -> np.ndarray:
    stacked = np.vstack([d.astype("M8[D]").astype(np.int64) for d in days])
    stacked = np.where(np.vstack([np.isnat(d) for d in days]), np.iinfo(np.int64).max, stacked)
    low = stacked.min(axis=0)
    return np.where(low == np.iinfo(np.int64).max, NEVER, low.astype("M8[D]"))


def generate_dibao(
    rng: np.random.Generator, people: People, logical_date: date, family_start: int
) -> tuple[Dibao, Dibao, int]:
    """The chunk's 低保 recipients of the era and those listed on ``logical_date``.

    Returns every recipient row drawn (财政厅 pays them, also after a row is deleted), the rows
    民政厅's table holds on the date, and the next free family number. A row shows from the family's
    approval; a recipient leaves (alive, on moving out, or after a death the office heard of) on a drawn
    day — soft-deleted (停保, ``is_deleted = 1``), or for one in four deleted outright — and the annual
    review (年审) touches ``updated_at`` once a year.
    """
    epoch = epoch_of(logical_date)
    start, end, today = day(epoch), era_end(epoch), day(logical_date)
    person = _dibao_households(rng, people, start)
    n = len(person)
    birth, death = people.birth[person], people.death_day[person]
    household = [people.household_id[i] for i in person.tolist()]
    first = np.r_[True, np.array(household[1:]) != np.array(household[:-1])] if n else np.zeros(0, bool)
    family_no = np.cumsum(first) - 1 + family_start
    fam_first = np.flatnonzero(first)
    families = len(fam_first)
    lo = (
        np.maximum(np.datetime64("2015-01-01"), people.birth[person[fam_first]])
        if n
        else np.zeros(0, "M8[D]")
    )
    before = random_day_between(rng, lo, np.full(families, start - np.timedelta64(30, "D")))
    during = random_day_between(rng, np.full(families, start), np.full(families, end))
    approved_family = np.where(rng.random(families) < LATER_FAMILIES, during, before)
    approved = approved_family[np.cumsum(first) - 1] if n else approved_family
    approved = np.maximum(approved, birth)
    next_family = family_start + families

    # Recipients who died (or had moved away) before the family was approved were never listed.
    moved = people.moved_day[person]
    keep = (np.isnat(death) | (death >= approved)) & (np.isnat(moved) | (moved >= approved))
    person, approved, family_no, death, moved = (a[keep] for a in (person, approved, family_no, death, moved))
    n = len(person)
    left_alive = exponential_day(rng.random(n), approved, np.full(n, EXIT_RATE), end)
    handled_dead = rng.random(n) >= DECEASED_STILL_LISTED
    after_death = np.where(
        handled_dead & ~np.isnat(death), death + rng.integers(5, 61, n).astype("m8[D]"), NEVER
    )
    after_move = np.where(~np.isnat(moved), moved + rng.integers(5, 61, n).astype("m8[D]"), NEVER)
    alive_exit = np.where(
        (np.isnat(death) | (left_alive < death)) & (np.isnat(moved) | (left_alive < moved)), left_alive, NEVER
    )
    stopped = _earliest(alive_exit, after_death, after_move)
    hard = rng.random(n) < HARD_DELETED
    district = np.array([_is_district(c) for c in people.county_code[person].tolist()], dtype=bool)
    amount = np.round(np.where(district, rng.uniform(300, 700, n), rng.uniform(150, 480, n)))
    full = Dibao(empty_table(DIBAO), person, np.isnat(stopped), stopped, amount, approved.astype("M8[M]"))
    full.hard_deleted = np.where(hard, stopped, NEVER)

    # The rows on the logical date.
    key = mix(_KEY_SALT, family_no, person)
    stopped_now = on_or_before(stopped, today)
    shown = np.flatnonzero((approved <= today) & ~(hard & stopped_now))
    yesterday = today - np.timedelta64(1, "D")
    before = np.flatnonzero((approved <= yesterday) & ~(hard & on_or_before(stopped, yesterday)))

    def updated_on(on: np.datetime64) -> np.ndarray:
        review_until = np.where(np.isnat(stopped), on, np.minimum(stopped - np.timedelta64(1, "D"), on))
        reviewed = last_edit(review_until, np.full(n, 365), key)
        stopped_then = np.where(on_or_before(stopped, on), stopped, NEVER)
        return latest(approved, np.where(reviewed >= approved, reviewed, NEVER), stopped_then)

    updated = updated_on(today)
    active = ~stopped_now
    rows = shown.tolist()
    codes = people.county_code[person].tolist()
    table: Table = dict.fromkeys(DIBAO_COLUMNS)
    table["recipient_id"] = [people.resident_id[person[i]] for i in rows]
    table["recipient_name"] = [people.name[person[i]] for i in rows]
    table["family_id"] = [f"DB{codes[i]}{family_no[i]:07d}" for i in rows]
    table["relation_to_applicant"] = [
        _APPLICANT_RELATION.get(people.relation[person[i]], "其他") for i in rows
    ]
    table["division_code"] = [str(codes[i]) for i in rows]
    table["monthly_amount"] = [f"{amount[i]:.2f}" for i in rows]
    table["start_month"] = [d[:7] for d in date_strings(approved[shown])]
    table["approval_date"] = date_strings(approved[shown])
    table["status"] = ["在保" if active[i] else "停保" for i in rows]
    table["is_deleted"] = ["0" if active[i] else "1" for i in rows]
    table["updated_at"] = timestamp_strings(moment(updated[shown], key[shown]))
    view = Dibao(
        table, person[shown], active[shown], np.where(active, NEVER, stopped)[shown], amount[shown],
        approved[shown].astype("M8[M]"),
    )  # fmt: skip
    view.previous_versions = updated_on(yesterday)[before]
    view.versions = updated[shown]
    view.previous_keys = [
        f"{people.resident_id[person[i]]}|DB{codes[i]}{family_no[i]:07d}" for i in before.tolist()
    ]
    return full, view, next_family
