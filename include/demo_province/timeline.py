"""The province's clock: one population per era that evolves day by day, the same whatever date is asked.

Every record (person, entity, enrollment, 低保 row, payment, registration) is drawn once, anchored at the
era's *epoch*, together with the days of everything that will happen to it — birth and 落户, death, moving
out, the clerk's edits, closure, withdrawal, exit from 低保. The sources of logical date D then show each
record as it is on D: only events on or before D count, a record appears on the day it is created and
vanishes on the day its department deletes it, and ``updated_at`` is the day of its newest event on or
before D (at an office-hours moment fixed by the record and that day). So the sources of D and D + 1
differ by a small daily churn, and an incremental extract by ``updated_at`` picks up exactly that churn.

The epoch is fixed: 1 January 2024 (``PROVINCE_EPOCH``). Dates are read in eras of ten years from it
(2024-01-01 to 2033-12-31 is one era; 2014–2023 the one before, and so on); within an era the province is
one continuous population, and a date in another era gets its own, anchored at that era's epoch (so an
era's first day is a fresh province, not the day after the previous era's last). The seed never moves
the epoch. Randomness that must not depend on D comes either from the chunk's random
streams, drawn in a fixed order, or from :func:`unit`, a counter-based hash of (seed, stream, ids).
"""

from __future__ import annotations

from datetime import date

import numpy as np

PROVINCE_EPOCH = date(2024, 1, 1)
ERA_YEARS = 10
NEVER = np.datetime64("NaT", "D")

_M1, _M2, _GOLDEN = (
    np.uint64(0xBF58476D1CE4E5B9),
    np.uint64(0x94D049BB133111EB),
    np.uint64(0x9E3779B97F4A7C15),
)


def epoch_of(logical_date: date) -> date:
    """The first day of the era ``logical_date`` falls in."""
    offset = (logical_date.year - PROVINCE_EPOCH.year) // ERA_YEARS
    return date(PROVINCE_EPOCH.year + offset * ERA_YEARS, 1, 1)


def era_end(epoch: date) -> np.datetime64:
    """The era's last day: events are drawn from the epoch up to here."""
    return np.datetime64(f"{epoch.year + ERA_YEARS}-01-01", "D") - np.timedelta64(1, "D")


def as_day(d: date) -> np.datetime64:
    return np.datetime64(d.isoformat(), "D")


def _splitmix(x: np.ndarray) -> np.ndarray:
    x = (x + _GOLDEN).astype(np.uint64)
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def mix(*parts: object) -> np.ndarray:
    """A 64-bit hash per element of the broadcast ``parts`` (ints, int arrays or datetime64 arrays)."""
    with np.errstate(over="ignore"):
        h = np.zeros(1, dtype=np.uint64)
        for part in parts:
            value = np.asarray(part)
            if value.dtype.kind == "M":
                value = value.astype(np.int64)
            h = _splitmix(h ^ np.atleast_1d(value.astype(np.int64)).view(np.uint64))
        return h


def unit(*parts: object) -> np.ndarray:
    """A uniform [0, 1) number per element, fixed by ``parts`` (see :func:`mix`)."""
    return (mix(*parts) >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def moment(days: np.ndarray, *ids: object) -> np.ndarray:
    """An office-hours moment (08:00-18:00 local) on each day, fixed by the record and the day."""
    seconds = (mix(*ids, days) % np.uint64(10 * 3600)).astype(np.int64) + 8 * 3600
    return days.astype("M8[s]") + seconds.astype("m8[s]")


def cycle_period(u: np.ndarray, shortest: int, longest: int) -> np.ndarray:
    """Days between a record's edits, from a uniform draw: somewhere in [shortest, longest]."""
    return (shortest + u * (longest - shortest)).astype(np.int64)


def last_edit(day: np.ndarray, period: np.ndarray, key: np.ndarray) -> np.ndarray:
    """The newest edit day on or before ``day``: one edit at a hashed day in every ``period``-day cycle.

    Cycles are counted from 1970-01-01, so the answer for a day does not depend on which date is asked.
    """
    t = day.astype(np.int64)
    cycle = t // period
    offset = (mix(key, cycle) % period.astype(np.uint64)).astype(np.int64)
    candidate = cycle * period + offset
    previous = (cycle - 1) * period + (mix(key, cycle - 1) % period.astype(np.uint64)).astype(np.int64)
    return np.where(candidate <= t, candidate, previous).astype("M8[D]")


def on_or_before(days: np.ndarray, day: np.datetime64) -> np.ndarray:
    """Which events have happened by ``day`` (NaT never has)."""
    return ~np.isnat(days) & (days <= day)


def latest(*days: np.ndarray) -> np.ndarray:
    """Element-wise newest day, ignoring NaT."""
    stacked = np.vstack([d.astype("M8[D]").astype(np.int64) for d in days])
    nat = np.vstack([np.isnat(d) for d in days])
    stacked = np.where(nat, np.iinfo(np.int64).min, stacked)
    return stacked.max(axis=0).astype("M8[D]")


def exponential_day(
    u: np.ndarray, start: np.ndarray, yearly_rate: np.ndarray, end: np.datetime64
) -> np.ndarray:
    """The day of a first event at ``yearly_rate`` after ``start``; NaT when it falls after ``end``."""
    rate = np.maximum(yearly_rate, 1e-9)
    years = -np.log1p(-np.minimum(u, 1 - 1e-12)) / rate
    days = np.minimum(years * 365.25, 1e6).astype(np.int64) + 1
    out = start.astype("M8[D]") + days.astype("m8[D]")
    return np.where(out > end, NEVER, out)
