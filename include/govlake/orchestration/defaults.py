"""Defaults every govlake DAG shares: owner, retries, failure notification."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

log = logging.getLogger(__name__)

OWNER = "data-office"


def notify_failure(context: dict[str, Any]) -> None:
    """Post a DingTalk/WeCom/Slack-style JSON message to GOVLAKE_ALERT_WEBHOOK_URL, if set."""
    from govlake.settings import get_settings

    url = get_settings().alert_webhook_url
    if not url:
        return
    ti = context.get("task_instance") or context.get("ti")
    dag_id = getattr(ti, "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    run_id = getattr(ti, "run_id", "?")
    error = str(context.get("exception") or "")[:2000]
    text = f"govlake: {dag_id}.{task_id} failed (run {run_id}): {error}"
    payload = {
        "msgtype": "text",
        "text": {"content": text},
        "dag_id": dag_id,
        "task_id": task_id,
        "run_id": run_id,
        "error": error,
    }
    try:
        import requests

        requests.post(
            url,
            data=json.dumps(payload, ensure_ascii=False).encode(),
            timeout=10,
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
    except Exception:  # a broken webhook must not hide the original failure
        log.exception("could not notify %s", url)


DEFAULT_ARGS: dict[str, Any] = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": timedelta(seconds=20),
    "retry_exponential_backoff": True,
    "on_failure_callback": notify_failure,
}
