"""财政厅's subsidy payments to persons (惠民惠农财政补贴资金"一卡通"), one row per payment.

Twelve months of payments up to the logical date: 低保金 monthly to 民政厅's 低保 recipients, 高龄津贴 to
everyone 80 or older, 困难残疾人生活补贴 to a few, 耕地地力保护补贴 once a year (May) to rural household
heads, 农机购置补贴 now and then. Each person is paid into one bank account (full card numbers, as the
finance system holds them — the platform must mask them).

The subsidy audit's findings are built in, as they occur in reality, and returned so tests can check the
audit finds exactly them: payments that continue after 公安厅 recorded the recipient's death, the same
month and subsidy paid twice, and payments to ID numbers the household registry does not know.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from demo_province import reference as ref
from demo_province.civil import Dibao
from demo_province.identifiers import format_rics, ric_check_chars
from demo_province.people import People, date_parts, day, given_names, random_day_between, surnames
from demo_province.tables import PAYMENT_COLUMNS, Table, date_strings, timestamp_strings
from demo_province.timeline import ERA_YEARS, epoch_of, era_end, mix, moment, unit

DIBAO, ELDERLY, DISABLED, FARMLAND, MACHINERY = (
    "低保金", "高龄津贴", "困难残疾人生活补贴", "耕地地力保护补贴", "农机购置补贴",
)  # fmt: skip
MONTHLY = (DIBAO, ELDERLY, DISABLED)
DISABLED_SHARE = 0.006
FARMLAND_SHARE = 0.25  # of rural household heads
MACHINERY_SHARE = 0.002
ELDERLY_PAID_AFTER_DEATH = 0.25
PAID_TWICE = 0.003  # of monthly payments
UNKNOWN_SHARE = 0.002  # of payments: ID numbers the household registry has never issued

# Bank card BINs (19-digit cards) of the banks that carry 一卡通 accounts in Guizhou; plausible, Luhn-valid.
BANKS: tuple[tuple[str, str], ...] = (
    ("中国农业银行", "622848"),
    ("贵州省农村信用社", "621779"),
    ("中国邮政储蓄银行", "621799"),
    ("中国工商银行", "622202"),
    ("中国建设银行", "621700"),
)
BANK_P = np.array([0.35, 0.35, 0.15, 0.08, 0.07])
# County codes of the former 地区 (e.g. 522422 大方县 of 毕节地区, now 520521): people born there keep such
# IDs (stdnum accepts them for any birth year), and no person of the synthetic registry has one — so these
# IDs are certainly unknown to it.
OLD_DIVISIONS = np.array([522422, 522428, 522227, 522101, 522121, 522501], dtype=np.int64)


@dataclass
class Payments:
    table: Table
    person: np.ndarray  # index into the chunk's People; -1 for an ID the registry does not know
    after_death: np.ndarray  # bool: paid after the recipient's recorded death
    paid_twice: np.ndarray  # bool: the second payment of the same person, subsidy and month
    unknown: np.ndarray  # bool

    previous_ids: list[str] | None = None  # the payment ids of the table the day before the logical date
    previous_versions: np.ndarray | None = None  # datetime64[D]: their payment days (rows never change)
    versions: np.ndarray | None = None  # datetime64[D]: the rows' payment days

    def __len__(self) -> int:
        return len(self.person)

    def take(self, rows: np.ndarray) -> Payments:
        """The payments at ``rows``."""
        picked = rows.tolist()
        table = {c: [v[i] for i in picked] for c, v in self.table.items()}
        taken = Payments(
            table, self.person[rows], self.after_death[rows], self.paid_twice[rows], self.unknown[rows]
        )
        taken.previous_ids, taken.previous_versions = self.previous_ids, self.previous_versions
        return taken


def luhn_digit(body: str) -> str:
    """The Luhn check digit bank card numbers end with."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def luhn_digits(bodies: np.ndarray) -> np.ndarray:
    """Vectorised :func:`luhn_digit` for 18-digit bodies given as int64."""
    total = np.zeros(len(bodies), dtype=np.int64)
    rest = bodies.astype(np.int64).copy()
    for i in range(18):
        d = (rest % 10) * (2 if i % 2 == 0 else 1)
        total += np.where(d > 9, d - 9, d)
        rest //= 10
    return (10 - total % 10) % 10


