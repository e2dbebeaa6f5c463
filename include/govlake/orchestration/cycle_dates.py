"""The cycle date: which delivery day a run processes.

A run's logical date (UTC) names the delivery day. Asset-triggered runs have no logical date of their
own: they take the date carried in the triggering events' ``extra`` (set by the upstream task), so a
re-run of an old date flows through build and publish for that same date.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any


def date_of(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def cycle_date_from_context(context: Mapping[str, Any]) -> str:
    """The cycle date (YYYY-MM-DD) for a running task, from conf, asset events or the logical date."""
    dag_run = context.get("dag_run")
    conf = getattr(dag_run, "conf", None) or {}
    if conf.get("logical_date"):
        return date_of(conf["logical_date"]).isoformat()
    events = context.get("triggering_asset_events") or {}
    dates = sorted(dates_from_events(events))
    if dates:
        return dates[-1]
    logical = context.get("logical_date") or getattr(dag_run, "run_after", None)
    if logical is None:
        raise ValueError(
            "cannot tell which cycle date this run processes: no conf, asset event or logical date"
        )
    return date_of(logical).isoformat()


def dates_from_events(events: Mapping[Any, Iterable[Any]]) -> set[str]:
    found: set[str] = set()
    for asset_events in events.values():
        for event in asset_events:
            extra = getattr(event, "extra", None) or {}
            if extra.get("logical_date"):
                found.add(date_of(extra["logical_date"]).isoformat())
    return found
