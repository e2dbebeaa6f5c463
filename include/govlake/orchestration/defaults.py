"""Defaults every govlake DAG shares: owner, retries, failure notification — and the alert webhook itself.

Alerts go to ``GOVLAKE_ALERT_WEBHOOK_URL`` as one JSON POST shaped by ``GOVLAKE_ALERT_WEBHOOK_STYLE``:

* ``text`` (default): ``{"msgtype": "text", "text": {"content": ...}}``, which DingTalk and WeCom robots both
  accept as is, plus ``title`` and the facts as fields (``govlake``: dag, task, run, logical date, try,
  error, log URL) for a relay;
* ``dingtalk``: a DingTalk markdown message, ``{"msgtype": "markdown", "markdown": {"title", "text"}}``;
* ``wecom``: a WeCom (企业微信) markdown message, ``{"msgtype": "markdown", "markdown": {"content"}}``;
* ``slack``: a Slack incoming-webhook message, ``{"text": fallback, "blocks": [header, section, ...]}``;
* ``generic``: ``{"title", "text", "govlake"}`` for a relay of one's own.

The robot styles send exactly the robot's documented shape (robots may refuse fields they do not know).
A broken or slow webhook never hides the original failure: errors are logged, the POST times out in 10 s.
"""

from __future__ import annotations

import json
import logging
import traceback
from datetime import timedelta
from typing import Any

log = logging.getLogger(__name__)

OWNER = "data-office"
ERROR_LINES = 8  # the error's first lines in the message; the log link has the rest
ERROR_CHARS = 1500


ALERT_STYLES = ("text", "dingtalk", "wecom", "slack", "generic")
SLACK_HEADER_CHARS = 150  # Slack's limit for a header block's text
SLACK_SECTION_CHARS = 3000  # and for a section's


def _dingtalk(title: str, lines: list[str]) -> dict[str, Any]:
    # DingTalk markdown needs a blank line between paragraphs; the title shows in the notification.
    body = "\n\n".join([f"#### {title}", *(f"- {line}" for line in lines)])
    return {"msgtype": "markdown", "markdown": {"title": title, "text": body}}


def _wecom(title: str, lines: list[str]) -> dict[str, Any]:
    body = "\n".join([f"**{title}**", *(f"> {line}" for line in lines)])
    return {"msgtype": "markdown", "markdown": {"content": body}}


def _slack_escape(text: str) -> str:
    """Slack reads &, < and > as markup in mrkdwn (``<url|label>``); an error's ``<class ...>`` must not be."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack(title: str, lines: list[str]) -> dict[str, Any]:
    section = _slack_escape("\n".join(lines))[:SLACK_SECTION_CHARS]
    return {
        "text": title,  # the notification's fallback text
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:SLACK_HEADER_CHARS]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": section}},
        ],
    }


def alert_payload(
    title: str, lines: list[str], fields: dict[str, Any], style: str = "text"
) -> dict[str, Any]:
    """The webhook body in the configured style: human text for chat robots, fields for relays."""
    if style == "dingtalk":
        return _dingtalk(title, lines)
    if style == "wecom":
        return _wecom(title, lines)
    if style == "slack":
        return _slack(title, lines)
    content = "\n".join([title, *lines])
    if style == "generic":
        return {"title": title, "text": content, "govlake": fields}
    if style == "text":
        return {"msgtype": "text", "text": {"content": content}, "title": title, "govlake": fields}
    raise ValueError(
        f"GOVLAKE_ALERT_WEBHOOK_STYLE is {style!r}; use one of {', '.join(ALERT_STYLES)} "
        "(set it in the environment or $GOVLAKE_HOME/stack.env)"
    )


def send_alert(title: str, lines: list[str], fields: dict[str, Any], settings: Any = None) -> bool:
    """POST an alert to the configured webhook; True if it was accepted (2xx), False if off or failed."""
    from govlake.settings import get_settings

    settings = settings or get_settings()
    url = settings.alert_webhook_url
    if not url:
        log.info("alert (no GOVLAKE_ALERT_WEBHOOK_URL set): %s", title)
        return False
    try:
        payload = alert_payload(title, lines, fields, settings.alert_webhook_style)
    except ValueError:
        log.exception("could not build the alert %r", title)
        return False
    try:
        import requests

        response = requests.post(
            url,
            data=json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8"),
            timeout=10,
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
    except Exception:  # a broken webhook must not hide the original failure
        log.exception("could not post the alert to %s", url)
        return False
    if response.status_code >= 300:
        log.error("alert webhook %s answered HTTP %s: %s", url, response.status_code, response.text[:200])
        return False
    return True


def error_head(error: BaseException | str | None) -> str:
    """The error's first lines: enough to recognise the failure in a chat window."""
    if error is None:
        return "(no exception in the context — see the task log)"
    if isinstance(error, BaseException):
        text = "".join(traceback.format_exception_only(type(error), error)).strip()
    else:
        text = str(error)
    head = "\n".join(text.splitlines()[:ERROR_LINES])
    return head[:ERROR_CHARS]


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def failure_fields(context: dict[str, Any]) -> dict[str, Any]:
    ti = context.get("task_instance") or context.get("ti")
    dag_run = context.get("dag_run")
    try:
        log_url = ti.log_url if ti is not None else None
    except Exception:  # noqa: BLE001 - a missing config must not stop the alert
        log_url = None
    return {
        "kind": "task_failure",
        "dag_id": getattr(ti, "dag_id", None),
        "task_id": getattr(ti, "task_id", None),
        "run_id": getattr(ti, "run_id", None),
        "logical_date": _iso(context.get("logical_date") or getattr(dag_run, "logical_date", None)),
        "run_after": _iso(getattr(dag_run, "run_after", None)),
        "try_number": getattr(ti, "try_number", None),
        "max_tries": getattr(ti, "max_tries", None),
        "map_index": getattr(ti, "map_index", None),
        "error": error_head(context.get("exception")),
        "log_url": log_url,
    }


def notify_failure(context: dict[str, Any]) -> None:
    """Task failure callback: post dag, task, run, logical date, try, the error's first lines and the log link."""
    fields = failure_fields(context)
    title = f"govlake 任务失败: {fields['dag_id']}.{fields['task_id']}"
    lines = [
        f"run: {fields['run_id']}",
        f"logical date: {fields['logical_date'] or fields['run_after']}",
        f"try: {fields['try_number']}",
        f"error: {fields['error']}",
        f"log: {fields['log_url']}",
    ]
    send_alert(title, lines, fields)


DEFAULT_ARGS: dict[str, Any] = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": timedelta(seconds=20),
    "retry_exponential_backoff": True,
    "on_failure_callback": notify_failure,
}