def _accounts(rng: np.random.Generator, n: int) -> tuple[list[str], list[str]]:
    bank = np.searchsorted(np.cumsum(BANK_P), rng.random(n) * BANK_P.sum(), side="right").clip(
        0, len(BANKS) - 1
    )
    rest = rng.integers(0, 10**12, n)
    bins = np.array([int(b[1]) for b in BANKS], dtype=np.int64)
    bodies = bins[bank] * 10**12 + rest
    numbers = [f"{b}{c}" for b, c in zip(bodies.tolist(), luhn_digits(bodies).tolist(), strict=True)]
    return [BANKS[b][0] for b in bank.tolist()], numbers


@dataclass
class _Rows:
    """Payments being assembled: parallel arrays, concatenated at the end."""

    person: list[np.ndarray]
    kind: list[np.ndarray]
    month: list[np.ndarray]  # datetime64[M]: the period paid for
    paid: list[np.ndarray]  # datetime64[D]
    amount: list[np.ndarray]

    def add(self, person, kind: int, month, paid, amount) -> None:
        self.person.append(np.asarray(person, dtype=np.int64))
        self.kind.append(np.full(len(self.person[-1]), kind))
        self.month.append(np.asarray(month, dtype="M8[M]"))
        self.paid.append(np.asarray(paid, dtype="M8[D]"))
        self.amount.append(np.asarray(amount, dtype=float))

    def arrays(self) -> tuple[np.ndarray, ...]:
        return tuple(
            np.concatenate(parts) for parts in (self.person, self.kind, self.month, self.paid, self.amount)
        )


_KINDS = (DIBAO, ELDERLY, DISABLED, FARMLAND, MACHINERY)


def _monthly(
    rows: _Rows, kind: str, people: People, person: np.ndarray, start: np.ndarray, stop: np.ndarray,
    amount: np.ndarray, months: np.ndarray, window: tuple[np.datetime64, np.datetime64],
) -> None:  # fmt: skip
    """Pay each person every month from ``start`` while the payment day is before ``stop``, in the window."""
    pay_day = 9 + people.county_code[person] % 10  # each county pays on its own day of the month
    paid = months[None, :].astype("M8[D]") + pay_day[:, None].astype("m8[D]")
    due = (months[None, :] >= start[:, None]) & (paid > window[0]) & (paid <= window[1])
    due &= np.isnat(stop)[:, None] | (paid < stop[:, None])
    p, m = np.nonzero(due)
    rows.add(person[p], _KINDS.index(kind), months[m], paid[p, m], amount[p])


def _stop(people: People, person: np.ndarray) -> np.ndarray:
    """Payments stop at the person's death or moving out of the province."""
    death, moved = people.death_day[person], people.moved_day[person]
    return np.where(np.isnat(death), moved, death)


def _unknown_people(rng: np.random.Generator, n: int, epoch: np.datetime64) -> tuple[list[str], list[str]]:
    """ID numbers (valid check characters) and names of people the registry has never seen."""
    male = rng.random(n) < 0.5
    age = rng.uniform(30, 90, n)
    birth = epoch - (age * 365.25).astype(np.int64).astype("m8[D]")
    year, month, dd = date_parts(birth)
    division = OLD_DIVISIONS[rng.integers(0, len(OLD_DIVISIONS), n)]
    seq = 2 * rng.integers(0, 500, n) + male
    bodies = ((division * 10_000 + year) * 100 + month) * 100_000 + dd * 1_000 + seq
    ids = format_rics(bodies, ric_check_chars(bodies))
    table = list(ref.SURNAMES)
    names = [
        table[s] + g for s, g in zip(surnames(rng, n).tolist(), given_names(rng, male, age), strict=True)
    ]
    return ids, names


@dataclass
class _Unknown:
    """Payments of one month to ID numbers the registry has never issued: their own row data."""

    kind: np.ndarray
    paid: np.ndarray
    ids: list[str]
    names: list[str]
    banks: list[str]
    accounts: list[str]
    division: list[str]


def _unknown_month(seed: tuple, month: np.datetime64, rate: float, epoch: np.datetime64) -> _Unknown:
    """The month's payments to unknown IDs, drawn from a stream of their own so that no date moves them."""
    rng = np.random.default_rng([*seed, 300, int(month.astype(np.int64)) + 10_000])
    n = int(rng.poisson(rate))
    ids, names = _unknown_people(rng, n, epoch)
    banks, accounts = _accounts(rng, n)
    codes = ref.geography().county_codes
    division = [str(c) for c in codes[rng.integers(0, len(codes), n)].tolist()]
    paid = np.full(n, month.astype("M8[D]") + np.timedelta64(14, "D"))
    return _Unknown(rng.integers(0, 2, n), paid, ids, names, banks, accounts, division)


