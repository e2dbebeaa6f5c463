"""The dbt project parses, its sources follow the registry, its unit tests pass, and the runner reports errors."""

from __future__ import annotations

import pytest

from govlake.transform import DbtError, build_libraries, build_staging, run_dbt
from govlake.transform.sources import freshness, render_raw_sources, sources_path


@pytest.mark.lint  # a full parse of the project: tens of seconds of CPU on a fresh checkout
def test_dbt_parse_succeeds():
    result = run_dbt(["parse"])
    assert result.success
    assert not any("[WARNING]" in line or "Deprecat" in line for line in result.output_tail), (
        result.output_tail
    )


def test_raw_sources_file_is_generated_from_the_registry():
    assert sources_path().read_text(encoding="utf-8") == render_raw_sources(), (
        "dbt_project/models/staging/_raw__sources.yml is stale: run `python -m govlake.transform.sources`"
    )


def test_daily_freshness_thresholds():
    assert freshness("每日") == {
        "warn_after": {"count": 26, "period": "hour"},
        "error_after": {"count": 50, "period": "hour"},
    }


def test_bad_logical_date_is_refused_before_dbt_runs():
    with pytest.raises(ValueError):
        run_dbt(["build"], logical_date="01/01/1999")


@pytest.mark.integration
def test_unit_tests_pass(warehouse, schema_prefix, settings):
    # unit tests read the column types of their inputs from the warehouse, so the models must exist
    build_staging("1999-01-01", settings, schema_prefix=schema_prefix)
    build_libraries("1999-01-01", settings, schema_prefix=schema_prefix)
    result = run_dbt(["test", "--select", "test_type:unit"], settings, schema_prefix=schema_prefix)
    unit = [n for n in result.nodes if n.unique_id.startswith("unit_test.")]
    assert len(unit) >= 4 and all(n.status == "pass" for n in unit), result.summary()


@pytest.mark.integration
def test_missing_logical_date_fails_with_a_clear_error(warehouse, schema_prefix, settings):
    with pytest.raises(DbtError, match="logical_date"):
        run_dbt(["build", "--select", "int_persons_versioned"], settings, schema_prefix=schema_prefix)
