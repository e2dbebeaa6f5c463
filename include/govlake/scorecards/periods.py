"""Scorecard periods: ISO weeks (``2026-W48``) and calendar months (``2026-11``).

The scheduled runs fire on Monday morning (the week that just ended) and on the 1st (the month that just
ended); an on-demand run names a period kind and any date inside the period.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

KINDS = ("week", "month")
KINDS_ZH = {"week": "周", "month": "月"}


@dataclass(frozen=True)
class Period:
    kind: str  # week | month
    start: date
    end: date  # inclusive

    @property
    def label(self) -> str:
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start:%Y-%m}"

    @property
    def label_zh(self) -> str:
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}年第{week}周（{self.start:%m月%d日}–{self.end:%m月%d日}）"
        return f"{self.start.year}年{self.start.month}月"

    def previous(self) -> Period:
        return period_containing(self.kind, self.start - timedelta(days=1))

    def as_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "period": self.label,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }


def period_containing(kind: str, day: date) -> Period:
    """The whole week (Monday–Sunday) or month that contains ``day``."""
    if kind == "week":
        start = day - timedelta(days=day.weekday())
        return Period(kind, start, start + timedelta(days=6))
    if kind == "month":
        last = calendar.monthrange(day.year, day.month)[1]
        return Period(kind, day.replace(day=1), day.replace(day=last))
    raise ValueError(f"period kind {kind!r} is not one of {', '.join(KINDS)}")


def periods_closed_by(run_date: date) -> list[Period]:
    """The periods a scheduled run on ``run_date`` reports on: those that ended the day before."""
    yesterday = run_date - timedelta(days=1)
    closed = []
    if run_date.weekday() == 0:
        closed.append(period_containing("week", yesterday))
    if run_date.day == 1:
        closed.append(period_containing("month", yesterday))
    return closed
