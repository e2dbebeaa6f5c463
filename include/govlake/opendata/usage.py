"""Usage as data: downloads and API calls per dataset and organization, and the apps built on open data.

Events go to ``platform.open_usage`` (one row per call, the caller only as a salted hash of its address)
and ``platform.open_usage_daily`` sums them per day, dataset, organization and kind for the cockpit.
Apps are registered without login, so registration is validated (a real http(s) URL, datasets that are
published) and rate-limited per caller in the database — it holds across restarts and workers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import psycopg

APP_LIMIT = 5  # registrations per caller ...
APP_WINDOW_MINUTES = 60  # ... within this many minutes
MAX_NAME, MAX_DESCRIPTION, MAX_DATASETS = 100, 2000, 50


class AppRejected(ValueError):
    """A registration that is invalid (status 400/409) or over the rate limit (429)."""

    def __init__(self, status: int, errors: dict[str, list[str]]):
        self.status, self.errors = status, errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


def client_hash(address: str | None) -> str:
    """A caller's address as a hash: enough to count distinct clients and rate-limit, not to identify."""
    return hashlib.sha256(f"govlake-open:{address or 'unknown'}".encode()).hexdigest()[:32]


def record_usage(
    conn: psycopg.Connection,
    kind: str,
    action: str,
    *,
    dataset: str | None = None,
    organization: str | None = None,
    version: str | None = None,
    resource_id: str | None = None,
    client: str | None = None,
) -> None:
    """One usage event; the organization is looked up from the dataset when not given."""
    conn.execute(
        """
        insert into platform.open_usage (kind, action, dataset, organization, version, resource_id, client)
        values (%(kind)s, %(action)s, %(dataset)s,
                coalesce(%(org)s, (select organization from platform.open_datasets where name = %(dataset)s)),
                %(version)s, %(rid)s, %(client)s)
        """,
        {
            "kind": kind,
            "action": action,
            "dataset": dataset,
            "org": organization,
            "version": version,
            "rid": resource_id,
            "client": client,
        },
    )


def usage_summary(conn: psycopg.Connection, dataset: str | None = None) -> list[dict[str, Any]]:
    """Events per dataset, organization and kind (all days), most used first."""
    rows = conn.execute(
        """
        select dataset, organization, kind, sum(events)::int as events
        from platform.open_usage_daily
        where %(d)s::text is null or dataset = %(d)s
        group by 1, 2, 3 order by events desc, dataset, kind
        """,
        {"d": dataset},
    ).fetchall()
    return [dict(zip(("dataset", "organization", "kind", "events"), r, strict=True)) for r in rows]


@dataclass(frozen=True)
class App:
    id: int
    name: str
    url: str
    description: str
    datasets: list[str]
    registered_at: str

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _validate(body: dict[str, Any], published: set[str]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    name = body.get("name")
    if not isinstance(name, str) or not 2 <= len(name.strip()) <= MAX_NAME:
        errors["name"] = [f"required, 2 to {MAX_NAME} characters"]
    url = body.get("url")
    parsed = urlparse(url) if isinstance(url, str) else None
    if not parsed or parsed.scheme not in ("http", "https") or not parsed.netloc or len(url) > 500:
        errors["url"] = ["required, an http(s) URL with a host, at most 500 characters"]
    description = body.get("description", "")
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        errors["description"] = [f"text of at most {MAX_DESCRIPTION} characters"]
    datasets = body.get("datasets")
    if not isinstance(datasets, list) or not datasets or len(datasets) > MAX_DATASETS:
        errors["datasets"] = [f"required, a list of 1 to {MAX_DATASETS} open dataset names"]
    else:
        unknown = [d for d in datasets if d not in published]
        if unknown:
            errors["datasets"] = [
                f"not published open datasets: {', '.join(map(str, unknown))} (see package_list)"
            ]
    return errors


def register_app(conn: psycopg.Connection, body: dict[str, Any], client: str) -> App:
    """Validate and store an app; AppRejected(400) names each bad field, AppRejected(429) the limit."""
    published = {
        r[0]
        for r in conn.execute(
            "select distinct dataset from platform.open_releases where status = 'published'"
        )
    }
    errors = _validate(body if isinstance(body, dict) else {}, published)
    if errors:
        raise AppRejected(400, errors)
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"open_apps:{client}",))
        recent = conn.execute(
            "select count(*) from platform.open_apps where client = %s and registered_at > now() - make_interval(mins => %s)",
            (client, APP_WINDOW_MINUTES),
        ).fetchone()[0]
        if recent >= APP_LIMIT:
            raise AppRejected(
                429,
                {
                    "rate_limit": [
                        f"at most {APP_LIMIT} registrations per {APP_WINDOW_MINUTES} minutes; try again later"
                    ]
                },
            )
        row = conn.execute(
            "insert into platform.open_apps (name, url, description, datasets, client) values (%s, %s, %s, %s, %s) "
            "returning id, registered_at",
            (
                body["name"].strip(),
                body["url"],
                body.get("description", ""),
                list(dict.fromkeys(body["datasets"])),
                client,
            ),
        ).fetchone()
    return App(
        row[0],
        body["name"].strip(),
        body["url"],
        body.get("description", ""),
        list(dict.fromkeys(body["datasets"])),
        row[1].isoformat(),
    )


def list_apps(conn: psycopg.Connection, dataset: str | None = None) -> list[App]:
    rows = conn.execute(
        "select id, name, url, description, datasets, registered_at from platform.open_apps "
        "where %(d)s::text is null or %(d)s = any(datasets) order by registered_at desc, id desc",
        {"d": dataset},
    ).fetchall()
    return [App(r[0], r[1], r[2], r[3], list(r[4]), r[5].isoformat()) for r in rows]
