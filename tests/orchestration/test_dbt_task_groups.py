"""The per-model dbt tasks: the manifest goes stale when the project changes, cosmos renders one run and one
test task per model, and the build DAG keeps its contract task ids."""

from __future__ import annotations

import json
import os
import time
from datetime import date, timedelta

import pytest

from govlake.orchestration import task_bodies
from govlake.transform import manifest as dbt_manifest


def test_manifest_is_stale_when_a_model_changes(tmp_path):
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: x\n")
    model = project / "models" / "a.sql"
    model.write_text("select 1")
    manifest = tmp_path / "manifest.json"
    assert dbt_manifest.manifest_is_stale(manifest, project), "a missing manifest is stale"
    manifest.write_text("{}")
    past = time.time() - 60
    os.utime(model, (past, past))
    os.utime(project / "dbt_project.yml", (past, past))
    assert not dbt_manifest.manifest_is_stale(manifest, project)
    model.write_text("select 2")  # edited after the manifest was written
    assert dbt_manifest.manifest_is_stale(manifest, project)


def _build_dag(monkeypatch, mode: str | None):
    from airflow.dag_processing.dagbag import DagBag

    from govlake.settings import PROJECT_DIR

    if mode is None:
        monkeypatch.delenv("GOVLAKE_DBT_TASKS", raising=False)
    else:
        monkeypatch.setenv("GOVLAKE_DBT_TASKS", mode)
    bag = DagBag(dag_folder=str(PROJECT_DIR / "dags" / "build.py"))
    assert not bag.import_errors, bag.import_errors
    return bag.dags["build__libraries"]


def _upstream_closure(dag, task_id: str) -> set[str]:
    seen: set[str] = set()
    todo = [task_id]
    while todo:
        for up in dag.get_task(todo.pop()).upstream_task_ids:
            if up not in seen:
                seen.add(up)
                todo.append(up)
    return seen


@pytest.fixture(scope="module")
def manifest(settings) -> dict:
    dbt_manifest.write_manifest(settings)
    return json.loads(dbt_manifest.MANIFEST_PATH.read_text(encoding="utf-8"))


@pytest.mark.integration
def test_build_dag_has_a_run_and_a_test_task_per_model_by_default(manifest, monkeypatch):
    dag = _build_dag(monkeypatch, None)
    ids = set(dag.task_dict)
    for model in ("population", "legal_entities", "population_conflicts", "administrative_divisions"):
        assert {f"dbt_libraries.{model}.run", f"dbt_libraries.{model}.test"} <= ids
    assert "dbt_staging.stg_public_security__household_registrations.run" in ids
    assert {
        "gate",
        "record_blocked",
        "validate_library__population",
        "record_history",
        "publish_dbt_docs",
        "prepare_libraries",
    } <= ids
    upstream = _upstream_closure(dag, "dbt_libraries.int_persons_versioned.run")
    assert "prepare_libraries" in upstream
    assert {t for t in ids if t.startswith("validate_staging__")} <= upstream, (
        "libraries must wait for every staging validation (quarantine before ranking)"
    )
    producer = dag.get_task("dbt_libraries.dbt_producer_watcher")
    assert "prepare_libraries" in str(producer.full_refresh), (
        "a re-run of an earlier date refreshes incrementals"
    )
    assert (producer.select, producer.exclude) == ("tag:libraries", "tag:history")
    # the cycle date reaches dbt as GOVLAKE_LOGICAL_DATE: a new --vars value each day would re-parse the project
    assert "resolve_cycle" in producer.env["GOVLAKE_LOGICAL_DATE"] and not producer.vars


@pytest.mark.integration
@pytest.mark.parametrize("mode", [None, "per_model_local"])
def test_a_model_test_task_runs_only_the_models_own_tests(manifest, monkeypatch, mode):
    """Local test tasks, and watcher test sensors when they re-run dbt on a retry, select the model's own
    tests only: a relationship test to a model not rebuilt yet is never picked up eagerly."""
    dag = _build_dag(monkeypatch, mode)
    tests = [t for t in dag.tasks if t.task_id.startswith("dbt_libraries.") and t.task_id.endswith(".test")]
    assert len(tests) >= 20
    for task in tests:
        assert task.indirect_selection == "cautious", task.task_id


