"""Realistic defects injected into the department sources, and the exact record of what was injected.

Real department data holds mistyped ID numbers, empty mandatory fields, rows exported twice, impossible
dates, division codes nobody knows and records two departments disagree on. The platform must quarantine
(or flag) each of these and nothing else, so the generator injects them at a configurable rate — exactly
``round(rate * rows)`` per dataset, one defect per row, spread evenly over the kinds — and records each
one with the key that identifies its row. End-to-end tests compare that record with the quarantine.

That holds for the files, which are delivered whole every day. A department database is extracted by
its ``updated_at``, so there a defect belongs to a row *version* (:func:`version_defects`): drawn with
probability ``rate`` from the row's key and the day of its ``updated_at``, it is delivered with the edit
that made it, stays while the row is unchanged, and the next edit — drawn afresh — corrects it: the
corrected re-delivery, with its own ``updated_at``. So about ``rate`` of a database's rows are defective
on any date (not exactly ``round(rate * rows)``), and an incremental batch carries defects at that rate.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta

import numpy as np

from demo_province import reference as ref
from demo_province.identifiers import corrupt_ric, corrupt_uscc
from demo_province.tables import (
    BIRTHS,
    CROPS,
    DIBAO,
    DIVISIONS,
    ENROLLMENT,
    ENTITIES,
    HOUSEHOLD,
    INDICATORS,
    KEY_COLUMNS,
    MARRIAGES,
    PASSENGERS,
    PAYMENTS,
    Table,
    row_count,
    row_key,
)
from demo_province.timeline import mix

BAD_CHECK_CHAR = "bad_check_char"
MISSING_REQUIRED = "missing_required"
DUPLICATE_ROW = "duplicate_row"
FUTURE_DATE = "future_date"
UNKNOWN_DIVISION = "unknown_division"
CROSS_DEPARTMENT_CONFLICT = "cross_department_conflict"

_COMMON = (BAD_CHECK_CHAR, MISSING_REQUIRED, DUPLICATE_ROW, FUTURE_DATE, UNKNOWN_DIVISION)
# Regional statistics carry no person IDs and no event dates: only the kinds that really occur in them.
_REGIONAL = (MISSING_REQUIRED, DUPLICATE_ROW, UNKNOWN_DIVISION)
KINDS: dict[str, tuple[str, ...]] = {
    HOUSEHOLD: _COMMON,
    ENTITIES: _COMMON,
    ENROLLMENT: (*_COMMON, CROSS_DEPARTMENT_CONFLICT),
    BIRTHS: (*_COMMON, CROSS_DEPARTMENT_CONFLICT),
    MARRIAGES: (*_COMMON, CROSS_DEPARTMENT_CONFLICT),
    DIBAO: _COMMON,
    PAYMENTS: _COMMON,
    CROPS: _REGIONAL,
    INDICATORS: _REGIONAL,
    DIVISIONS: _REGIONAL,
    PASSENGERS: _REGIONAL,
}

# Per dataset: the ID column whose check character is broken, the required columns emptied (in turn),
# the date pushed into the future and the division column given an unknown code.
_ID_COLUMN = {
    HOUSEHOLD: "gmsfhm",
    ENTITIES: "统一社会信用代码",
    ENROLLMENT: "aac002",
    BIRTHS: "母亲身份证号",
    MARRIAGES: "男方身份证号",
    DIBAO: "recipient_id",
    PAYMENTS: "recipient_id",
}
_REQUIRED = {
    HOUSEHOLD: ("xm", "csrq"),
    ENTITIES: ("企业名称", "成立日期"),
    ENROLLMENT: ("aac003", "aae140"),
    BIRTHS: ("新生儿姓名", "母亲姓名"),
    MARRIAGES: ("男方姓名", "女方姓名"),
    DIBAO: ("recipient_name", "approval_date"),
    PAYMENTS: ("recipient_name", "amount"),
    CROPS: ("产量（吨）", "规模数量"),
    INDICATORS: ("sz", "jldw"),
    DIVISIONS: ("区划名称", "区划级别"),
    PASSENGERS: ("客运量（万人次）", "旅客周转量（万人公里）"),
}
_DATE = {
    HOUSEHOLD: "csrq",
    ENTITIES: "成立日期",
    ENROLLMENT: "aac030",
    BIRTHS: "签发日期",
    MARRIAGES: "登记日期",
    DIBAO: "approval_date",
    PAYMENTS: "payment_date",
}
_DIVISION = {
    HOUSEHOLD: "hjdqh", ENTITIES: "住所行政区划代码", ENROLLMENT: "aab301", BIRTHS: "行政区划代码",
    MARRIAGES: "登记机关行政区划代码", DIBAO: "division_code", PAYMENTS: "division_code",
    CROPS: "行政区划代码", INDICATORS: "dqdm", DIVISIONS: "上级区划代码", PASSENGERS: "市州代码",
}  # fmt: skip
# Cross-department conflicts: (column changed, "name" or "birth", how the row names the person).
_CONFLICT: dict[str, tuple[tuple[str, str, str], ...]] = {
    ENROLLMENT: (("aac003", "name", "aac002"), ("aac006", "birth", "aac002")),  # 人社厅 vs 公安厅
    BIRTHS: (("出生日期", "birth", "新生儿姓名"),),  # 卫健委's newborn birth date vs 公安厅's
    MARRIAGES: (("男方姓名", "name", "男方身份证号"), ("女方姓名", "name", "女方身份证号")),
}
# Codes for an unknown division that is part of a row's key: prefecture 5299 does not exist, and each
# defect gets its own code so that no two rows end up with the same key.
_UNKNOWN_KEY_DIVISIONS = tuple(f"5299{i:02d}" for i in range(1, 100)) + tuple(
    f"52{p:02d}99" for p in range(30, 99)
)


@dataclass(frozen=True)
class Defect:
    """One injected defect: which row (by its key as written in the source), what kind, which column."""

    dataset: str
    kind: str
    key: str
    column: str | None
    detail: str
    since: str | None = None  # database rows: the day of the row version that carries the defect

    def as_dict(self) -> dict[str, str | None]:
        return {k: v for k, v in asdict(self).items() if k != "dataset"}


class DefectPlanner:
    """Spreads ``round(rate * rows)`` defects per dataset over the chunks and evenly over the kinds."""

    def __init__(self, rate: float) -> None:
        if not 0.0 <= rate <= 0.5:
            raise ValueError(f"defect rate must be between 0 and 0.5, got {rate}")
        self.rate = rate
        self._rows = dict.fromkeys(KINDS, 0)
        self._made = dict.fromkeys(KINDS, 0)

    def kinds_for(self, dataset: str, rows: int) -> list[str]:
        """The defect kinds the next ``rows`` rows of ``dataset`` receive."""
        before = int(self.rate * self._rows[dataset] + 0.5)
        after = int(self.rate * (self._rows[dataset] + rows) + 0.5)
        kinds = KINDS[dataset]
        planned = [kinds[(self._made[dataset] + i) % len(kinds)] for i in range(after - before)]
        self._rows[dataset] += rows
        self._made[dataset] += len(planned)
        return planned


def _choose_rows(
    rng: np.random.Generator, n: int, kinds: list[str], eligible: dict[str, np.ndarray]
) -> list[tuple[int, str]]:
    """Distinct rows for the planned kinds; a kind without eligible rows falls back to missing_required."""
    order = rng.permutation(n)
    taken = np.zeros(n, dtype=bool)
    chosen: list[tuple[int, str]] = []
    wanted: dict[str, int] = {}
    for kind in kinds:
        wanted[kind] = wanted.get(kind, 0) + 1
    for kind, count in wanted.items():
        mask = eligible.get(kind, np.ones(n, dtype=bool))
        rows = order[mask[order] & ~taken[order]][:count]
        taken[rows] = True
        chosen += [(int(r), kind) for r in rows]
        short = count - len(rows)
        if short:
            spare = order[~taken[order]][:short]
            taken[spare] = True
            chosen += [(int(r), MISSING_REQUIRED) for r in spare]
    return sorted(chosen)


def _corrupt(dataset: str, right: str, day: date) -> str:
    corrupt = corrupt_ric if dataset != ENTITIES else corrupt_uscc
    return corrupt(right, 1 + zlib.crc32(f"{right}{day.isoformat()}".encode()) % 9)


def _future_day(rng: np.random.Generator, logical_date: date) -> str:
    return str(np.datetime64(logical_date.isoformat(), "D") + np.timedelta64(int(rng.integers(1, 731)), "D"))


def _conflicting_name(rng: np.random.Generator, name: str) -> str:
    pool = ref.MALE_GIVEN + ref.FEMALE_GIVEN
    replacement = name[-1]
    while replacement == name[-1]:
        replacement = pool[int(rng.integers(0, len(pool)))]
    return name[:-1] + replacement


def _conflicting_birth(rng: np.random.Generator, birth: str, logical_date: date) -> str:
    day = np.datetime64(birth, "D")
    shifted = day + np.timedelta64(int(rng.integers(1, 400)) * (1 if rng.random() < 0.5 else -1), "D")
    if shifted >= np.datetime64(logical_date.isoformat(), "D"):
        shifted = day - (shifted - day)
    return str(shifted)


def _unknown_division(
    dataset: str, table: Table, row: int, column: str, serial: int, taken: set[str] | None
) -> str:
    """An unknown code; where the division is part of the key, one that keeps every row key distinct.

    ``taken`` None (a database row version): a code of its own per region, so it needs no other row.
    """
    if column not in KEY_COLUMNS[dataset]:
        return ref.UNKNOWN_DIVISIONS[serial % len(ref.UNKNOWN_DIVISIONS)]
    if taken is None:
        geo = ref.geography()
        regions = [ref.PROVINCE_CODE, *ref.PREFECTURES, *(str(c) for c in geo.county_codes.tolist())]
        return _UNKNOWN_KEY_DIVISIONS[regions.index(table[column][row]) % len(_UNKNOWN_KEY_DIVISIONS)]
    for i in range(len(_UNKNOWN_KEY_DIVISIONS)):
        table[column][row] = _UNKNOWN_KEY_DIVISIONS[(serial + i) % len(_UNKNOWN_KEY_DIVISIONS)]
        if row_key(dataset, table, row) not in taken:
            taken.add(row_key(dataset, table, row))
            return table[column][row]
    raise ValueError(f"{dataset}: no unknown division code left that keeps row keys distinct")


def _apply(
    dataset: str,
    table: Table,
    row: int,
    kind: str,
    serial: int,
    rng: np.random.Generator,
    logical_date: date,
    taken: set[str] | None,
    anchor: date | None = None,
) -> Defect:
    """Give the row its defect. ``anchor`` (a row version's day) fixes what a date-independent defect
    looks like: the check character it breaks to, and the dates it moves (far beyond its next version)."""

    def key() -> str:
        return row_key(dataset, table, row)

    if kind == BAD_CHECK_CHAR:
        col = _ID_COLUMN[dataset]
        right = table[col][row]
        table[col][row] = _corrupt(dataset, right, anchor or logical_date)
        return Defect(dataset, kind, key(), col, f"check character should be {right[-1]}")
    if kind == MISSING_REQUIRED:
        col = _REQUIRED[dataset][serial % 2]
        table[col][row] = None
        return Defect(dataset, kind, key(), col, f"required {col} is empty")
    if kind == FUTURE_DATE:
        col = _DATE[dataset]
        table[col][row] = _future_day(rng, anchor + timedelta(days=2000) if anchor else logical_date)
        return Defect(dataset, kind, key(), col, f"{col} {table[col][row]} is after {logical_date}")
    if kind == UNKNOWN_DIVISION:
        col = _DIVISION[dataset]
        table[col][row] = _unknown_division(dataset, table, row, col, serial, taken)
        return Defect(dataset, kind, key(), col, f"division code {table[col][row]} is not in Guizhou")
    if kind == CROSS_DEPARTMENT_CONFLICT:
        col, what, who = _CONFLICT[dataset][serial % len(_CONFLICT[dataset])]
        before = table[col][row]
        table[col][row] = (
            _conflicting_name(rng, before)
            if what == "name"
            else _conflicting_birth(rng, before, anchor or logical_date)
        )
        return Defect(
            dataset, kind, key(), col,
            f"resident {table[who][row]}: 公安厅 has {before}, {_DEPARTMENT[dataset]} has {table[col][row]}",
        )  # fmt: skip
    if kind == DUPLICATE_ROW:
        for values in table.values():
            values.append(values[row])
        return Defect(dataset, kind, key(), None, "row delivered twice")
    raise ValueError(f"unknown defect kind {kind!r}")


_DEPARTMENT = {ENROLLMENT: "人社厅", BIRTHS: "卫健委", MARRIAGES: "民政厅"}


def inject(
    dataset: str,
    table: Table,
    kinds: list[str],
    rng: np.random.Generator,
    logical_date: date,
    eligible: dict[str, np.ndarray] | None = None,
) -> tuple[list[Defect], np.ndarray]:
    """Inject the planned defects into ``table`` in place (duplicates are appended at its end).

    Returns the defects and the indices of the original rows that were touched.
    """
    n = row_count(table)
    eligible = dict(eligible or {})
    if dataset in (HOUSEHOLD,):
        # Pushing a birth date past the logical date only makes sense for the living.
        eligible.setdefault(FUTURE_DATE, np.array([s == "正常" for s in table["rkzt"]], dtype=bool))
    if dataset == DIVISIONS:
        # The province has no parent; an unknown parent code only makes sense below it.
        eligible.setdefault(UNKNOWN_DIVISION, np.array([p is not None for p in table["上级区划代码"]]))
    chosen = _choose_rows(rng, n, kinds, eligible)
    defects = []
    serial: dict[str, int] = {}
    keyed = UNKNOWN_DIVISION in kinds and _DIVISION.get(dataset) in KEY_COLUMNS[dataset]
    taken = {row_key(dataset, table, r) for r in range(n)} if keyed else set()
    # Duplicates last, so that every other row stays where it was.
    for row, kind in sorted(chosen, key=lambda rk: (rk[1] == DUPLICATE_ROW, rk[0])):
        defects.append(_apply(dataset, table, row, kind, serial.get(kind, 0), rng, logical_date, taken))
        serial[kind] = serial.get(kind, 0) + 1
    return defects, np.array([r for r, _ in chosen], dtype=np.int64)


def _hash_ints(values: list[str]) -> np.ndarray:
    return np.fromiter((zlib.crc32(v.encode()) for v in values), dtype=np.int64, count=len(values))


def version_defects(
    dataset: str, keys: list[str], versions: np.ndarray, rate: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Which rows of a department database carry a defect, and its kind (index into ``KINDS``).

    A defect belongs to a row *version*: it is drawn from (seed, dataset, key, the version's day) with
    probability ``rate``, so it arrives with the edit that made the version (the row's ``updated_at``)
    and stays until the next edit, which — drawn afresh — corrects it. Nothing depends on the date asked.
    """
    if not rate or not keys:
        return np.zeros(len(keys), dtype=bool), np.zeros(len(keys), dtype=np.int64)
    h = mix(seed, zlib.crc32(dataset.encode()), _hash_ints(keys), versions.astype("M8[D]"))
    defective = (h >> np.uint64(11)).astype(np.float64) / float(1 << 53) < rate
    kind = ((h >> np.uint64(3)) % np.uint64(len(KINDS[dataset]))).astype(np.int64)
    return defective, kind


def version_keys(dataset: str, keys: list[str], versions: np.ndarray, rate: float, seed: int) -> list[str]:
    """The keys as the table shows them: a bad check character changes the ID where it is part of the key."""
    defective, kind = version_defects(dataset, keys, versions, rate, seed)
    if _ID_COLUMN.get(dataset) not in KEY_COLUMNS[dataset]:
        return keys
    part = KEY_COLUMNS[dataset].index(_ID_COLUMN[dataset])
    bad = KINDS[dataset].index(BAD_CHECK_CHAR)
    out = list(keys)
    day_text = np.datetime_as_string(versions.astype("M8[D]"), unit="D")
    for row in np.flatnonzero(defective & (kind == bad)).tolist():
        values = out[row].split("|")
        values[part] = _corrupt(dataset, values[part], date.fromisoformat(day_text[row]))
        out[row] = "|".join(values)
    return out


def inject_versions(
    dataset: str,
    table: Table,
    keys: list[str],
    versions: np.ndarray,
    rate: float,
    seed: int,
    logical_date: date,
    eligible: dict[str, np.ndarray] | None = None,
) -> tuple[list[Defect], np.ndarray]:
    """Inject the defects of each row's version (see :func:`version_defects`) into ``table`` in place.

    A kind the row is not eligible for becomes missing_required; duplicates are appended at the end.
    Returns the defects and the indices of the rows that carry one.
    """
    defective, kind = version_defects(dataset, keys, versions, rate, seed)
    rows = np.flatnonzero(defective)
    eligible = dict(eligible or {})
    if dataset == HOUSEHOLD:
        eligible.setdefault(FUTURE_DATE, np.array([s == "正常" for s in table["rkzt"]], dtype=bool))
    kinds = KINDS[dataset]
    planned = []
    for row in rows.tolist():
        name = kinds[kind[row]]
        planned.append((row, name if name not in eligible or eligible[name][row] else MISSING_REQUIRED))
    days = np.datetime_as_string(versions.astype("M8[D]"), unit="D")
    h = (
        mix(seed, _hash_ints([keys[r] for r in rows.tolist()]), 0xDEF)
        if len(rows)
        else np.zeros(0, np.uint64)
    )
    detail = {r: int(x >> np.uint64(1)) for r, x in zip(rows.tolist(), h.tolist(), strict=True)}
    found = []
    for row, name in sorted(planned, key=lambda rk: (rk[1] == DUPLICATE_ROW, rk[0])):
        anchor = date.fromisoformat(days[row])
        rng = np.random.default_rng(detail[row])
        defect = _apply(dataset, table, row, name, detail[row] % 997, rng, logical_date, None, anchor)
        found.append(replace(defect, since=days[row]))
    return found, rows


def manifest(defects: Iterable[Defect]) -> dict[str, dict[str, int]]:
    """``{dataset: {kind: count}}`` with every kind present (zero when none was injected)."""
    counts = {ds: dict.fromkeys(kinds, 0) for ds, kinds in KINDS.items()}
    for d in defects:
        counts[d.dataset][d.kind] += 1
    return counts
