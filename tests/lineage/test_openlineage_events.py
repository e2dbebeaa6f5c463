"""The emitted events are OpenLineage RunEvents, and the receiver takes the HTTP transport's payload.

openlineage-python 1.54 ships the spec as generated, validating classes (``openlineage.client.event_v2``,
``facet_v2``), not as the JSON file: events are built from those classes (their validators check the
runId, the eventTime and every facet's schemaURL), and checked here against the spec's required fields.
If an ``OpenLineage.json`` is installed beside the client (newer clients) it is used with jsonschema too.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import openlineage.client
import pytest

from govlake.lineage.event_store import ingest_token
from govlake.lineage.events import dbt_events, ingest_event, to_json
from govlake.registry import iter_datasets

RUN_STATES = {"START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"}


def _spec_file() -> Path | None:
    root = Path(openlineage.client.__file__).resolve().parents[1]
    found = sorted(root.rglob("OpenLineage.json"))
    return found[0] if found else None


def _check(event: dict) -> None:
    assert event["schemaURL"].startswith("https://openlineage.io/spec/") and event["schemaURL"].endswith(
        "#/$defs/RunEvent"
    )
    assert event["eventType"] in RUN_STATES
    dt.datetime.fromisoformat(event["eventTime"])
    uuid.UUID(event["run"]["runId"])
    assert event["producer"].startswith("https://")
    assert event["job"]["namespace"] and event["job"]["name"]
    datasets = {(d["namespace"], d["name"]) for d in event["inputs"] + event["outputs"]}
    for ds in event["inputs"] + event["outputs"]:
        for name, facet in (ds.get("facets") or {}).items():
            assert facet["_producer"] and facet["_schemaURL"].startswith(
                "https://openlineage.io/spec/facets/"
            ), name
        lineage = (ds.get("facets") or {}).get("columnLineage")
        for column, spec in (lineage or {}).get("fields", {}).items():
            assert spec["inputFields"], column
            for ref in spec["inputFields"]:
                assert (ref["namespace"], ref["name"]) in datasets, (column, ref)
    spec = _spec_file()
    if spec is not None:
        import jsonschema

        jsonschema.validate(event, json.loads(spec.read_text()))


def test_ingest_and_dbt_events_follow_the_spec(stack, compiled_manifest):
    from govlake.lineage.collection import model_lineage

    events = [to_json(ingest_event(d, stack, "2026-12-01")) for d in iter_datasets()]
    events += [to_json(e) for e in dbt_events(model_lineage(compiled_manifest, stack), stack, "2026-12-01")]
    assert len(events) > 40
    for event in events:
        _check(event)
    household = next(
        e for e in events if e["job"]["name"] == "ingest__public_security__household_registration"
    )
    landing = household["outputs"][0]["facets"]["columnLineage"]["fields"]
    assert landing["xb"]["inputFields"][0]["field"] == "xb"  # the department's own column name
    population = next(e for e in events if e["job"]["name"] == "dbt.model.govlake.population")
    assert "gender" in population["outputs"][0]["facets"]["columnLineage"]["fields"]


@pytest.fixture
def client(stack):
    from fastapi.testclient import TestClient

    from govlake.web.app import app

    return TestClient(app)


def test_receiver_takes_the_http_transport_payload_once(stack, client, lineage_conn):
    event = to_json(ingest_event(next(iter_datasets()), stack, "2026-12-01"))
    headers = {"Authorization": f"Bearer {ingest_token(stack)}"}
    assert client.post("/api/v1/lineage", json=event).status_code == 401
    first = client.post("/api/v1/lineage", json=event, headers=headers)
    assert first.status_code == 201 and first.json()["stored"] is True
    again = client.post("/api/v1/lineage", json=event, headers=headers)
    assert again.status_code == 201 and again.json()["stored"] is False
    bad = client.post("/api/v1/lineage", json={"eventTime": "x"}, headers=headers)
    assert bad.status_code == 422 and "producer" in bad.json()["detail"]
    count = lineage_conn.execute(
        "select count(*) from platform.lineage_events where run_id = %s", (event["run"]["runId"],)
    ).fetchone()[0]
    assert count == 1


def _bare_event(job: str, inputs: list[str], outputs: list[str]) -> dict:
    """A RunEvent as an emitter without column lineage sends it (Airflow's provider for a dbt build task)."""

    def ds(name: str) -> dict:
        return {"namespace": "postgres://test", "name": name}

    return {
        "eventType": "COMPLETE",
        "eventTime": dt.datetime.now(dt.UTC).isoformat(),
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "zz_test", "name": job},
        "producer": "https://example.org/zz-test-producer",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "inputs": [ds(n) for n in inputs],
        "outputs": [ds(n) for n in outputs],
    }


def test_a_run_writing_several_datasets_without_column_lineage_states_no_cross_edges(lineage_conn):
    from govlake.lineage.event_store import store_event

    def edges(job: str) -> set[tuple[str, str]]:
        return set(
            lineage_conn.execute(
                "select source, target from platform.lineage_edges where job_namespace = 'zz_test' and job_name = %s",
                (job,),
            ).fetchall()
        )

    try:
        store_event(
            lineage_conn, _bare_event("zz_build_all", ["zz.raw_a", "zz.raw_b"], ["zz.stg_a", "zz.stg_b"])
        )
        assert edges("zz_build_all") == set()  # which input made which output is not said: no guess
        store_event(lineage_conn, _bare_event("zz_build_one", ["zz.raw_a", "zz.raw_b"], ["zz.stg_ab"]))
        ns = "postgres://test/"  # a namespace the platform does not know: the relation keeps it
        assert edges("zz_build_one") == {
            (f"{ns}zz.raw_a", f"{ns}zz.stg_ab"),
            (f"{ns}zz.raw_b", f"{ns}zz.stg_ab"),
        }
    finally:
        lineage_conn.execute("delete from platform.lineage_edges where job_namespace = 'zz_test'")
        lineage_conn.execute("delete from platform.lineage_runs where job_namespace = 'zz_test'")
        lineage_conn.execute("delete from platform.lineage_events where job_namespace = 'zz_test'")
        lineage_conn.execute("delete from platform.lineage_datasets where namespace = 'postgres://test'")
