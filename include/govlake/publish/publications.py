"""What was published where: rows of ``platform.publications``, one per target and logical date."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

PUBLISHED = "published"
BLOCKED = "blocked"


@dataclass(frozen=True)
class Publication:
    logical_date: dt.date
    target: str  # base.population, share.population, s3://open/<dataset>/<date>/
    zone: str  # base | share | open
    rows: int | None
    status: str  # published | blocked
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (ISO date), for XCom and the CLI summary."""
        return {**asdict(self), "logical_date": self.logical_date.isoformat()}


def as_date(value: str | dt.date | dt.datetime) -> dt.date:
    """Logical dates arrive as ISO strings from Airflow/XCom or as dates from Python callers."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def record_publication(conn: psycopg.Connection, pub: Publication, keep_published: bool = False) -> None:
    """Upsert one publication row: re-running a date replaces its row instead of adding one.

    ``keep_published`` is for blocked attempts: if this date was already published, the target still
    holds that version, so the row keeps saying so rather than claiming the target is blocked.
    """
    guard = "where platform.publications.status <> 'published'" if keep_published else ""
    conn.execute(
        f"""
        insert into platform.publications (logical_date, target, zone, rows, status, details, published_at)
        values (%s, %s, %s, %s, %s, %s, now())
        on conflict (logical_date, target) do update
           set zone = excluded.zone, rows = excluded.rows, status = excluded.status,
               details = excluded.details, published_at = excluded.published_at
        {guard}
        """,
        (pub.logical_date, pub.target, pub.zone, pub.rows, pub.status, Jsonb(pub.details)),
    )
