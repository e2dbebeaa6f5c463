"""Birth certificates (出生医学证明) issued by 卫健委's hospitals, linked to 公安厅's household registry.

Every child born in the year up to the logical date who is the head's son or daughter in the registry (the
chunk's timeline: ``People.issued``) gets a certificate from a
hospital in (or near) the family's county; the mother is the female of the head and spouse, the father the
male (left empty for about one certificate in twenty, as for unmarried mothers). The family registers the
child with 公安厅 after the certificate is issued (落户), so the newborn's registry row is updated later
than the issue date (``People.registered``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np

from demo_province import reference as ref
from demo_province.people import People, day
from demo_province.tables import BIRTH_COLUMNS, Table, date_strings
from demo_province.timeline import unit

# Hospitals that deliver most babies of a prefecture's city districts, beside the county hospitals.
_PREFECTURE_HOSPITALS: dict[str, tuple[str, ...]] = {
    "520100": ("贵州省人民医院", "贵州医科大学附属医院", "贵阳市妇幼保健院", "贵阳市第一人民医院"),
    "520200": ("六盘水市人民医院", "六盘水市妇幼保健院"),
    "520300": ("遵义医科大学附属医院", "遵义市第一人民医院", "遵义市妇幼保健院"),
    "520400": ("安顺市人民医院", "安顺市妇幼保健院"),
    "520500": ("毕节市第一人民医院", "毕节市妇幼保健院"),
    "520600": ("铜仁市人民医院", "铜仁市妇幼保健院"),
    "522300": ("黔西南州人民医院", "黔西南州妇幼保健院"),
    "522600": ("黔东南州人民医院", "黔东南州妇幼保健院"),
    "522700": ("黔南州人民医院", "黔南州妇幼保健院"),
}
_COUNTY_HOSPITAL_KINDS = ("人民医院", "妇幼保健院", "中医医院")


@dataclass
class Births:
    """One chunk's certificates, and which registry persons (newborn, mother, father) each names."""

    table: Table
    newborn: np.ndarray  # index into the chunk's People
    mother: np.ndarray
    father: np.ndarray  # -1 where the certificate names no father

    def __len__(self) -> int:
        return len(self.newborn)


def short_county_name(name: str) -> str:
    """Hospitals use the short county name: 威宁彝族回族苗族自治县 -> 威宁县."""
    match = re.match(r"^(.{2})\S*自治县$", name)
    return f"{match.group(1)}县" if match else name


@lru_cache(maxsize=1)
def county_hospitals() -> tuple[tuple[str, ...], ...]:
    """Per county (geography order): its own hospitals; city districts also use the prefecture's."""
    geo = ref.geography()
    out = []
    for i, name in enumerate(geo.county_names):
        own = tuple(short_county_name(name) + kind for kind in _COUNTY_HOSPITAL_KINDS)
        prefecture = ref.PREFECTURES[geo.prefecture_of_county[i]]
        district = 1 <= int(str(geo.county_codes[i])[4:]) <= 19
        out.append(_PREFECTURE_HOSPITALS[prefecture] + own[:2] if district else own)
    return tuple(out)


def certificate_number(serial: int, issued: object) -> str:
    """Letter of the print batch (by issue year) + 52 (Guizhou) + a 7-digit sequence."""
    year = int(str(issued)[:4])
    return f"{chr(min(ord('O') + year - 2015, ord('Z')))}52{serial:07d}"


def _parents(people: People) -> tuple[dict[str, int], dict[str, int]]:
    """Household id -> index of its head, and of the head's spouse."""
    heads, spouses = {}, {}
    for i, (hh, rel) in enumerate(zip(people.household_id, people.relation, strict=True)):
        if rel == "户主":
            heads[hh] = i
        elif rel == "配偶":
            spouses[hh] = i
    return heads, spouses


def _mother_father(people: People, newborns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    heads, spouses = _parents(people)
    mothers, fathers = [], []
    for child in newborns.tolist():
        hh = people.household_id[child]
        pair = [p for p in (heads.get(hh, -1), spouses.get(hh, -1)) if p >= 0]
        mother = next((p for p in pair if not people.male[p]), -1)
        father = next((p for p in pair if people.male[p]), -1)
        mothers.append(mother)
        fathers.append(father)
    return np.array(mothers, dtype=np.int64), np.array(fathers, dtype=np.int64)


def _eligible(people: People, newborns: np.ndarray, mothers: np.ndarray) -> np.ndarray:
    """A mother exists, was 18-50 at the birth and was alive at it."""
    ok = mothers >= 0
    m = np.where(ok, mothers, 0)
    age_at_birth = people.age[m] - people.age[newborns]
    alive = np.isnat(people.death_day[m]) | (people.death_day[m] >= people.birth[newborns])
    return ok & (age_at_birth >= 18) & (age_at_birth <= 50) & alive


def generate_births(
    rng: np.random.Generator, people: People, logical_date: date, serial_start: int
) -> Births:
    """Certificates issued for the chunk's children born in the year up to ``logical_date``.

    Issue days come from the person's timeline (``People.issued``), and the certificate number from the
    child's place in the chunk (``serial_start`` numbers the chunk's first person), so a certificate is
    the same on every date it is listed. ``rng`` is unused: nothing here may depend on the date's draws.
    """
    today = day(logical_date)
    relation = np.array(people.relation)
    recent = (people.birth > today - np.timedelta64(365, "D")) & (people.birth <= today)
    newborns = np.flatnonzero(recent & (people.issued <= today) & np.isin(relation, ("子", "女")))
    mothers, fathers = _mother_father(people, newborns)
    keep = _eligible(people, newborns, mothers)
    newborns, mothers, fathers = newborns[keep], mothers[keep], fathers[keep]
    fathers = np.where(unit(serial_start, newborns, 0xFA) < 0.05, -1, fathers)
    birth = people.birth[newborns]
    issued = people.issued[newborns]

    geo = ref.geography()
    hospitals = county_hospitals()
    county = people.county_idx[newborns]
    u = unit(serial_start, newborns, 0x405)
    institution = [
        hospitals[c][int(x * len(hospitals[c]))] for c, x in zip(county.tolist(), u.tolist(), strict=True)
    ]
    table: Table = dict.fromkeys(BIRTH_COLUMNS)
    table["出生医学证明编号"] = [
        certificate_number(serial_start + i, d)
        for i, d in zip(newborns.tolist(), issued.tolist(), strict=True)
    ]
    table["新生儿姓名"] = [people.name[i] for i in newborns.tolist()]
    table["性别"] = ["男" if m else "女" for m in people.male[newborns].tolist()]
    table["出生日期"] = date_strings(birth)
    table["出生地点"] = [geo.county_prefix[c] for c in county.tolist()]
    table["签发机构"] = institution
    table["行政区划代码"] = [str(c) for c in people.county_code[newborns].tolist()]
    table["母亲姓名"] = [people.name[i] for i in mothers.tolist()]
    table["母亲身份证号"] = [people.resident_id[i] for i in mothers.tolist()]
    table["父亲姓名"] = [people.name[i] if i >= 0 else None for i in fathers.tolist()]
    table["父亲身份证号"] = [people.resident_id[i] if i >= 0 else None for i in fathers.tolist()]
    table["签发日期"] = date_strings(issued)
    return Births(table=table, newborn=newborns, mother=mothers, father=fathers)
