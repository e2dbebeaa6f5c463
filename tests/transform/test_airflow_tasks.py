"""The per-model dbt tasks: the manifest goes stale when the project changes, cosmos renders one run and one
test task per model, and the build DAG keeps its contract task ids."""

from __future__ import annotations

import os
import time

import pytest

from govlake.transform import airflow_tasks


def test_manifest_is_stale_when_a_model_changes(tmp_path):
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: x\n")
    model = project / "models" / "a.sql"
    model.write_text("select 1")
    manifest = tmp_path / "manifest.json"
    assert airflow_tasks.manifest_is_stale(manifest, project), "a missing manifest is stale"
    manifest.write_text("{}")
    past = time.time() - 60
    os.utime(model, (past, past))
    os.utime(project / "dbt_project.yml", (past, past))
    assert not airflow_tasks.manifest_is_stale(manifest, project)
    model.write_text("select 2")  # edited after the manifest was written
    assert airflow_tasks.manifest_is_stale(manifest, project)


@pytest.mark.integration
def test_build_dag_has_a_run_and_a_test_task_per_model(settings, monkeypatch):
    monkeypatch.setenv("GOVLAKE_DBT_TASKS", "per_model")
    airflow_tasks.write_manifest(settings)
    from airflow.dag_processing.dagbag import DagBag

    from govlake.settings import PROJECT_DIR

    bag = DagBag(dag_folder=str(PROJECT_DIR / "dags" / "build.py"))
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags["build__libraries"]
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
    } <= ids
    first_library_task = dag.get_task("dbt_libraries.int_persons_versioned.run")
    assert any(t.startswith("validate_staging__") for t in first_library_task.upstream_task_ids), (
        "libraries must wait for the staging validation (quarantine before ranking)"
    )
