"""Periodic quality scorecards per department (GB/T 36344 dimensions), stored, rendered and delivered.

    run_scorecards("week", date(2026, 11, 29))   # the ISO week containing that date
    run_scorecards("month", date(2026, 11, 30))  # the calendar month containing it

computes every department's scorecard and the province's from ``platform.*`` records, stores them in
``platform.scorecards`` / ``platform.scorecard_dimensions``, renders HTML and PDF, and puts them in
``s3://exchange/<department>/scorecards/<period>/`` (the province's under ``_data_office``), listed in
``platform.scorecard_reports``. Re-running a period replaces all of it.
"""

from __future__ import annotations

import hashlib
import io
import logging
from datetime import date
from typing import Any

from rich.progress import Progress

from govlake.lake import s3_client
from govlake.scorecards.compute import PROVINCE, Scorecard, compute_scorecards
from govlake.scorecards.periods import Period, period_containing, periods_closed_by
from govlake.scorecards.scorecard_store import store_report, store_scorecards
from govlake.settings import Settings, get_settings
from govlake.warehouse import connect, ensure_platform_schema

log = logging.getLogger(__name__)

BUCKET = "exchange"
DATA_OFFICE = "_data_office"

__all__ = [
    "Period",
    "Scorecard",
    "compute_scorecards",
    "period_containing",
    "periods_closed_by",
    "report_prefix",
    "run_scorecards",
]


def report_prefix(department: str, period: Period) -> str:
    """``<department>/scorecards/<period>/`` in the exchange bucket; the province's goes to the data office."""
    owner = DATA_OFFICE if department == PROVINCE else department
    return f"{owner}/scorecards/{period.label}/"


def _put(client, key: str, body: bytes, content_type: str) -> tuple[str, int, str]:
    client.put_object(BUCKET, key, io.BytesIO(body), len(body), content_type=content_type)
    return f"s3://{BUCKET}/{key}", len(body), hashlib.sha256(body).hexdigest()


def _deliver(conn, client, card: Scorecard, cards: list[Scorecard], has_deliveries: bool) -> dict[str, str]:
    from govlake.scorecards.render import render_html, render_pdf

    # Every page shows the province ranking; the province's also lists each department's dimensions.
    html = render_html(card, cards, has_deliveries=has_deliveries)
    stem = f"scorecard_{card.department}_{card.period.label}"
    prefix = report_prefix(card.department, card.period)
    uris = {}
    for fmt, body, ctype in (
        ("html", html.encode("utf-8"), "text/html; charset=utf-8"),
        ("pdf", render_pdf(html), "application/pdf"),
    ):
        uri, size, sha = _put(client, f"{prefix}{stem}.{fmt}", body, ctype)
        store_report(conn, card.period, card.department, fmt, uri, size, sha)
        uris[fmt] = uri
    return uris


def run_scorecards(
    kind: str,
    end: date | str,
    settings: Settings | None = None,
    departments: list[str] | None = None,
    render: bool = True,
) -> list[dict[str, Any]]:
    """Compute, store, render and deliver the scorecards of the ``kind`` period containing ``end``.

    Returns one small dict per scorecard (department, overall, rank, dimension scores, report URIs).
    ``departments`` limits the run to those codes (default: every department with records in the period).
    """
    settings = settings or get_settings()
    day = end if isinstance(end, date) else date.fromisoformat(str(end)[:10])
    period = period_containing(kind, day)
    with connect(settings, autocommit=True) as conn:
        ensure_platform_schema(conn)
        cards = compute_scorecards(conn, period, departments)
        store_scorecards(conn, period, cards)
        has_deliveries = conn.execute("select to_regclass('platform.deliveries') is not null").fetchone()[0]
        results = []
        client = s3_client(settings) if render else None
        departments_only = [c for c in cards if not c.is_province]
        with Progress(transient=True) as progress:
            task = progress.add_task(f"scorecards {period.label}", total=len(cards))
            for card in cards:
                uris = _deliver(conn, client, card, departments_only, has_deliveries) if render else {}
                results.append({**card.as_dict(), "reports": uris})
                progress.advance(task)
    log.info("scorecards %s: %d departments scored", period.label, len(departments_only))
    return results
