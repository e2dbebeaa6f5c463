"""Synthetic social-insurance enrollments (社会保险参保) held by 人社厅.

A subset of adults is insured, with one to three insurance types each: employees in the employee schemes
(pension, medical, unemployment, work injury) paid through an employer — an existing market entity — and
everyone else in the urban-rural residents' schemes. Some insured people are registered in another
province and so appear only here, as they do in reality.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from govlake.province import reference as ref
from govlake.province.people import People, day, office_time, pick, random_day_between

STATUSES = ("参保缴费", "暂停缴费", "终止")
STATUS_P = np.array([0.80, 0.12, 0.08])
TYPE_COUNT_P = np.array([0.85, 0.10, 0.05])  # 1, 2 or 3 insurance types: 1.2 on average
_EMPLOYEE_SCHEMES_FROM = np.datetime64("1998-01-01")
_RESIDENT_SCHEMES_FROM = np.datetime64("2010-01-01")


@dataclass
class Enrollments:
    """One chunk of enrollment rows as 人社厅 stores them, and which person (row in its People) each is."""

    id: list[str]
    person: np.ndarray  # index into the People the row was drawn from
    outsider: np.ndarray  # bool: the person is in the outsiders' People, not the registry's
    resident_id: list[str]
    name: list[str]
    birth: np.ndarray  # datetime64[D]
    insurance_type: list[str]
    employer: list[str | None]
    division: list[str]
    enrolled: np.ndarray  # datetime64[D]
    status: list[str]
    phone: list[str | None]
    updated_at: np.ndarray  # datetime64[s]

    def __len__(self) -> int:
        return len(self.id)


def _insurance_types(rng: np.random.Generator, employee: np.ndarray, count: np.ndarray) -> list[str]:
    third = np.where(rng.random(len(count)) < 0.5, 2, 3)  # 失业 or 工伤 as the third employee scheme
    pension_first = rng.random(len(count)) < 0.3
    out = []
    for emp, k, t, pf in zip(
        employee.tolist(), count.tolist(), third.tolist(), pension_first.tolist(), strict=True
    ):
        if emp:
            out.extend([ref.INSURANCE_EMPLOYEE[0], ref.INSURANCE_EMPLOYEE[1], ref.INSURANCE_EMPLOYEE[t]][:k])
        else:
            pair = ref.INSURANCE_RESIDENT[::-1] if pf else ref.INSURANCE_RESIDENT
            out.extend(pair[: min(k, 2)])
    return out


def phones(rng: np.random.Generator, n: int) -> list[str | None]:
    """Mainland mobile numbers (1[3-9]x + 8 digits); one in ten people gave none."""
    prefix = np.array(ref.MOBILE_PREFIXES)[rng.integers(0, len(ref.MOBILE_PREFIXES), n)]
    rest = rng.integers(0, 100_000_000, n)
    missing = rng.random(n) < 0.1
    return [
        None if m else f"{p}{r:08d}"
        for p, r, m in zip(prefix.tolist(), rest.tolist(), missing.tolist(), strict=True)
    ]


def _pick_insured(rng: np.random.Generator, people: People, share: float) -> np.ndarray:
    adults = np.flatnonzero(people.age >= 16)
    k = min(len(adults), int(round(share * len(people))))
    return np.sort(rng.choice(adults, k, replace=False)) if k else adults[:0]


def generate_enrollments(
    rng: np.random.Generator,
    residents: People,
    outsiders: People,
    employers: list[str],
    logical_date: date,
    id_start: int,
) -> Enrollments:
    """Enrollment rows for a chunk: ~60% of the chunk's people (adults only) plus the outsiders."""
    today = day(logical_date)
    insured = _pick_insured(rng, residents, 0.6 - 0.6 * len(outsiders) / max(len(residents), 1))
    person = np.concatenate([insured, np.arange(len(outsiders))])
    outsider = np.concatenate([np.zeros(len(insured), bool), np.ones(len(outsiders), bool)])
    age = np.concatenate([residents.age[insured], outsiders.age])
    birth = np.concatenate([residents.birth[insured], outsiders.birth])
    county = np.concatenate([residents.county_code[insured], outsiders.county_code])
    employee = (age >= 18) & (age <= 60) & (rng.random(len(person)) < np.where(outsider, 0.9, 0.4))
    count = 1 + pick(rng, TYPE_COUNT_P, len(person))
    count = np.where(employee, count, np.minimum(count, 2))
    types = _insurance_types(rng, employee, count)

    row_person, row_outsider = np.repeat(person, count), np.repeat(outsider, count)
    row_employee, row_birth = np.repeat(employee, count), np.repeat(birth, count)
    n = len(row_person)
    source = [(outsiders if o else residents) for o in row_outsider.tolist()]
    p_list = row_person.tolist()
    deceased = np.array([s.status[p] == "死亡" for s, p in zip(source, p_list, strict=True)], dtype=bool)

    earliest = np.where(row_employee, _EMPLOYEE_SCHEMES_FROM, _RESIDENT_SCHEMES_FROM)
    earliest = np.maximum(earliest, row_birth + np.timedelta64(16 * 366, "D"))
    enrolled = random_day_between(rng, earliest, np.full(n, today))
    status_idx = np.where(deceased, 2, pick(rng, STATUS_P, n))
    updated_days = random_day_between(rng, enrolled, np.full(n, today))
    updated_days = np.where(rng.random(n) < 0.01, today, updated_days)
    employer_idx = rng.integers(0, max(len(employers), 1), n)
    person_phone = phones(rng, len(person))
    phone_of_row = np.repeat(np.arange(len(person)), count)
    return Enrollments(
        id=[f"SI{i:010d}" for i in range(id_start, id_start + n)],
        person=row_person,
        outsider=row_outsider,
        resident_id=[s.resident_id[p] for s, p in zip(source, p_list, strict=True)],
        name=[s.name[p] for s, p in zip(source, p_list, strict=True)],
        birth=row_birth,
        insurance_type=types,
        employer=[
            employers[e] if emp else None
            for e, emp in zip(employer_idx.tolist(), row_employee.tolist(), strict=True)
        ],
        division=[str(d) for d in np.repeat(county, count).tolist()],
        enrolled=enrolled,
        status=[STATUSES[i] for i in status_idx.tolist()],
        phone=[person_phone[i] for i in phone_of_row.tolist()],
        updated_at=office_time(rng, updated_days),
    )
