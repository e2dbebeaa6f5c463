"""Synthetic residents of Guizhou, generated household by household with numpy.

People are drawn as households (a head, a spouse, children, sometimes the head's parents or
grandchildren) so that household numbers, relations, surnames, ethnic groups and addresses hang together
the way they do in a real 户籍 register. Ages follow a plausible pyramid, resident IDs embed the birth date
and a county code, and the register records deaths and people who moved out.

Everything is vectorised over a chunk (up to ~100k people) because the large scale is a million people.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from demo_province import reference as ref
from demo_province.identifiers import format_rics, ric_bodies, ric_check_chars
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

HOUSEHOLD_SIZES = np.arange(1, 7)
HOUSEHOLD_SIZE_P = np.array([0.22, 0.28, 0.22, 0.16, 0.08, 0.04])

# Age of household heads: (lower bound, width, probability).
# fmt: off
_HEAD_AGE_BINS = np.array([[20, 10, 0.16], [30, 10, 0.25], [40, 10, 0.23], [50, 10, 0.17],
                           [60, 10, 0.11], [70, 10, 0.06], [80, 16, 0.02]])
# fmt: on

R_HEAD, R_SPOUSE, R_CHILD, R_PARENT, R_GRANDCHILD = range(5)


@dataclass
class People:
    """One chunk of persons: numpy arrays to compute with, and the strings the source systems store.

    Every person drawn for the era is here (also those not yet born or registered on the logical date);
    ``visible`` says who is in 公安厅's table on the logical date, and ``status``, ``death`` and
    ``updated_at`` are as of that date. ``age`` is the age at the era's epoch (what other departments'
    draws use, so they do not depend on the logical date); the ``*_day`` arrays are the person's timeline.
    """

    resident_id: list[str]
    body: np.ndarray  # int64: the 17-digit body of the resident ID
    name: list[str]
    male: np.ndarray  # bool
    ethnicity: list[str]
    birth: np.ndarray  # datetime64[D]
    age: np.ndarray  # float years at the era's epoch (negative for children born after it)
    county_idx: np.ndarray  # index into reference.geography() counties (household registration)
    county_code: np.ndarray  # int64
    address: list[str]
    household_id: list[str]
    relation: list[str]
    status: np.ndarray  # "正常" / "死亡" / "迁出" on the logical date
    death: np.ndarray  # datetime64[D] on the logical date, NaT when alive then
    updated_at: np.ndarray  # datetime64[s], local time (+08:00)
    in_registry: bool = True
    visible: np.ndarray | None = None  # bool: in 公安厅's table on the logical date
    status_epoch: np.ndarray | None = None  # status at the epoch: stable input of other departments' draws
    death_day: np.ndarray | None = None  # datetime64[D]: the whole timeline's death (NaT: none in the era)
    moved_day: np.ndarray | None = None  # datetime64[D]: moved out of the province (NaT: not in the era)
    issued: np.ndarray | None = None  # datetime64[D]: 出生医学证明 issue day
    registered: np.ndarray | None = None  # datetime64[D]: 落户, the day the registry row was created
    key: np.ndarray | None = None  # uint64: the person's hash key (stable across dates)
    period: np.ndarray | None = None  # int64: days between the clerks' edits of the registry row

    def __len__(self) -> int:
        return len(self.resident_id)


# -- small vectorised helpers -------------------------------------------------------------------------


def day(d: date) -> np.datetime64:
    return np.datetime64(d.isoformat(), "D")


def pick(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Indices drawn with the given (normalised) weights."""
    return np.searchsorted(np.cumsum(weights), rng.random(size) * weights.sum(), side="right").clip(
        0, len(weights) - 1
    )


