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

from govlake.province import reference as ref
from govlake.province.civil import Dibao
from govlake.province.identifiers import format_rics, ric_check_chars
from govlake.province.people import People, date_parts, day, given_names, office_time, surnames
from govlake.province.tables import PAYMENT_COLUMNS, Table, date_strings, timestamp_strings

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

    def __len__(self) -> int:
        return len(self.person)


def luhn_digit(body: str) -> str:
    """The Luhn check digit bank card numbers end with."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def _accounts(rng: np.random.Generator, n: int) -> tuple[list[str], list[str]]:
    bank = np.searchsorted(np.cumsum(BANK_P), rng.random(n) * BANK_P.sum(), side="right").clip(
        0, len(BANKS) - 1
    )
    rest = rng.integers(0, 10**12, n)
    names, numbers = [], []
    for b, r in zip(bank.tolist(), rest.tolist(), strict=True):
        body = f"{BANKS[b][1]}{r:012d}"
        names.append(BANKS[b][0])
        numbers.append(body + luhn_digit(body))
    return names, numbers


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
    amount: np.ndarray, months: np.ndarray, today: np.datetime64,
) -> None:  # fmt: skip
    """Pay each person every month of the window from ``start`` while the payment day is before ``stop``."""
    pay_day = 9 + people.county_code[person] % 10  # each county pays on its own day of the month
    paid = months[None, :].astype("M8[D]") + pay_day[:, None].astype("m8[D]")
    due = (months[None, :] >= start[:, None]) & (paid <= today)
    due &= np.isnat(stop)[:, None] | (paid < stop[:, None])
    p, m = np.nonzero(due)
    rows.add(person[p], _KINDS.index(kind), months[m], paid[p, m], amount[p])


def _elderly(
    rng: np.random.Generator, people: People, today: np.datetime64
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Everyone 80 or older; for a quarter of those who died in the last two years nobody stopped it."""
    person = np.flatnonzero(people.age >= 80)
    death = people.death[person]
    recent = ~np.isnat(death) & (death >= today - np.timedelta64(730, "D"))
    continues = recent & (rng.random(len(person)) < ELDERLY_PAID_AFTER_DEATH)
    stop = np.where(continues, np.datetime64("NaT", "D"), death)
    age = people.age[person]
    amount = np.where(age >= 100, 300.0, np.where(age >= 90, 100.0, 50.0))
    return person, stop, amount


def _once(rng: np.random.Generator, heads: np.ndarray, share: float) -> np.ndarray:
    return heads[rng.random(len(heads)) < share]


def _unknown_people(rng: np.random.Generator, n: int, logical_date: date) -> tuple[list[str], list[str]]:
    """ID numbers (valid check characters) and names of people the registry has never seen."""
    today = day(logical_date)
    male = rng.random(n) < 0.5
    age = rng.uniform(30, 90, n)
    birth = today - (age * 365.25).astype(np.int64).astype("m8[D]")
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


