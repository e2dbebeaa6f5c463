"""plugins/govlake_portal.py: Airflow loads it, and a DAG's datasets link to their portal pages."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import requests

from govlake.settings import PROJECT_DIR

PLUGIN_FILE = Path(PROJECT_DIR) / "plugins" / "govlake_portal.py"
INGEST_DAG = "ingest__civil_affairs__marriage_registrations"
INGEST_KEY = "civil_affairs__marriage_registrations"


@pytest.fixture(scope="module")
def plugin():
    spec = importlib.util.spec_from_file_location("govlake_portal_under_test", PLUGIN_FILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_plugin_declares_its_parts(plugin):
    from airflow.plugins_manager import AirflowPlugin, is_valid_plugin

    cls = plugin.GovlakePortalPlugin
    assert issubclass(cls, AirflowPlugin) and is_valid_plugin(cls)
    assert [link.name for link in cls.global_operator_extra_links] == ["数据门户"]
    views = {v["destination"]: v for v in cls.external_views}
    assert views["dag"]["href"] == "/govlake-portal/dags/{DAG_ID}" and views["dag"]["url_route"]
    assert cls.fastapi_apps[0]["url_prefix"] == "/govlake-portal"


def test_every_task_of_an_ingest_dag_links_to_its_resource_page(plugin, monkeypatch):
    from airflow.models.taskinstancekey import TaskInstanceKey

    from govlake.orchestration.ingest_dags import ingest_dags

    monkeypatch.setenv("GOVLAKE_PORTAL_URL", "https://portal.example.gov.cn/")
    dag = next(d for d in ingest_dags() if d.dag_id == INGEST_DAG)
    link = plugin.PortalDatasetLink()
    urls = {
        task.task_id: link.get_link(task, ti_key=TaskInstanceKey(INGEST_DAG, task.task_id, "manual__1"))
        for task in dag.tasks
    }
    assert "load_raw" in urls and len(urls) > 1  # the task with the outlet, and the ones before it
    assert set(urls.values()) == {f"https://portal.example.gov.cn/catalog/r/{INGEST_KEY}?tab=quality"}


def test_asset_uris_map_to_portal_pages():
    from govlake.web.portal_links import asset_link, dag_links

    assert asset_link("s3://raw/health/birth_certificates").path == "/catalog/r/health__birth_certificates"
    assert asset_link("postgres://warehouse:5432/govlake/base/population").path == "/catalog/r/population"
    assert asset_link("s3://open/population-by-county-gender-age").path == (
        "/open/dataset/population-by-county-gender-age"
    )
    assert asset_link("postgres://warehouse/govlake/audit/libraries") is None
    assert dag_links("build__libraries", ["postgres://warehouse/govlake/audit/libraries"]) == []


@pytest.mark.integration
def test_the_stacks_airflow_serves_the_dag_tab(stack):
    """The local stack's API server loaded the plugin (plugins folder) and lists a DAG's datasets."""
    from govlake.cycle.airflow_client import AirflowClient

    client = AirflowClient(stack)
    plugins = client.request("GET", "/plugins", params={"limit": 100}).json()["plugins"]
    ours = next(p for p in plugins if p["name"] == "govlake_portal")
    assert {v["url_route"] for v in ours["external_views"] if v.get("url_route")} == {"govlake-portal"}
    client.wait_for_dags([INGEST_DAG, "publish__open_data"])

    base = stack.airflow_url
    links = requests.get(f"{base}/govlake-portal/dags/{INGEST_DAG}/links", timeout=30).json()
    assert links == [
        {"label": INGEST_KEY, "kind": "resource", "url": f"{stack.web_url}/catalog/r/{INGEST_KEY}"}
    ]
    open_links = requests.get(f"{base}/govlake-portal/dags/publish__open_data/links", timeout=30).json()
    assert {link["kind"] for link in open_links} == {"open"} and len(open_links) >= 3
    assert all(link["url"].startswith(f"{stack.web_url}/open/dataset/") for link in open_links)

    page = requests.get(f"{base}/govlake-portal/dags/{INGEST_DAG}", timeout=30)
    assert page.status_code == 200 and "民政厅" in page.text
    assert f'href="{stack.web_url}/catalog/r/{INGEST_KEY}"' in page.text


def test_docker_compose_airflow_loads_the_plugins_folder():
    """Every Airflow service of docker-compose.yaml mounts plugins/ where [core] plugins_folder points."""
    import yaml

    compose = yaml.safe_load((Path(PROJECT_DIR) / "docker-compose.yaml").read_text(encoding="utf-8"))
    env = dict(
        line.split("=", 1)
        for line in (Path(PROJECT_DIR) / "deploy" / "compose.env").read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    )
    folder = env["AIRFLOW__CORE__PLUGINS_FOLDER"]
    # `airflow …`, or `python -m govlake.stack.preload …` (airflow with the task code imported first)
    preloaded = ["python", "-m", "govlake.stack.preload"]
    airflow = {
        name: s
        for name, s in compose["services"].items()
        if s.get("command", [None])[0] == "airflow" or s.get("command", [])[:3] == preloaded
    }
    assert {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor"} <= set(airflow)
    for name, service in airflow.items():
        assert f"./plugins:{folder}:ro" in service.get("volumes", []), name
    assert env["GOVLAKE_PORTAL_URL"].startswith("http")


@pytest.mark.integration
def test_the_api_server_gives_every_task_instance_its_portal_link(stack):
    """Airflow's extra-links API (what the task instance page shows) answers 数据门户 for each task.

    It reads a task instance of the ingest DAG: an existing run's, or, while the DAG is paused (as it is
    at creation), a run made for the check and deleted after — a paused DAG's run is never executed."""
    from govlake.cycle.airflow_client import AirflowClient

    client = AirflowClient(stack)
    client.wait_for_dags([INGEST_DAG])
    runs = client._json("GET", f"/dags/{INGEST_DAG}/dagRuns", params={"limit": 1})["dag_runs"]
    probe = None
    if runs:
        run_id = runs[0]["dag_run_id"]
    elif client._json("GET", f"/dags/{INGEST_DAG}")["is_paused"]:
        probe = run_id = "portal_link_check"
        client._json("POST", f"/dags/{INGEST_DAG}/dagRuns", json={"logical_date": None, "dag_run_id": run_id})
    else:
        pytest.skip(f"{INGEST_DAG} has no run and is unpaused: a run made here would execute")
    try:
        expected = f"{stack.web_url}/catalog/r/{INGEST_KEY}?tab=quality"
        tasks = client.task_instances(INGEST_DAG, run_id)
        assert {t["task_id"] for t in tasks} >= {"load_raw"}
        for task in tasks:
            links = client._json(
                "GET", f"/dags/{INGEST_DAG}/dagRuns/{run_id}/taskInstances/{task['task_id']}/links"
            )["extra_links"]
            assert links == {"数据门户": expected}, task["task_id"]
    finally:
        if probe:
            client.request("DELETE", f"/dags/{INGEST_DAG}/dagRuns/{probe}")