def pick_rows(rng: np.random.Generator, cumulative: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a row-wise cumulative probability table."""
    u = rng.random(len(cumulative))
    return (u[:, None] > cumulative).sum(axis=1).clip(0, cumulative.shape[1] - 1)


def date_parts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    years = days.astype("M8[Y]")
    months = days.astype("M8[M]")
    return (
        years.astype(np.int64) + 1970,
        (months - years).astype(np.int64) + 1,
        (days - months).astype(np.int64) + 1,
    )


def random_day_between(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A uniformly random day in [lo, hi] (hi is used where lo > hi)."""
    lo = np.minimum(lo, hi)
    span = (hi - lo).astype(np.int64) + 1
    return lo + (rng.random(len(lo)) * span).astype(np.int64).astype("m8[D]")


def given_names(rng: np.random.Generator, male: np.ndarray, age: np.ndarray) -> list[str]:
    """Given names of one or two characters; older people more often have one."""
    n = len(male)
    single = rng.random(n) < np.where(age >= 50, 0.3, 0.08)
    mpool, fpool = ref.MALE_GIVEN, ref.FEMALE_GIVEN
    a = rng.random((2, n))
    out = []
    for is_male, one, u1, u2 in zip(
        male.tolist(), single.tolist(), a[0].tolist(), a[1].tolist(), strict=True
    ):
        pool = mpool if is_male else fpool
        first = pool[int(u1 * len(pool))]
        out.append(first if one else first + pool[int(u2 * len(pool))])
    return out


def surnames(rng: np.random.Generator, size: int) -> np.ndarray:
    weights = np.array(list(ref.SURNAMES.values()))
    return pick(rng, weights, size)


class IssuedBodies:
    """The resident-ID bodies issued so far (int64), as a few sorted blocks merged like a binary counter.

    Each chunk adds a sorted block; while the block before it is no larger, the two merge. A province of
    38.6 million people is then ~10 blocks, each body takes part in ~log2(chunks) merges, and a chunk's
    membership test is a binary search per block — where re-sorting everything issued after every chunk
    cost O(n log n) per chunk, most of generating at scale.
    """

    def __init__(self) -> None:
        self.blocks: list[np.ndarray] = []

    def __len__(self) -> int:
        return sum(len(b) for b in self.blocks)

    def contains(self, bodies: np.ndarray) -> np.ndarray:
        """Which of ``bodies`` were issued. The bodies are searched in sorted order: each search then
        starts where the last ended, walking a block's memory forwards, where bodies in random order
        made every search a fresh walk through a block of millions (at 10 M persons, 3/4 of generating)."""
        taken = np.zeros(len(bodies), dtype=bool)
        if not self.blocks or not len(bodies):
            return taken
        order = np.argsort(bodies, kind="stable")
        ordered = bodies[order]
        found = np.zeros(len(bodies), dtype=bool)
        for block in self.blocks:
            pos = np.searchsorted(block, ordered).clip(max=len(block) - 1)
            found |= block[pos] == ordered
        taken[order] = found
        return taken

    def add(self, bodies: np.ndarray) -> None:
        if not len(bodies):
            return
        self.blocks.append(np.sort(bodies))
        while len(self.blocks) >= 2 and len(self.blocks[-2]) <= len(self.blocks[-1]):
            last = self.blocks.pop()
            self.blocks[-1] = np.sort(np.concatenate([self.blocks[-1], last]), kind="stable")


def _later_repeats(bodies: np.ndarray) -> np.ndarray:
    """Bodies repeating an earlier body of the same array (the first of each stays)."""
    order = np.argsort(bodies, kind="stable")
    ordered = bodies[order]
    later = np.zeros(len(bodies), dtype=bool)
    later[order[1:]] = ordered[1:] == ordered[:-1]
    return later


def _repeats(bodies: np.ndarray, used: IssuedBodies, only: np.ndarray | None = None) -> np.ndarray:
    """Bodies already issued (``used``) or repeating an earlier body of the same array. ``only``: the
    positions that changed since the last call — the others were checked against ``used`` already.

    Sorting-based on purpose: numpy's hash-based unique/isin is several times slower at this size.
    """
    if only is None:
        taken = used.contains(bodies)
    else:
        taken = np.zeros(len(bodies), dtype=bool)
        taken[only] = used.contains(bodies[only])
    return taken | _later_repeats(bodies)


# A day has 500 sequence numbers per county and sex (GB 11643: three digits, parity = sex). Re-drawing
# the last free ones of a nearly full day takes a few hundred rounds; a full one would take forever.
MAX_REDRAWS = 2_000


def _saturated(division: np.ndarray, birth: np.ndarray, male: np.ndarray, draws: int) -> str:
    """What stops resident IDs being issued: the (county, birthday, sex) still colliding, most first."""
    keys, counts = np.unique(
        np.rec.fromarrays([division, birth.astype("datetime64[D]").astype(str), male]), return_counts=True
    )
    worst = ", ".join(
        f"{k[0]} {k[1]} {'男' if k[2] else '女'} ×{c}"
        for k, c in sorted(zip(keys, counts, strict=True), key=lambda x: -x[1])[:5]
    )
    return (
        f"resident IDs: {int(counts.sum())} still collide after {draws} re-draws — their county, birthday "
        f"and sex have no free sequence number left (500 a day per county and sex): {worst}"
    )


def make_resident_ids(
    rng: np.random.Generator,
    division: np.ndarray,
    birth: np.ndarray,
    male: np.ndarray,
    used: IssuedBodies,
) -> tuple[np.ndarray, list[str], IssuedBodies]:
    """Resident IDs unique against ``used`` (the bodies issued so far) and each other.

    Returns (bodies, ids, used with these bodies added). The sequence's parity carries the gender, as
    GB 11643 requires.
    """
    year, month, dd = date_parts(birth)
    seq = 2 * rng.integers(0, 500, len(birth)) + male.astype(np.int64)
    bodies = ric_bodies(division, year, month, dd, seq)
    dup = _repeats(bodies, used)
    draws = 0
    while dup.any():
        draws += 1
        if draws > MAX_REDRAWS:
            raise ValueError(_saturated(division[dup], birth[dup], male[dup], draws))
        seq[dup] = 2 * rng.integers(0, 500, int(dup.sum())) + male[dup].astype(np.int64)
        bodies[dup] = ric_bodies(division[dup], year[dup], month[dup], dd[dup], seq[dup])
        dup = _repeats(bodies, used, only=np.flatnonzero(dup))
    ids = format_rics(bodies, ric_check_chars(bodies))
    used.add(bodies)
    return bodies, ids, used


# -- households -----------------------------------------------------------------------------------------


def _household_sizes(rng: np.random.Generator, n: int) -> np.ndarray:
    sizes = HOUSEHOLD_SIZES[pick(rng, HOUSEHOLD_SIZE_P, int(n / 2.6) + 16)]
    while sizes.sum() < n:
        sizes = np.concatenate([sizes, HOUSEHOLD_SIZES[pick(rng, HOUSEHOLD_SIZE_P, 64)]])
    cum = np.cumsum(sizes)
    used = int(np.searchsorted(cum, n)) + 1
    sizes = sizes[:used].copy()
    sizes[-1] -= int(cum[used - 1] - n)
    return sizes


def _roles(rng: np.random.Generator, position: np.ndarray, head_age: np.ndarray) -> np.ndarray:
    u = rng.random(len(position))
    second = np.where(u < 0.85, R_SPOUSE, np.where(u < 0.95, R_CHILD, R_PARENT))
    later = np.where(u < 0.85, R_CHILD, np.where(u < 0.95, R_PARENT, R_GRANDCHILD))
    later = np.where((later == R_GRANDCHILD) & (head_age < 50), R_CHILD, later)
    later = np.where((later == R_PARENT) & (head_age >= 60), R_CHILD, later)  # few heads over 60 have parents
    second = np.where((second == R_PARENT) & (head_age >= 60), R_CHILD, second)
    return np.where(position == 0, R_HEAD, np.where(position == 1, second, later))


def _ages(
    rng: np.random.Generator, role: np.ndarray, head_age: np.ndarray, head_male: np.ndarray
) -> np.ndarray:
    n = len(role)
    spouse = head_age + rng.normal(np.where(head_male, -2.0, 2.0), 3.0, n)
    child = head_age - rng.uniform(21, 35, n)
    child = np.where(child < 0, rng.uniform(0, 3, n), child)
    parent = np.minimum(head_age + rng.uniform(22, 34, n), 100.0)
    grandchild = head_age - rng.uniform(45, 62, n)
    grandchild = np.where(grandchild < 0, rng.uniform(0, 5, n), grandchild)
    # Reflected, not clipped: a clip put every spouse drawn under 18 on the one birthday 18 years before
    # the epoch (0.43 % of all persons) — past a few million persons more people of one county and sex
    # than a day has resident-ID sequence numbers (500), and make_resident_ids could never finish.
    spouse = np.where(spouse < 18, 36 - spouse, spouse)
    spouse = np.where(spouse > 100, 200 - spouse, spouse)
    age = np.select(
        [role == R_HEAD, role == R_SPOUSE, role == R_CHILD, role == R_PARENT],
        [head_age, spouse, child, parent],
        grandchild,
    )
    return np.clip(age, 0.0, 100.9)


def _relation_names(role: np.ndarray, male: np.ndarray) -> list[str]:
    table = {
        (R_HEAD, True): "户主", (R_HEAD, False): "户主",
        (R_SPOUSE, True): "配偶", (R_SPOUSE, False): "配偶",
        (R_CHILD, True): "子", (R_CHILD, False): "女",
        (R_PARENT, True): "父亲", (R_PARENT, False): "母亲",
        (R_GRANDCHILD, True): "孙子", (R_GRANDCHILD, False): "孙女",
    }  # fmt: skip
    return [table[(r, m)] for r, m in zip(role.tolist(), male.tolist(), strict=True)]


def household_addresses(rng: np.random.Generator, county_idx: np.ndarray) -> list[str]:
    """A township address in each county: 街道 get a road and number, 乡/镇 a village, group and number."""
    geo = ref.geography()
    u = rng.random((4, len(county_idx)))
    out = []
    for c, a, b, g, h in zip(
        county_idx.tolist(), u[0].tolist(), u[1].tolist(), u[2].tolist(), u[3].tolist(), strict=True
    ):
        towns = geo.townships[c]
        town = towns[int(a * len(towns))]
        if town.endswith("街道"):
            place = f"{ref.ROADS[int(b * len(ref.ROADS))]}{1 + int(h * 300)}号"
        else:
            place = f"{ref.VILLAGES[int(b * len(ref.VILLAGES))]}村{1 + int(g * 12)}组{1 + int(h * 80)}号"
        out.append(f"{geo.county_prefix[c]}{town}{place}")
    return out


def _status(
    rng: np.random.Generator, age: np.ndarray, birth: np.ndarray, today: np.datetime64
) -> tuple[np.ndarray, np.ndarray]:
    """Status at the epoch: who died in the fifteen years before it, and who had moved out by then."""
    n = len(age)
    p_dead = 0.002 + np.clip((age - 45) / 55, 0, 1) * 0.12
    lo = np.maximum(birth + np.timedelta64(1, "D"), today - np.timedelta64(15 * 365, "D"))
    hi = np.full(n, today - np.timedelta64(1, "D"))
    dead = (rng.random(n) < p_dead) & (lo <= hi)
    moved = ~dead & (rng.random(n) < 0.015)
    status = np.where(dead, "死亡", np.where(moved, "迁出", "正常"))
    death = np.where(dead, random_day_between(rng, lo, hi), np.datetime64("NaT", "D"))
    return status, death


# Yearly rates of the era's events, and how often a clerk touches a record (days between edits).
MOVE_OUT_RATE = 0.004
FERTILITY = 0.1  # births a year per mother (head or spouse) aged 18-42 at the epoch
EDIT_DAYS = (200, 1000)


def death_rate(age: np.ndarray) -> np.ndarray:
    return 0.0008 + np.clip((age - 45) / 55, 0, 1) * 0.05


def _future_children(
    rng: np.random.Generator, role: np.ndarray, male: np.ndarray, age: np.ndarray, birth: np.ndarray,
    start: np.datetime64, end: np.datetime64,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(mother, birth day) of the children born during the era to the households' mothers."""
    mothers = np.flatnonzero(~male & ((role == R_HEAD) | (role == R_SPOUSE)) & (age >= 18) & (age <= 42))
    last = np.minimum(birth[mothers] + np.timedelta64(int(45 * 365.25), "D"), end)
    years = np.maximum((last - start).astype(np.int64), 0) / 365.25
    count = np.minimum(rng.poisson(FERTILITY * years), 3)
    mother = np.repeat(mothers, count)
    born = random_day_between(rng, np.full(len(mother), start), np.repeat(last, count))
    return mother, born


def _registration(rng: np.random.Generator, birth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """出生医学证明 a few days after the birth (weeks for 15%: 补发), 落户 one to sixty days after that."""
    n = len(birth)
    late = rng.random(n) < 0.15
    issued = birth + np.where(late, rng.integers(8, 91, n), rng.integers(1, 8, n)).astype("m8[D]")
    return issued, issued + rng.integers(1, 61, n).astype("m8[D]")


def state_on(people: People, on: np.datetime64) -> tuple[np.ndarray, ...]:
    """(registered, dead, moved out, day of the newest event) per person on the day ``on``."""
    visible = people.registered <= on
    dead = on_or_before(people.death_day, on)
    moved = on_or_before(people.moved_day, on) & ~dead
    leaves = np.where(np.isnat(people.death_day), people.moved_day, people.death_day)
    edit_until = np.where(np.isnat(leaves), on, np.minimum(leaves - np.timedelta64(1, "D"), on))
    edited = last_edit(edit_until, people.period, people.key)
    edited = np.where(edited >= people.registered, edited, NEVER)
    updated = latest(
        np.where(visible, people.registered, NEVER),
        edited,
        np.where(dead, people.death_day, NEVER),
        np.where(moved, people.moved_day, NEVER),
    )
    return visible, dead, moved, updated


def person_state(people: People, logical_date: date) -> None:
    """Fill in ``visible``, ``status``, ``death`` and ``updated_at`` as of ``logical_date`` (in place)."""
    visible, dead, moved, updated = state_on(people, day(logical_date))
    people.visible = visible
    people.status = np.where(dead, "死亡", np.where(moved, "迁出", "正常"))
    people.death = np.where(dead, people.death_day, NEVER)
    people.updated_at = moment(updated, people.key)


def generate_people(
    rng: np.random.Generator,
    n: int,
    logical_date: date,
    used_bodies: IssuedBodies,
    household_start: int,
    salt: int = 0,
) -> tuple[People, np.ndarray, int]:
    """``n`` residents registered at the era's epoch in whole households, and the children born to them.

    Everything is drawn from the epoch, never from ``logical_date``, which only decides what the row
    shows (see ``timeline``). ``salt`` tells chunks apart in the hashed draws. Returns the people, the
    updated set of used ID bodies and the next free household number.
    """
    geo = ref.geography()
    epoch = epoch_of(logical_date)
    today, end = day(epoch), era_end(epoch)
    sizes = _household_sizes(rng, n)
    households = len(sizes)
    member_of = np.repeat(np.arange(households), sizes)
    position = np.arange(n) - np.repeat(np.cumsum(sizes) - sizes, sizes)

    # household-level draws
    hh_county = pick(rng, geo.county_weights, households)
    bins = _HEAD_AGE_BINS[pick(rng, _HEAD_AGE_BINS[:, 2], households)]
    hh_head_age = bins[:, 0] + rng.random(households) * bins[:, 1]
    hh_head_male = rng.random(households) < 0.8
    hh_surname = surnames(rng, households)
    ethnic_cum = np.cumsum(ref.ethnic_weights(), axis=1)
    hh_ethnic = pick_rows(rng, ethnic_cum[geo.prefecture_of_county[hh_county]])
    hh_address = household_addresses(rng, hh_county)

    # member-level draws
    head_age, head_male = hh_head_age[member_of], hh_head_male[member_of]
    role = _roles(rng, position, head_age)
    male = np.select(
        [role == R_HEAD, role == R_SPOUSE], [head_male, ~head_male], rng.random(n) < 0.515
    ).astype(bool)
    age = _ages(rng, role, head_age, head_male)
    birth = today - (age * 365.25).astype(np.int64).astype("m8[D]") - np.timedelta64(1, "D")
    county_idx = hh_county[member_of]

    own_surname = surnames(rng, n)
    keeps_name = ((role == R_CHILD) | (role == R_GRANDCHILD)) & (rng.random(n) < 0.9)
    keeps_name |= role == R_HEAD
    keeps_name |= (role == R_PARENT) & male & head_male
    surname_idx = np.where(keeps_name, hh_surname[member_of], own_surname)
    married_in = (role == R_SPOUSE) & (rng.random(n) < 0.3)
    ethnic_idx = np.where(
        married_in, pick_rows(rng, ethnic_cum[geo.prefecture_of_county[county_idx]]), hh_ethnic[member_of]
    )
    names = given_names(rng, male, age)

    # Most people were born in the county they are registered in; some elsewhere in the province.
    born_elsewhere = rng.random(n) < 0.15
    id_county = np.where(born_elsewhere, pick(rng, geo.county_weights, n), county_idx)
    status, death = _status(rng, age, birth, today)

    # The era's newborns join their mother's household as the head's son or daughter.
    mother, born = _future_children(rng, role, male, age, birth, today, end)
    k = len(mother)
    kid_male = rng.random(k) < 0.515
    kid_age = (born - today).astype(np.int64) / -365.25
    member_of = np.concatenate([member_of, member_of[mother]])
    role = np.concatenate([role, np.full(k, R_CHILD)])
    male = np.concatenate([male, kid_male])
    age = np.concatenate([age, kid_age])
    birth = np.concatenate([birth, born])
    county_idx = np.concatenate([county_idx, county_idx[mother]])
    surname_idx = np.concatenate([surname_idx, hh_surname[member_of[n:]]])
    ethnic_idx = np.concatenate([ethnic_idx, ethnic_idx[mother]])
    names += given_names(rng, kid_male, np.zeros(k))
    id_county = np.concatenate([id_county, county_idx[n:]])
    status = np.concatenate([status, np.full(k, "正常")])
    death = np.concatenate([death, np.full(k, NEVER)])
    total = n + k

    surname_table = list(ref.SURNAMES)
    names = [surname_table[s] + g for s, g in zip(surname_idx.tolist(), names, strict=True)]
    bodies, ids, used_bodies = make_resident_ids(rng, geo.county_codes[id_county], birth, male, used_bodies)

    # The era's timeline: certificates and 落户, deaths, moving out of the province, the clerks' edits.
    issued, registered = _registration(rng, birth)
    dead = ~np.isnat(death)
    issued = np.where(dead, np.maximum(birth, np.minimum(issued, death)), issued)
    registered = np.where(dead, np.maximum(birth, np.minimum(registered, death)), registered)
    alive = status == "正常"
    since = np.maximum(registered, today)
    death_day = np.where(alive, exponential_day(rng.random(total), since, death_rate(age), end), death)
    moved_before = random_day_between(
        rng, np.maximum(birth, today - np.timedelta64(3650, "D")), since - np.timedelta64(1, "D")
    )
    moved_day = np.where(
        alive, exponential_day(rng.random(total), since, np.full(total, MOVE_OUT_RATE), end),
        np.where(status == "迁出", moved_before, NEVER),
    )  # fmt: skip
    # Once a person has moved out of the province, 公安厅 no longer hears of the death.
    death_day = np.where(~np.isnat(moved_day) & (moved_day < death_day), NEVER, death_day)
    moved_day = np.where(~np.isnat(death_day) & (death_day <= moved_day), NEVER, moved_day)
    period = cycle_period(rng.random(total), *EDIT_DAYS)

    hh_numbers = np.arange(household_start, household_start + households)
    hh_ids = [
        f"{geo.county_codes[c]}{h:09d}" for c, h in zip(hh_county.tolist(), hh_numbers.tolist(), strict=True)
    ]
    people = People(
        resident_id=ids,
        body=bodies,
        name=names,
        male=male,
        ethnicity=[ref.ETHNIC_GROUPS[i] for i in ethnic_idx.tolist()],
        birth=birth,
        age=age,
        county_idx=county_idx,
        county_code=geo.county_codes[county_idx],
        address=[hh_address[h] for h in member_of.tolist()],
        household_id=[hh_ids[h] for h in member_of.tolist()],
        relation=_relation_names(role, male),
        status=status,
        death=death,
        updated_at=np.zeros(total, "M8[s]"),
        status_epoch=status,
        death_day=death_day,
        moved_day=moved_day,
        issued=issued,
        registered=registered,
        key=mix(salt, np.arange(total)),
        period=period,
    )
    person_state(people, logical_date)
    return people, used_bodies, household_start + households


def generate_outsiders(
    rng: np.random.Generator, n: int, logical_date: date, used_bodies: IssuedBodies, salt: int = 0
) -> tuple[People, np.ndarray]:
    """Working-age people registered in another province: they are insured in Guizhou (人社厅) only."""
    geo = ref.geography()
    today = day(epoch_of(logical_date))
    male = rng.random(n) < 0.55
    age = rng.uniform(18, 58, n)
    birth = today - (age * 365.25).astype(np.int64).astype("m8[D]") - np.timedelta64(1, "D")
    other = np.array([int(c) for c in ref.OTHER_PROVINCE_COUNTIES], dtype=np.int64)
    division = other[rng.integers(0, len(other), n)]
    bodies, ids, used_bodies = make_resident_ids(rng, division, birth, male, used_bodies)
    surname_table = list(ref.SURNAMES)
    names = [
        surname_table[s] + g
        for s, g in zip(surname_idx_list(rng, n), given_names(rng, male, age), strict=True)
    ]
    county_idx = pick(rng, geo.county_weights, n)  # where they work and are insured
    never = np.full(n, NEVER)
    people = People(
        resident_id=ids,
        body=bodies,
        name=names,
        male=male,
        ethnicity=["汉族"] * n,
        birth=birth,
        age=age,
        county_idx=county_idx,
        county_code=geo.county_codes[county_idx],
        address=[""] * n,
        household_id=[""] * n,
        relation=[""] * n,
        status=np.full(n, "正常"),
        death=never,
        updated_at=np.zeros(n, "M8[s]"),
        in_registry=False,
        visible=np.ones(n, dtype=bool),
        status_epoch=np.full(n, "正常"),
        death_day=never,
        moved_day=never,
        issued=birth,
        registered=np.full(n, today - np.timedelta64(1, "D")),
        key=mix(salt, 1 << 40, np.arange(n)),
        period=np.full(n, 10**6),
    )
    return people, used_bodies


def surname_idx_list(rng: np.random.Generator, n: int) -> list[int]:
    return surnames(rng, n).tolist()
