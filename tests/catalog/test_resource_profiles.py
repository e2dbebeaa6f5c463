"""画像: the profile publish computes for a resource, stored for the portal, revealing nothing the
exchange masks (ranges and top values only for unconditionally shared, non-personal 一般 items)."""

from __future__ import annotations

import datetime as dt

import pytest

pytestmark = pytest.mark.integration

DAY = dt.date(1999, 1, 1)


def test_profile_of_a_dataset_is_stored_and_safe(zone, platform):
    from govlake.catalog.resource_profiles import profile_entry, profile_resources

    profile = profile_entry(platform, zone.entry)
    assert profile["relation"] == f"raw.{zone.resource}" and profile["rows"] == 4
    columns = {c["name"]: c for c in profile["columns"]}
    assert columns["phone"]["null_rate"] == 0.5 and columns["phone"]["distinct"] == 2
    assert columns["record_id"]["top"] and columns["record_id"]["distinct"] == 4
    for personal in ("resident_id", "name", "phone", "diagnosis", "weight_grams", "division_code"):
        assert columns[personal]["top"] == [] and columns[personal]["min"] is None, personal
    assert columns["birth_date"]["min"] == "2026-01-02" and columns["birth_date"]["max"] == "2026-01-05"
    try:
        done = profile_resources(DAY, zone.settings)
        assert done[zone.resource] == 4
        stored = platform.execute(
            "select row_count, jsonb_array_length(columns) from platform.resource_profiles "
            "where resource_key = %s and logical_date = %s",
            (zone.resource, DAY),
        ).fetchone()
        assert stored == (4, len(profile["columns"]))
    finally:
        platform.execute("delete from platform.resource_profiles where logical_date = %s", (DAY,))


def test_a_large_table_is_profiled_on_one_sample(zone, platform, monkeypatch):
    """Above SAMPLE_ABOVE rows every statistic reads one Bernoulli sample, drawn once; the count stays exact."""
    from govlake.catalog import resource_profiles

    monkeypatch.setattr(resource_profiles, "SAMPLE_ABOVE", 2)
    for _ in range(5):
        profile = resource_profiles.profile_entry(platform, zone.entry)
        assert profile["rows"] == 4
        columns = {c["name"]: c for c in profile["columns"]}
        assert all(c["sampled"] for c in columns.values())
        # record_id is unique: the sample holds `distinct` rows, and its top values are those same rows
        record_id = columns["record_id"]
        assert len(record_id["top"]) == record_id["distinct"] and all(c == 1 for _, c in record_id["top"])
        assert columns["phone"]["top"] == []  # still masked
        assert platform.execute("select to_regclass('pg_temp.profile_sample')").fetchone()[0] is None
