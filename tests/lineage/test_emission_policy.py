"""What Airflow's OpenLineage provider emits on the stack (govlake.stack.airflow.OPENLINEAGE_EMISSION_POLICY),
resolved by the provider itself: every task emits without its source code, except cosmos's per-model
watcher tasks, whose models' lineage the build's collect_lineage sends at column level."""

from __future__ import annotations

import json

import pytest

from govlake.stack.airflow import OPENLINEAGE_EMISSION_POLICY


@pytest.mark.parametrize(
    ("operator", "emits"),
    [
        ("airflow.providers.standard.decorators.python._PythonDecoratedOperator", True),
        ("cosmos.operators.watcher.DbtProducerWatcherOperator", True),
        ("cosmos.operators.watcher.DbtRunWatcherOperator", False),
        ("cosmos.operators.watcher.DbtTestWatcherOperator", False),
        ("cosmos.operators.watcher.DbtSeedWatcherOperator", False),
        ("cosmos.operators.local.DbtRunLocalOperator", True),
    ],
)
def test_the_provider_resolves_the_stacks_policy(monkeypatch, operator, emits):
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__EMISSION_POLICY", json.dumps(OPENLINEAGE_EMISSION_POLICY))
    from airflow.providers.openlineage.utils import emission_policy

    rules = emission_policy._parse_user_rules()
    assert len(rules) == len(OPENLINEAGE_EMISSION_POLICY)  # a rule the provider rejects is skipped silently
    policy, _ = emission_policy._resolve_task_policy_from_conf_only(rules, operator, "build__libraries", "t")
    assert policy.emit is emits
    assert policy.include_source_code is False
