"""Defaults every govlake DAG shares: owner, retries, and a failure notification through :mod:`govlake.alerts`."""

from __future__ import annotations

import traceback
from datetime import timedelta
from typing import Any

from govlake.alerts import send_alert

OWNER = "data-office"
ERROR_LINES = 8  # the error's first lines in the message; the log link has the rest
ERROR_CHARS = 1500


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
    if str(fields["dag_id"] or "").startswith("ingest__"):  # who is affected when this delivery is missing
        try:
            from govlake.lineage.queries import affected_consumers

            fields["affected"] = affected_consumers(str(fields["dag_id"]).removeprefix("ingest__"))
            lines.append(f"affected: {', '.join(fields['affected']) or '-'}")
        except Exception:  # noqa: BLE001 - the alert goes out even when the lineage graph cannot be read
            fields["affected"] = None
    send_alert(title, lines, fields)


DEFAULT_ARGS: dict[str, Any] = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": timedelta(seconds=20),
    "retry_exponential_backoff": True,
    "on_failure_callback": notify_failure,
}
