"""The suite files themselves: every expectation is tagged, every row rule renders to runnable SQL."""

from __future__ import annotations

import re
from collections import Counter

from govlake.quality.suites import DIMENSIONS, ROW_RULE_TYPE, SEVERITIES, expectations_dir, load_suites

EXPECTED_SUITES = {
    "stg_public_security__household_registrations": "staging.stg_public_security__household_registrations",
    "stg_market_regulation__market_entities": "staging.stg_market_regulation__market_entities",
    "stg_human_resources__social_insurance_enrollments": "staging.stg_human_resources__social_insurance_enrollments",
    "population": "audit.population",
    "legal_entities": "audit.legal_entities",
    # issue 5: the seven departments added to the registry
    "stg_health__birth_certificates": "staging.stg_health__birth_certificates",
    "stg_civil_affairs__marriage_registrations": "staging.stg_civil_affairs__marriage_registrations",
    "stg_civil_affairs__subsistence_allowances": "staging.stg_civil_affairs__subsistence_allowances",
    "stg_agriculture__crop_productions": "staging.stg_agriculture__crop_productions",
    "stg_statistics__macro_indicators": "staging.stg_statistics__macro_indicators",
    "stg_natural_resources__administrative_divisions": "staging.stg_natural_resources__administrative_divisions",
    "stg_transport__passenger_volumes": "staging.stg_transport__passenger_volumes",
    "stg_finance__subsidy_payments": "staging.stg_finance__subsidy_payments",
}


def test_one_suite_per_target() -> None:
    assert {name: s.target for name, s in load_suites().items()} == EXPECTED_SUITES


def test_every_expectation_carries_dimension_severity_and_description() -> None:
    for suite in load_suites().values():
        for rule in suite.rules:
            assert rule.dimension in DIMENSIONS, (suite.name, rule.rule)
            assert rule.severity in SEVERITIES, (suite.name, rule.rule)
            assert rule.description_zh, (suite.name, rule.rule)


def test_staging_rules_are_sql_row_rules_with_a_threshold_when_blocking() -> None:
    for suite in load_suites().values():
        if suite.kind != "staging":
            continue
        assert suite.partition_column == "_logical_date"
        for rule in suite.rules:
            assert rule.type == ROW_RULE_TYPE, (suite.name, rule.rule)
            if rule.blocking:
                assert 0.5 <= rule.mostly < 1.0, (suite.name, rule.rule)


def test_library_gates_block_on_any_failure() -> None:
    for name in ("population", "legal_entities"):
        suite = load_suites()[name]
        assert all(r.blocking and r.mostly == 1.0 for r in suite.rules)
        assert {"expect_table_row_count_to_be_between", "expect_column_values_to_be_unique"} <= {
            r.type for r in suite.rules
        }


def test_row_rule_sql_is_rendered_once_and_shared() -> None:
    suite = load_suites()["stg_public_security__household_registrations"]
    rule = suite.rule("resident_id_check_digit")
    assert "{{" not in rule.query and "10X98765432" in rule.query
    failing = suite.failing_rows_sql(rule, "date '1999-01-01'")
    assert "{batch}" not in failing and "_logical_date = date '1999-01-01'" in failing


def _readme_rows() -> dict[str, tuple[str, str]]:
    """The suites table of expectations/README.md: relation → (blocking / warning, rules per dimension)."""
    text = (expectations_dir() / "README.md").read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"`(staging|audit)\.\w+`", cells[0]):
            rows[cells[0].strip("`")] = (cells[2], cells[3])
    return rows


def test_readme_lists_every_suite_with_its_dimensions() -> None:
    expected = {}
    for suite in load_suites().values():
        counts = Counter(r.dimension for r in suite.rules)
        blocking = sum(r.blocking for r in suite.rules)
        expected[suite.target] = (
            f"{blocking} / {len(suite.rules) - blocking}",
            " · ".join(f"{d} {counts[d]}" for d in DIMENSIONS if counts[d]),
        )
    assert len(expected) == 13
    assert _readme_rows() == expected, "update the suites table in expectations/README.md"
