"""Export subscriptions: which department receives which items of a resource, how and when.

Subscriptions are YAML, so the export DAGs are generated without touching the database at parse time:
stewards' files under ``config/subscriptions/*.yaml`` (versioned), plus the ones approvals create at
run time under ``<GOVLAKE_HOME>/subscriptions/`` (never committed). One file holds a list::

    subscriptions:
      - consumer: civil_affairs          # the receiving department
        resource: population             # catalog entry key (or resource code)
        items: [resident_id, name, status, death_date]
        filter: {status: 死亡}            # optional: item -> value or list of values
        format: csv                       # csv | parquet | xlsx
        schedule: "@daily"                # cron or preset
        webhook: http://…                 # optional: notified with a presigned download link
        link_hours: 72                    # how long the link works

A bad entry is reported with its file and index and skipped; the other subscriptions are unaffected.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from govlake.settings import Settings, get_settings

log = logging.getLogger(__name__)

SUBSCRIPTIONS_DIR = Path(__file__).resolve().parents[1] / "config" / "subscriptions"
FORMATS = ("csv", "parquet", "xlsx")


class SubscriptionError(ValueError):
    """A subscription is invalid; the message names the file, the entry and the field."""


@dataclass(frozen=True)
class Subscription:
    consumer: str
    resource: str
    items: tuple[str, ...]
    format: str = "csv"
    schedule: str = "@daily"
    filter: dict[str, Any] = field(default_factory=dict)
    webhook: str | None = None
    link_hours: int = 72
    source_file: str = ""

    @property
    def dag_id(self) -> str:
        return f"export__{self.consumer}__{self.resource}"

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "items": list(self.items)}


def parse_subscription(doc: dict, where: str) -> Subscription:
    for key in ("consumer", "resource", "items"):
        if not doc.get(key):
            raise SubscriptionError(f"{where}: missing required field '{key}'")
    fmt = str(doc.get("format", "csv")).lower()
    if fmt not in FORMATS:
        raise SubscriptionError(f"{where}: format is {fmt!r}; expected one of {', '.join(FORMATS)}")
    filters = doc.get("filter") or {}
    if not isinstance(filters, dict):
        raise SubscriptionError(f"{where}: filter must map items to a value or a list of values")
    stray = [k for k in filters if k not in doc["items"]]
    if stray:
        raise SubscriptionError(f"{where}: filter uses {', '.join(stray)}, which are not among its items")
    return Subscription(
        consumer=str(doc["consumer"]),
        resource=str(doc["resource"]),
        items=tuple(str(i) for i in doc["items"]),
        format=fmt,
        schedule=str(doc.get("schedule", "@daily")),
        filter=dict(filters),
        webhook=doc.get("webhook") or None,
        link_hours=int(doc.get("link_hours", 72)),
        source_file=where.split(":")[0],
    )


def subscription_dirs(settings: Settings | None = None) -> list[Path]:
    settings = settings or get_settings()
    return [SUBSCRIPTIONS_DIR, settings.home / "subscriptions"]


def load_subscriptions(dirs: list[Path] | None = None, errors: list[str] | None = None) -> list[Subscription]:
    """Every valid subscription in the folders (file name order); duplicates of a DAG id keep the first."""
    found: dict[str, Subscription] = {}
    for folder in dirs if dirs is not None else subscription_dirs():
        for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
            try:
                doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
                for n, item in enumerate(doc.get("subscriptions") or []):
                    sub = parse_subscription(item, f"{path}: subscriptions[{n}]")
                    if sub.dag_id in found:
                        raise SubscriptionError(
                            f"{path}: subscriptions[{n}]: {sub.dag_id} is already defined "
                            f"in {found[sub.dag_id].source_file}"
                        )
                    found[sub.dag_id] = sub
            except (SubscriptionError, yaml.YAMLError, AttributeError) as exc:
                log.error("%s", exc)
                if errors is not None:
                    errors.append(str(exc))
    return list(found.values())


def get_subscription(dag_id_or_key: str, dirs: list[Path] | None = None) -> Subscription:
    for sub in load_subscriptions(dirs):
        if dag_id_or_key in (sub.dag_id, sub.dag_id.removeprefix("export__")):
            return sub
    raise SubscriptionError(f"no subscription {dag_id_or_key!r}; list them with `govlake export list`")


def write_request_subscription(request: Any, settings: Settings | None = None) -> Path:
    """The subscription an approved request asked for, written where the DAG factory finds it."""
    settings = settings or get_settings()
    folder = settings.home / "subscriptions"
    folder.mkdir(parents=True, exist_ok=True)
    spec = dict(request.subscription or {})
    doc = {
        "consumer": request.consumer,
        "resource": request.resource_key,
        "items": list(spec.get("items") or request.items),
        **{k: v for k, v in spec.items() if k in ("format", "schedule", "filter", "webhook", "link_hours")},
    }
    parse_subscription(doc, f"request #{request.request_id}")
    path = folder / f"request-{request.request_id}.yaml"
    header = f"# From approved request #{request.request_id} (generated; not committed).\n"
    path.write_text(header + yaml.safe_dump({"subscriptions": [doc]}, allow_unicode=True), encoding="utf-8")
    return path