@pytest.mark.integration
def test_no_test_spans_the_staging_and_the_library_group(manifest):
    """Each group's single `dbt build` (watcher) must hold every parent of every test it runs: a test whose
    parents sat in both groups would run in the staging build before its library parent is rebuilt."""
    nodes = manifest["nodes"]

    def group(uid: str) -> str:
        tags = set(nodes.get(uid, {}).get("tags", []))
        return "staging" if tags & {"staging", "reference"} else "libraries" if "libraries" in tags else uid

    spanning = [
        uid
        for uid, node in nodes.items()
        if node["resource_type"] == "test"
        and len({group(p) for p in node["depends_on"].get("nodes", []) if p in nodes}) > 1
    ]
    assert not spanning, f"tests with parents in both dbt groups: {spanning}"


@pytest.mark.integration
def test_local_mode_runs_every_multi_parent_test_after_all_its_parents(manifest, monkeypatch):
    """With a dbt process per task, a relationship test between two library models is its own task
    downstream of both model tasks — none is lost (cautious selection leaves it out of each model's test
    task) and none runs early."""
    dag = _build_dag(monkeypatch, "per_model_local")
    nodes = manifest["nodes"]
    checked = 0
    for unique_id, node in nodes.items():
        if node["resource_type"] != "test":
            continue
        parents = sorted(set(node["depends_on"]["nodes"]))
        if len(parents) < 2:
            continue
        if "libraries" not in {t for p in parents for t in nodes.get(p, {}).get("tags", [])}:
            continue
        task_id = f"dbt_libraries.{node['name']}_test"
        assert task_id in dag.task_dict, f"{unique_id} has no task of its own"
        upstream = _upstream_closure(dag, task_id)
        for parent in parents:
            parent_node = nodes[parent]
            if "libraries" in parent_node.get("tags", []) and parent_node["resource_type"] == "model":
                assert f"dbt_libraries.{parent_node['name']}.run" in upstream, (task_id, parent)
        checked += 1
    assert checked >= 10, "the project has a dozen relationships between library models"


@pytest.mark.integration
def test_whole_build_tasks_when_opted_out(manifest, monkeypatch):
    dag = _build_dag(monkeypatch, "whole")
    assert {"dbt_staging", "dbt_libraries"} <= set(dag.task_dict)
    assert not any(t.startswith("dbt_libraries.") for t in dag.task_dict)


@pytest.mark.integration
def test_prepare_libraries_refreshes_only_when_incrementals_are_ahead(stack, warehouse):
    """A re-run of an earlier date than the incremental models hold rebuilds them in full (as the whole
    build does); the same or a later date builds incrementally. Checked on a scratch audit schema holding
    a build for 2026-03-02, then through prepare_libraries on the stack's own audit schema."""
    from govlake.transform.runner import incremental_state_is_ahead

    prefix = f"zz_prepare_{os.getpid()}_"
    warehouse.execute(f"create schema {prefix}audit")
    try:
        warehouse.execute(f"create table {prefix}audit.int_persons_versioned (_built_for_date date)")
        assert not incremental_state_is_ahead(stack, prefix, "2026-03-01"), "an empty model holds no build"
        warehouse.execute(f"insert into {prefix}audit.int_persons_versioned values (date '2026-03-02')")
        assert incremental_state_is_ahead(stack, prefix, "2026-03-01") is True
        assert incremental_state_is_ahead(stack, prefix, "2026-03-02") is False
        assert incremental_state_is_ahead(stack, prefix, "2026-03-03") is False
    finally:
        warehouse.execute(f"drop schema {prefix}audit cascade")
    # on the stack's audit schema (built or not yet): a date after every build never refreshes
    later = (date.today() + timedelta(days=3650)).isoformat()
    assert task_bodies.prepare_libraries(later, stack) == {"logical_date": later, "full_refresh": False}