def generate_payments(
    rng: np.random.Generator, people: People, dibao: Dibao, logical_date: date, seed: tuple[int, int]
) -> Payments:
    """The chunk's payments of the twelve months (365 days) up to ``logical_date``, by payment date.

    Who is paid what is drawn once (per person, from the chunk's finance stream; unknown recipients per
    month from a stream of their own), and a payment's id is built from what it pays — month, subsidy,
    chunk and person — so it is the same on every date that lists it. Payments older than a year leave
    the table (the finance system archives them), which a delete capture sees.
    """
    epoch = day(epoch_of(logical_date))
    end, today = era_end(epoch_of(logical_date)), day(logical_date)
    # One day wider than the table's window: the rows of the day before are what a delete capture compares.
    window = (today - np.timedelta64(366, "D"), today)
    months = np.arange(window[0].astype("M8[M]"), today.astype("M8[M]") + 1)
    n_people = len(people)
    bank_names, accounts = _accounts(rng, n_people)
    continues = rng.random(n_people) < ELDERLY_PAID_AFTER_DEATH
    disabled_draw = rng.random(n_people) < DISABLED_SHARE
    disabled_amount = np.where(rng.random(n_people) < 0.3, 100.0, 80.0)
    farmer_draw = rng.random(n_people) < FARMLAND_SHARE
    mu = np.round(rng.uniform(1.5, 12.0, n_people), 1)
    buyer_draw = rng.random(n_people) < MACHINERY_SHARE * (ERA_YEARS + 1)
    buy_day = random_day_between(
        rng, np.full(n_people, epoch - np.timedelta64(365, "D")), np.full(n_people, end)
    )
    buy_amount = np.round(rng.uniform(800, 30000, n_people), -1)

    rows = _Rows([], [], [], [], [])
    _monthly(rows, DIBAO, people, dibao.person, dibao.start, dibao.stopped, dibao.amount, months, window)
    # Everyone 80 or older; for a quarter of those who died since two years before the epoch nobody stopped it.
    elderly = np.flatnonzero((people.age >= 80) & (people.birth < epoch))
    stop = _stop(people, elderly)
    recent = ~np.isnat(people.death_day[elderly]) & (
        people.death_day[elderly] >= epoch - np.timedelta64(730, "D")
    )
    stop = np.where(recent & continues[elderly], np.datetime64("NaT", "D"), stop)
    age = people.age[elderly]
    amount = np.where(age >= 100, 300.0, np.where(age >= 90, 100.0, 50.0))
    everyone = np.full(len(elderly), months[0])
    _monthly(rows, ELDERLY, people, elderly, everyone, stop, amount, months, window)
    disabled = np.flatnonzero((people.age >= 16) & disabled_draw)
    _monthly(
        rows, DISABLED, people, disabled, np.full(len(disabled), months[0]), _stop(people, disabled),
        disabled_amount[disabled], months, window,
    )  # fmt: skip

    relation = np.array(people.relation)
    rural = np.array([not 1 <= c % 100 <= 19 for c in people.county_code.tolist()], dtype=bool)
    heads = (relation == "户主") & rural & (people.birth < epoch)
    farmers = np.flatnonzero(heads & farmer_draw)
    for m in months[(months.astype(int) % 12) == 4]:
        day_paid = m.astype("M8[D]") + np.timedelta64(14, "D")
        if not window[0] < day_paid <= today:
            continue
        stop = _stop(people, farmers)
        alive = np.isnat(stop) | (stop > day_paid)
        k = int(alive.sum())
        rows.add(
            farmers[alive],
            _KINDS.index(FARMLAND),
            np.full(k, m),
            np.full(k, day_paid),
            mu[farmers[alive]] * 88.5,
        )
    buyers = np.flatnonzero(heads & buyer_draw & (buy_day > window[0]) & (buy_day <= today))
    rows.add(
        buyers, _KINDS.index(MACHINERY), buy_day[buyers].astype("M8[M]"), buy_day[buyers], buy_amount[buyers]
    )

    person, kind, month, paid, amount = rows.arrays()
    # The same month's subsidy paid twice (a batch re-run by the paying bank), a few days apart.
    monthly = np.isin(kind, [_KINDS.index(k) for k in MONTHLY])
    twice = np.flatnonzero(monthly & (unit(*seed, person, kind, month.astype(np.int64)) < PAID_TWICE))
    delay = (mix(*seed, person[twice], kind[twice], month[twice].astype(np.int64), 7) % np.uint64(6)).astype(
        np.int64
    )
    again = paid[twice] + delay.astype("m8[D]")
    twice, again = twice[again <= today], again[again <= today]
    unknown = [_unknown_month(seed, m, UNKNOWN_SHARE * 0.07 * n_people, epoch) for m in months]
    unknown_paid = np.concatenate([u.paid for u in unknown]) if unknown else np.zeros(0, "M8[D]")
    unknown_month = np.concatenate(
        [np.full(len(u.paid), m) for u, m in zip(unknown, months, strict=True)]
    ).astype("M8[M]")
    unknown_index = np.concatenate([np.arange(len(u.paid)) for u in unknown]).astype(np.int64)
    seen = (unknown_paid > window[0]) & (unknown_paid <= today)
    n_unknown = len(unknown_paid)
    person = np.concatenate([person, person[twice], -1 - unknown_index])
    kind = np.concatenate([kind, kind[twice], np.concatenate([u.kind for u in unknown])])
    month = np.concatenate([month, month[twice], unknown_month])
    paid = np.concatenate([paid, again, unknown_paid])
    amount = np.concatenate([amount, amount[twice], np.full(n_unknown, 50.0)])
    flag = np.r_[
        np.zeros(len(person) - len(twice) - n_unknown, np.int64),
        np.ones(len(twice), np.int64),
        np.full(n_unknown, 2),
    ]
    keep = np.r_[np.ones(len(person) - n_unknown, bool), seen]
    person, kind, month, paid, amount, flag = (a[keep] for a in (person, kind, month, paid, amount, flag))

    order = np.lexsort((flag, person, paid))
    person, kind, month, paid, amount, flag = (a[order] for a in (person, kind, month, paid, amount, flag))
    extra = {
        "banks": bank_names,
        "accounts": accounts,
        "unknown": {m: u for m, u in zip(months.tolist(), unknown, strict=True)},
    }
    payments = _table(people, person, kind, month, paid, amount, flag, seed, extra)
    ids = payments.table["payment_id"]
    before = np.flatnonzero(paid < today)
    payments.previous_ids = [ids[i] for i in before.tolist()]
    payments.previous_versions = paid[before]
    shown = np.flatnonzero(paid > window[0] + np.timedelta64(1, "D"))
    payments = payments.take(shown)
    payments.versions = paid[shown]
    return payments


