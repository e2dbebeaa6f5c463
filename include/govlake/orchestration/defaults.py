"""Defaults every govlake DAG shares: owner, retries, failure notification — and the alert webhook itself.

Alerts go to ``GOVLAKE_ALERT_WEBHOOK_URL`` as one JSON POST in the shape DingTalk and WeCom robots accept
as is (``{"msgtype": "text", "text": {"content": ...}}``), carrying the same facts as fields for a relay or
a Slack workflow (``govlake``: dag, task, run, logical date, try, error, log URL).
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


def alert_payload(title: str, lines: list[str], fields: dict[str, Any]) -> dict[str, Any]:
    """The webhook body: human text for chat robots plus machine-readable fields."""
    content = "\n".join([title, *lines])
    return {
        "msgtype": "text",
        "text": {"content": content},  # DingTalk / WeCom
        "title": title,
        "govlake": fields,
    }


def send_alert(title: str, lines: list[str], fields: dict[str, Any], settings: Any = None) -> bool:
    """POST an alert to the configured webhook; True if it was accepted (2xx), False if off or failed."""
    from govlake.settings import get_settings

    url = (settings or get_settings()).alert_webhook_url
    if not url:
        log.info("alert (no GOVLAKE_ALERT_WEBHOOK_URL set): %s", title)
        return False
    payload = alert_payload(title, lines, fields)
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