def generate_payments(
    rng: np.random.Generator, people: People, dibao: Dibao, logical_date: date, serial_start: int
) -> Payments:
    """The chunk's payments of the twelve months up to ``logical_date``, ordered by payment date."""
    today = day(logical_date)
    months = np.arange(today.astype("M8[M]") - 11, today.astype("M8[M]") + 1)
    window = months[0].astype("M8[D]")
    rows = _Rows([], [], [], [], [])
    _monthly(rows, DIBAO, people, dibao.person, dibao.start, dibao.stopped, dibao.amount, months, today)
    person, stop, amount = _elderly(rng, people, today)
    _monthly(rows, ELDERLY, people, person, np.full(len(person), months[0]), stop, amount, months, today)
    disabled = np.flatnonzero((people.age >= 16) & (rng.random(len(people)) < DISABLED_SHARE))
    _monthly(
        rows, DISABLED, people, disabled, np.full(len(disabled), months[0]), people.death[disabled],
        np.where(rng.random(len(disabled)) < 0.3, 100.0, 80.0), months, today,
    )  # fmt: skip

    relation = np.array(people.relation)
    rural = np.array([not 1 <= c % 100 <= 19 for c in people.county_code.tolist()], dtype=bool)
    heads = np.flatnonzero((relation == "户主") & rural)
    may = months[(months.astype(int) % 12) == 4]
    farmers = _once(rng, heads, FARMLAND_SHARE)
    mu = np.round(rng.uniform(1.5, 12.0, len(farmers)), 1)
    for m in may:
        day_paid = m.astype("M8[D]") + np.timedelta64(14, "D")
        if day_paid > today:
            continue
        alive = np.isnat(people.death[farmers]) | (people.death[farmers] > day_paid)
        k = int(alive.sum())
        rows.add(
            farmers[alive], _KINDS.index(FARMLAND), np.full(k, m), np.full(k, day_paid), mu[alive] * 88.5
        )
    buyers = _once(rng, heads, MACHINERY_SHARE)
    paid = window + rng.integers(0, int((today - window).astype(int)) + 1, len(buyers)).astype("m8[D]")
    rows.add(
        buyers,
        _KINDS.index(MACHINERY),
        paid.astype("M8[M]"),
        paid,
        np.round(rng.uniform(800, 30000, len(buyers)), -1),
    )

    person, kind, month, paid, amount = rows.arrays()
    # The same month's subsidy paid twice (a batch re-run by the paying bank), a few days apart.
    twice = np.flatnonzero(
        np.isin(kind, [_KINDS.index(k) for k in MONTHLY]) & (rng.random(len(person)) < PAID_TWICE)
    )
    again = np.minimum(paid[twice] + rng.integers(0, 6, len(twice)).astype("m8[D]"), today)
    n_unknown = int(UNKNOWN_SHARE * len(person) + 0.5)
    unknown_month = months[rng.integers(0, len(months), n_unknown)]
    unknown_paid = np.minimum(unknown_month.astype("M8[D]") + np.timedelta64(14, "D"), today)
    person = np.concatenate([person, person[twice], np.full(n_unknown, -1)])
    kind = np.concatenate([kind, kind[twice], rng.integers(0, 2, n_unknown)])
    month = np.concatenate([month, month[twice], unknown_month])
    paid = np.concatenate([paid, again, unknown_paid])
    amount = np.concatenate([amount, amount[twice], np.full(n_unknown, 50.0)])
    second = np.r_[
        np.zeros(len(person) - len(twice) - n_unknown, bool),
        np.ones(len(twice), bool),
        np.zeros(n_unknown, bool),
    ]

    order = np.lexsort((person, paid))
    person, kind, month, paid, amount, second = (
        a[order] for a in (person, kind, month, paid, amount, second)
    )
    return _table(rng, people, person, kind, month, paid, amount, second, logical_date, serial_start)


def _table(
    rng: np.random.Generator, people: People, person: np.ndarray, kind: np.ndarray, month: np.ndarray,
    paid: np.ndarray, amount: np.ndarray, second: np.ndarray, logical_date: date, serial_start: int,
) -> Payments:  # fmt: skip
    n = len(person)
    unknown = person < 0
    ids, names = _unknown_people(rng, int(unknown.sum()), logical_date)
    bank_names, accounts = _accounts(rng, len(people))
    u_banks, u_accounts = _accounts(rng, int(unknown.sum()))
    county_of_unknown = ref.geography().county_codes[
        rng.integers(0, len(ref.geography().county_codes), int(unknown.sum()))
    ]
    unknown_rows = iter(
        zip(ids, names, (str(c) for c in county_of_unknown.tolist()), u_banks, u_accounts, strict=True)
    )
    per_row = [
        next(unknown_rows)
        if p < 0
        else (people.resident_id[p], people.name[p], str(people.county_code[p]), bank_names[p], accounts[p])
        for p in person.tolist()
    ]
    rid, rname, division, bank, account = (list(c) for c in zip(*per_row, strict=True)) if n else ([],) * 5
    safe = np.where(unknown, 0, person)
    death = np.where(unknown, np.datetime64("NaT", "D"), people.death[safe])
    after_death = ~np.isnat(death) & (paid > death)
    table: Table = dict.fromkeys(PAYMENT_COLUMNS)
    table["payment_id"] = [f"ZF{serial_start + i:010d}" for i in range(n)]
    table["recipient_id"] = rid
    table["recipient_name"] = rname
    table["subsidy_type"] = [_KINDS[k] for k in kind.tolist()]
    table["period"] = np.datetime_as_string(month.astype("M8[M]"), unit="M").tolist()
    table["amount"] = [f"{a:.2f}" for a in amount.tolist()]
    table["payment_date"] = date_strings(paid)
    table["division_code"] = division
    table["bank_name"] = bank
    table["bank_account"] = account
    table["updated_at"] = timestamp_strings(office_time(rng, paid))
    return Payments(table, person, after_death, second, unknown)
