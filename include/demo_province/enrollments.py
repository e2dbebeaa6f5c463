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

from demo_province import reference as ref
from demo_province.people import People, day, pick, random_day_between
from demo_province.timeline import (
    NEVER,
    cycle_period,
    epoch_of,
    era_end,
    exponential_day,
    last_edit,
    latest,
    mix,
    moment,
    on_or_before,
)

STATUSES = ("参保缴费", "暂停缴费", "终止")
STATUS_P = np.array([0.80, 0.12, 0.08])
TYPE_COUNT_P = np.array([0.85, 0.10, 0.05])  # 1, 2 or 3 insurance types: 1.2 on average
_EMPLOYEE_SCHEMES_FROM = np.datetime64("1998-01-01")
_RESIDENT_SCHEMES_FROM = np.datetime64("2010-01-01")
_KEY_SALT = 0x5EB  # enrollment ids are unique across chunks, so the key needs no chunk


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
    withdrawn: np.ndarray | None = None  # datetime64[D]: the day the row is deleted (NaT: not in the era)
    previous_ids: list[str] | None = None  # the ids 人社厅's table held the day before the logical date
    previous_versions: np.ndarray | None = None  # datetime64[D]: those rows' aae036 days then
    versions: np.ndarray | None = None  # datetime64[D]: the rows' aae036 days on the logical date

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


LATER_SHARE = 0.1  # of the rows drawn: enrolled during the era rather than before its epoch
WITHDRAWN_RATE = 0.01  # a year: enrollments withdrawn (撤销) — 人社厅's system deletes the row outright
EDIT_DAYS = (150, 900)


def generate_enrollments(
    rng: np.random.Generator,
    residents: People,
    outsiders: People,
    employers: list[str],
    logical_date: date,
    id_start: int,
) -> tuple[Enrollments, int]:
    """Enrollment rows of ``logical_date`` for a chunk: ~60% of its adults (at the epoch) plus the outsiders.

    All rows of the era are drawn (most enrolled before the epoch, some during it); a row shows from its
    enrollment day until it is withdrawn (deleted outright), is 终止 from a little after the insured
    person's death, and its ``aae036`` is its newest event. Returns the rows and the next free id.
    """
    epoch = epoch_of(logical_date)
    start, end, today = day(epoch), era_end(epoch), day(logical_date)
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
    death = np.array([s.death_day[p] for s, p in zip(source, p_list, strict=True)], dtype="M8[D]")
    dead_before = on_or_before(death, start)

    earliest = np.where(row_employee, _EMPLOYEE_SCHEMES_FROM, _RESIDENT_SCHEMES_FROM)
    earliest = np.maximum(earliest, row_birth + np.timedelta64(16 * 366, "D"))
    enrolled = random_day_between(rng, earliest, np.full(n, start))
    later = ~dead_before & (rng.random(n) < LATER_SHARE)
    enrolled = np.where(later, random_day_between(rng, np.full(n, start), np.full(n, end)), enrolled)
    status_idx = np.where(dead_before, 2, pick(rng, STATUS_P, n))
    status_idx = np.where(later, 0, status_idx)
    ended = np.where(
        ~dead_before & ~np.isnat(death), np.maximum(death, enrolled) + rng.integers(10, 61, n).astype("m8[D]"), NEVER
    )  # fmt: skip
    withdrawn = exponential_day(rng.random(n), np.maximum(enrolled, start), np.full(n, WITHDRAWN_RATE), end)
    period = cycle_period(rng.random(n), *EDIT_DAYS)
    employer_idx = rng.integers(0, max(len(employers), 1), n)
    person_phone = phones(rng, len(person))
    phone_of_row = np.repeat(np.arange(len(person)), count)
    ids = np.arange(id_start, id_start + n)

    # The state on the logical date, and the versions of the day before.
    key = mix(_KEY_SALT, ids)

    def updated_on(on: np.datetime64) -> np.ndarray:
        edit_until = np.where(np.isnat(ended), on, np.minimum(ended - np.timedelta64(1, "D"), on))
        edited = last_edit(edit_until, period, key)
        ended_then = np.where(on_or_before(ended, on), ended, NEVER)
        return latest(enrolled, np.where(edited >= enrolled, edited, NEVER), ended_then)

    status_idx = np.where(on_or_before(ended, today), 2, status_idx)
    updated = updated_on(today)
    shown = np.flatnonzero((enrolled <= today) & ~on_or_before(withdrawn, today))
    yesterday = today - np.timedelta64(1, "D")
    before = np.flatnonzero((enrolled <= yesterday) & ~on_or_before(withdrawn, yesterday))
    rows = shown.tolist()
    return Enrollments(
        id=[f"SI{ids[i]:010d}" for i in rows],
        person=row_person[shown],
        outsider=row_outsider[shown],
        resident_id=[source[i].resident_id[p_list[i]] for i in rows],
        name=[source[i].name[p_list[i]] for i in rows],
        birth=row_birth[shown],
        insurance_type=[types[i] for i in rows],
        employer=[employers[employer_idx[i]] if row_employee[i] else None for i in rows],
        division=[str(d) for d in np.repeat(county, count)[shown].tolist()],
        enrolled=enrolled[shown],
        status=[STATUSES[status_idx[i]] for i in rows],
        phone=[person_phone[phone_of_row[i]] for i in rows],
        updated_at=moment(updated[shown], key[shown]),
        withdrawn=withdrawn[shown],
        previous_ids=[f"SI{i:010d}" for i in ids[before].tolist()],
        previous_versions=updated_on(yesterday)[before],
        versions=updated[shown],
    ), id_start + n
