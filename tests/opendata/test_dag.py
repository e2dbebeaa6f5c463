"""``publish__open_data``: one release task per open dataset, scheduled on the base library Assets."""

from __future__ import annotations

from pathlib import Path

from govlake.opendata.definitions import load_open_registry

DAG_FILE = Path(__file__).resolve().parents[2] / "dags" / "open_data.py"


def test_one_release_task_per_open_dataset_scheduled_on_the_base_libraries(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    monkeypatch.setenv("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    dag = bag.dags["publish__open_data"]
    names = [ds.name for ds in load_open_registry().datasets]
    tasks = {t.task_id: t for t in dag.tasks}
    releases = {f"release__{n.replace('-', '_')}" for n in names}
    assert set(tasks) == {"resolve_cycle", *releases, "refresh_cockpit", "blocked_releases"}
    # the cockpit is refreshed once every release has finished, published or blocked; a blocked one still
    # fails the run through the watcher, which runs only then
    assert tasks["refresh_cockpit"].upstream_task_ids >= releases
    assert tasks["refresh_cockpit"].trigger_rule == "all_done"
    assert tasks["blocked_releases"].upstream_task_ids == releases
    assert tasks["blocked_releases"].trigger_rule == "one_failed" and tasks["blocked_releases"].retries == 0
    for name in names:
        outlets = tasks[f"release__{name.replace('-', '_')}"].outlets
        assert [o.uri for o in outlets] == [f"s3://open/{name}"]
    condition = str(dag.timetable.asset_condition)
    assert "base_population" in condition and "base_legal_entities" in condition
    assert (
        all(t.retries >= 1 for t in dag.tasks if t.task_id != "blocked_releases")
        and dag.owner == "data-office"
    )
