"""Every alert runs the enrichers: the datasets an alert is about, and a failing enricher never stops it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from govlake import alerts
from govlake.orchestration.dag_defaults import affected_consumers_lines, alert_datasets
from govlake.settings import Settings


def test_the_datasets_an_alert_is_about() -> None:
    assert alert_datasets({"datasets": ["a__b", "c__d"]}) == ["a__b", "c__d"]
    assert alert_datasets({"kind": "timeliness", "department": "finance", "dataset": "subsidy_payments"}) == [
        "finance__subsidy_payments"
    ]
    assert alert_datasets({"kind": "task_failure", "dag_id": "ingest__health__birth_certificates"}) == [
        "health__birth_certificates"
    ]
    assert alert_datasets({"kind": "task_failure", "dag_id": "build__libraries"}) == []


def test_an_alert_about_no_dataset_asks_nothing() -> None:
    fields = {"kind": "task_failure", "dag_id": "publish__libraries"}
    assert affected_consumers_lines(fields) == [] and "affected" not in fields


def test_a_failing_enricher_is_skipped_and_the_others_still_add(caplog) -> None:
    def broken(fields: dict) -> list[str]:
        raise RuntimeError("graph unreachable")

    def extra(fields: dict) -> list[str]:
        fields["extra"] = True
        return ["extra: yes"]

    saved = list(alerts._ENRICHERS)
    try:
        alerts._ENRICHERS[:] = []
        alerts.add_enricher(broken)
        alerts.add_enricher(extra)
        alerts.add_enricher(extra)  # once only
        fields: dict = {}
        assert alerts.enrich(["a"], fields) == ["a", "extra: yes"]
        assert fields == {"extra": True}
        assert "alert enricher broken failed" in caplog.text
    finally:
        alerts._ENRICHERS[:] = saved


@pytest.fixture
def listener(webhook_listener) -> Iterator[tuple[str, list[dict]]]:
    with webhook_listener("/hook") as hook:
        yield hook


def test_a_held_batch_alert_names_batches_rules_and_datasets(listener, monkeypatch) -> None:
    from govlake.orchestration import task_bodies

    url, received = listener
    monkeypatch.setattr("govlake.settings.get_settings", lambda: replace(Settings(), alert_webhook_url=url))
    monkeypatch.setattr(
        "govlake.lineage.queries.affected_consumers", lambda key: [f"省民政厅 ({key})", "export:x"]
    )
    results = [
        {"success": True, "held_batches": [], "blocking_failures": []},
        {
            "success": False,
            "held_batches": ["health__birth_certificates__2026-12-01"],
            "blocking_failures": [
                "staging_health__birth_certificates: mother_id_valid [accuracy] on mother_id"
            ],
        },
    ]
    assert task_bodies.alert_held_batches("2026-12-01", results) == ["health__birth_certificates__2026-12-01"]
    (message,) = list(received)
    assert message["govlake"]["kind"] == "held_batches"
    assert message["govlake"]["datasets"] == ["health__birth_certificates"]
    assert message["govlake"]["affected"] == ["省民政厅 (health__birth_certificates)", "export:x"]
    text = message["text"]["content"]
    assert "held: health__birth_certificates__2026-12-01" in text
    assert "mother_id_valid" in text and "affected: 省民政厅 (health__birth_certificates), export:x" in text
    # nothing held, nothing sent
    assert task_bodies.alert_held_batches("2026-12-01", results[:1]) == []
    assert len(received) == 1
