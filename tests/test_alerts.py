"""The failure webhook's payload styles (DingTalk, WeCom, Slack, generic) and a real POST of each."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from govlake.alerts import ALERT_STYLES, alert_payload, send_alert
from govlake.settings import Settings, load_settings

TITLE = "govlake 任务失败: ingest__finance__subsidy_payments.load_raw"
LINES = [
    "run: manual__2026-01-01T00:00:00+00:00",
    "error: IngestError: <class 'x'> & more",
    "log: http://127.0.0.1:8080/dags/x/runs/y/tasks/load_raw?try_number=1",
]
FIELDS = {"kind": "task_failure", "dag_id": "ingest__finance__subsidy_payments", "try_number": 1}


def test_text_is_the_default_and_the_shape_that_existed() -> None:
    assert load_settings({"GOVLAKE_HOME": "/nonexistent"}).alert_webhook_style == "text"
    payload = alert_payload(TITLE, LINES, FIELDS)
    assert payload == {
        "msgtype": "text",
        "text": {"content": "\n".join([TITLE, *LINES])},
        "title": TITLE,
        "govlake": FIELDS,
    }


def test_dingtalk_markdown() -> None:
    payload = alert_payload(TITLE, LINES, FIELDS, "dingtalk")
    assert set(payload) == {"msgtype", "markdown"} and payload["msgtype"] == "markdown"
    assert set(payload["markdown"]) == {"title", "text"}
    assert payload["markdown"]["title"] == TITLE
    assert payload["markdown"]["text"].startswith(f"#### {TITLE}\n\n- run: ")
    assert "\n\n- log: http://127.0.0.1:8080/" in payload["markdown"]["text"]


def test_wecom_markdown() -> None:
    payload = alert_payload(TITLE, LINES, FIELDS, "wecom")
    assert payload == {
        "msgtype": "markdown",
        "markdown": {"content": "\n".join([f"**{TITLE}**", *(f"> {line}" for line in LINES)])},
    }


def test_slack_blocks_escape_markup_and_respect_limits() -> None:
    payload = alert_payload("任" * 200, LINES, FIELDS, "slack")
    assert set(payload) == {"text", "blocks"} and payload["text"] == "任" * 200
    header, section = payload["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": "任" * 150}}
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    assert "IngestError: &lt;class 'x'&gt; &amp; more" in section["text"]["text"]
    long = alert_payload(TITLE, ["x" * 5000], FIELDS, "slack")
    assert len(long["blocks"][1]["text"]["text"]) == 3000


def test_generic_carries_the_fields_for_a_relay() -> None:
    assert alert_payload(TITLE, LINES, FIELDS, "generic") == {
        "title": TITLE,
        "text": "\n".join([TITLE, *LINES]),
        "govlake": FIELDS,
    }


def test_an_unknown_style_names_the_setting_and_the_choices() -> None:
    with pytest.raises(ValueError, match="GOVLAKE_ALERT_WEBHOOK_STYLE is 'teams'; use one of text, dingtalk"):
        alert_payload(TITLE, LINES, FIELDS, "teams")


@pytest.fixture
def listener(webhook_listener) -> Iterator[tuple[str, list[dict]]]:
    with webhook_listener("/hook") as hook:
        yield hook


def test_each_style_is_posted_as_utf8_json(listener, monkeypatch) -> None:
    # the payload as built here, without the enrichers another module may have registered in this process
    monkeypatch.setattr("govlake.alerts._ENRICHERS", [])
    url, received = listener
    base = Settings(alert_webhook_url=url)
    for style in ALERT_STYLES:
        assert send_alert(TITLE, LINES, FIELDS, replace(base, alert_webhook_style=style))
    assert list(received) == [alert_payload(TITLE, LINES, FIELDS, s) for s in ALERT_STYLES]
    assert set(received.content_types) == {"application/json; charset=utf-8"}
    # A misconfigured style is logged, not raised: the task's own failure must still surface.
    assert not send_alert(TITLE, LINES, FIELDS, replace(base, alert_webhook_style="teams"))
    assert len(received) == len(ALERT_STYLES)
