"""The local stack's Airflow sends OpenLineage events to the platform's own receiver."""

from __future__ import annotations


def test_airflow_openlineage_provider_posts_to_the_platform(stack, lineage_conn, monkeypatch):
    from govlake.lineage.events import ingest_event
    from govlake.registry import iter_datasets
    from govlake.stack.airflow import airflow_env

    env = airflow_env(stack)
    for key in ("AIRFLOW__OPENLINEAGE__TRANSPORT", "AIRFLOW__OPENLINEAGE__NAMESPACE"):
        monkeypatch.setenv(key, env[key])
    from airflow.providers.openlineage.plugins.adapter import OpenLineageAdapter

    client = OpenLineageAdapter().get_or_create_openlineage_client()
    assert client.transport.url == stack.web_url and client.transport.endpoint == "api/v1/lineage"
    event = ingest_event(next(iter(iter_datasets())), stack, "2026-12-02")
    client.emit(event)
    stored = lineage_conn.execute(
        "select job_name from platform.lineage_events where run_id = %s", (event.run.runId,)
    ).fetchall()
    assert stored == [(event.job.name,)]
