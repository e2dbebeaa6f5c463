"""Defaults every govlake DAG shares: owner, retries, and a failure notification through :mod:`govlake.alerts`."""

from __future__ import annotations

import traceback
from datetime import timedelta
from typing import Any

from govlake.alerts import add_enricher, send_alert

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
    send_alert(title, lines, fields)


def alert_datasets(fields: dict[str, Any]) -> list[str]:
    """The registry datasets (``<department>__<dataset>``) an alert is about: listed by the sender, the
    timeliness alert's department and dataset, or the dataset of a failed ``ingest__`` DAG."""
    if fields.get("datasets"):
        return list(fields["datasets"])
    if fields.get("department") and fields.get("dataset"):
        return [f"{fields['department']}__{fields['dataset']}"]
    if str(fields.get("dag_id") or "").startswith("ingest__"):
        return [str(fields["dag_id"]).removeprefix("ingest__")]
    return []


def affected_consumers_lines(fields: dict[str, Any]) -> list[str]:
    """Alert enricher: who is affected when these datasets are late, missing, failed or held — consumer
    departments, exports, open releases, cockpit numbers (``fields["affected"]``; None if unknown)."""
    datasets = alert_datasets(fields)
    if not datasets:
        return []
    fields["affected"] = None
    from govlake.lineage.queries import affected_consumers

    affected = list(dict.fromkeys(label for key in datasets for label in affected_consumers(key)))
    fields["affected"] = affected
    return [f"affected: {', '.join(affected) or '-'}"]


add_enricher(affected_consumers_lines)


DEFAULT_ARGS: dict[str, Any] = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": timedelta(seconds=20),
    "retry_exponential_backoff": True,
    "on_failure_callback": notify_failure,
}
