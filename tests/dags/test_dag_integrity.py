"""DAG integrity: every DAG file imports, and every DAG has an owner, tags, retries and a doc."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
DAG_ID = re.compile(r"^(ingest|build|publish|export|quality|dispatch)__[a-z0-9_]+(__[a-z0-9_]+)?$")


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    import os

    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}, dagbag.import_errors


def test_one_ingest_dag_per_registry_dataset(dagbag):
    from govlake.registry import iter_datasets

    expected = {ds.dag_id for ds in iter_datasets()}
    assert expected <= set(dagbag.dag_ids)
    assert {"build__libraries", "publish__libraries"} <= set(dagbag.dag_ids)


def test_dag_conventions(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert DAG_ID.match(dag_id), f"{dag_id} does not say what it does (<verb>__<what>)"
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md, f"{dag_id} has no doc_md"
        assert not dag.catchup, f"{dag_id} would backfill on unpause"
        for t in dag.tasks:
            assert t.owner == "data-office", f"{dag_id}.{t.task_id} owner {t.owner}"


def test_ingest_tasks_retry(dagbag):
    for dag_id, dag in dagbag.dags.items():
        if dag_id.startswith("ingest__"):
            for t in dag.tasks:
                assert t.retries >= 1, f"{dag_id}.{t.task_id} has no retries"


def test_cycle_is_chained_by_assets(dagbag):
    from govlake.orchestration.assets import AUDIT_LIBRARIES
    from govlake.registry import iter_datasets

    build = dagbag.dags["build__libraries"]
    publish = dagbag.dags["publish__libraries"]
    release = build.get_task("release")
    assert AUDIT_LIBRARIES in release.outlets
    assert "audit_libraries" in str(publish.timetable.asset_condition)
    # The daily build waits for the daily deliveries; less frequent ones are picked up when they land.
    raw_uris = {f"s3://raw/{ds.department}/{ds.code}" for ds in iter_datasets() if ds.is_daily}
    condition = str(build.timetable.asset_condition)
    assert all(uri in condition for uri in raw_uris), condition
