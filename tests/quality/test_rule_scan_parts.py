"""How the one pass cuts a batch into parts (``rule_scan.batch_parts`` / ``part_sql``); that the parts'
records equal the whole batch's is tested against PostgreSQL in test_rule_scan.py."""

from __future__ import annotations

import pytest

from govlake.quality.rule_scan import PARTS_FROM_ROWS, batch_parts, part_sql


def test_a_small_batch_is_one_part_and_a_large_one_a_part_per_core(monkeypatch) -> None:
    monkeypatch.delenv("GOVLAKE_VALIDATION_PARTS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert batch_parts(PARTS_FROM_ROWS - 1) == 1
    assert batch_parts(PARTS_FROM_ROWS) == 2
    monkeypatch.setattr("os.cpu_count", lambda: 32)
    assert batch_parts(10_000_000) == 4  # more connections than that only queue on the server


def test_the_setting_wins_and_a_bad_one_is_named() -> None:
    assert batch_parts(10, "3") == 3
    assert batch_parts(10_000_000, "1") == 1
    assert batch_parts(10, "0") == 1
    with pytest.raises(ValueError, match="GOVLAKE_VALIDATION_PARTS must be a whole number, not 'two'"):
        batch_parts(10, "two")


def test_every_row_is_in_exactly_one_part() -> None:
    batch = "select * from staging.x where _logical_date = date '2026-01-15'"
    assert part_sql(batch, 0, 1) == batch
    parts = [part_sql(batch, part, 3) for part in range(3)]
    assert [p.endswith(f"where mod(p._source_row, 3) = {i}") for i, p in enumerate(parts)] == [True] * 3
    assert all(f"from ({batch}) AS p" in p for p in parts)