def _table(
    people: People, person: np.ndarray, kind: np.ndarray, month: np.ndarray, paid: np.ndarray,
    amount: np.ndarray, flag: np.ndarray, seed: tuple[int, int], extra: dict,
) -> Payments:  # fmt: skip
    n = len(person)
    unknown = flag == 2
    banks, accounts = extra["banks"], extra["accounts"]
    per_row = []
    for p, m, f in zip(person.tolist(), month.astype("M8[M]").tolist(), flag.tolist(), strict=True):
        if f == 2:
            u, j = extra["unknown"][m], -1 - p
            per_row.append((u.ids[j], u.names[j], u.division[j], u.banks[j], u.accounts[j]))
        else:
            per_row.append(
                (people.resident_id[p], people.name[p], str(people.county_code[p]), banks[p], accounts[p])
            )
    rid, rname, division, bank, account = (list(c) for c in zip(*per_row, strict=True)) if n else ([],) * 5
    safe = np.where(unknown, 0, person)
    death = np.where(unknown, np.datetime64("NaT", "D"), people.death_day[safe])
    after_death = ~np.isnat(death) & (paid > death)
    period = np.datetime_as_string(month.astype("M8[M]"), unit="M").tolist()
    index = np.where(unknown, -1 - person, person)
    table: Table = dict.fromkeys(PAYMENT_COLUMNS)
    table["payment_id"] = [
        f"ZF{p[:4]}{p[5:]}{k}{f}{seed[1]:03d}{i:06d}"
        for p, k, f, i in zip(period, kind.tolist(), flag.tolist(), index.tolist(), strict=True)
    ]
    table["recipient_id"] = rid
    table["recipient_name"] = rname
    table["subsidy_type"] = [_KINDS[k] for k in kind.tolist()]
    table["period"] = period
    table["amount"] = [f"{a:.2f}" for a in amount.tolist()]
    table["payment_date"] = date_strings(paid)
    table["division_code"] = division
    table["bank_name"] = bank
    table["bank_account"] = account
    table["updated_at"] = timestamp_strings(moment(paid, *seed, mix(kind, flag, index)))
    return Payments(table, np.where(unknown, -1, person), after_death, flag == 1, unknown)
