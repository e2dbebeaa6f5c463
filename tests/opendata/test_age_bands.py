"""The open datasets' age bands, computed by PostgreSQL, against whole years of age computed in Python."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from psycopg import sql

from govlake.opendata.rules import Rule, age_band_labels, expressions

BANDS = [[0, 14], [15, 24], [25, 34], [35, 44], [45, 54], [55, 64], [65, None]]


def whole_years(born: date, at: date) -> int:
    return at.year - born.year - ((at.month, at.day) < (born.month, born.day))


def expected_band(born: date, at: date) -> str | None:
    age = whole_years(born, at)
    for (lo, hi), label in zip(BANDS, age_band_labels(BANDS), strict=True):
        if age >= lo and (hi is None or age <= hi):
            return label
    return None  # born after the date


@pytest.mark.parametrize("at", [date(2026, 1, 17), date(2024, 2, 29), date(2025, 2, 28), date(2025, 3, 1)])
def test_each_birth_date_falls_in_the_band_of_its_whole_years(warehouse, at):
    # every birth date around each band edge (and leap days), a day either side of each birthday
    born = sorted(
        {
            edge + timedelta(days=shift)
            for years in (0, 1, 14, 15, 16, 24, 25, 34, 35, 44, 45, 54, 55, 64, 65, 66, 100)
            for edge in (
                date(at.year - years, at.month, min(at.day, 28)),
                date(at.year - years, 2, 28),
                date(at.year - years, 3, 1),
            )
            for shift in (-1, 0, 1)
        }
        | {date(2000, 2, 29), date(2008, 2, 29), date(2020, 2, 29), at + timedelta(days=1)}
    )
    (band,) = expressions(Rule("age_bands", BANDS), "birth_date", "d")
    query = sql.SQL("select s.birth_date, {} from unnest(%(born)s::date[]) as s (birth_date)").format(band)
    got = dict(warehouse.execute(query, {"d": at, "born": born}).fetchall())
    assert {b: got[b] for b in born} == {b: expected_band(b, at) for b in born}
