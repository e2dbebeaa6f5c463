"""Storing scorecards and their rendered reports in ``platform.scorecards*`` (replace per period)."""

from __future__ import annotations

import psycopg
from psycopg.types.json import Jsonb

from govlake.scorecards.compute import Scorecard
from govlake.scorecards.periods import Period


def store_scorecards(conn: psycopg.Connection, period: Period, cards: list[Scorecard]) -> None:
    """Replace the period's scorecards (and, by cascade, their dimensions) in one transaction."""
    with conn.transaction():
        conn.execute(
            "select pg_advisory_xact_lock(hashtext(%s))", (f"scorecards:{period.kind}:{period.label}",)
        )
        conn.execute(
            "delete from platform.scorecards where period_kind = %s and period = %s and department = any(%s)",
            (period.kind, period.label, [c.department for c in cards]),
        )
        for card in cards:
            conn.execute(
                "insert into platform.scorecards (period_kind, period, period_start, period_end, department,"
                " department_name, overall_score, rank, rows_checked, batches, quarantine_open,"
                " quarantine_resolved, median_days_to_correct, late_deliveries, missing_deliveries,"
                " previous_score, details) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                " %s, %s)",
                (
                    period.kind,
                    period.label,
                    period.start,
                    period.end,
                    card.department,
                    card.department_name,
                    card.overall,
                    card.rank,
                    card.rows_checked,
                    card.batches,
                    card.quarantine_open,
                    card.quarantine_resolved,
                    card.median_days_to_correct,
                    card.late_deliveries,
                    card.missing_deliveries,
                    card.previous_score,
                    Jsonb(card.details()),
                ),
            )
            with conn.cursor() as cur:
                cur.executemany(
                    "insert into platform.scorecard_dimensions (period_kind, period, department, dimension,"
                    " score, weight, checks, failures, method) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    [
                        (
                            period.kind,
                            period.label,
                            card.department,
                            d.dimension,
                            d.score,
                            d.weight,
                            d.checks,
                            d.failures,
                            d.method,
                        )
                        for d in card.dimensions.values()
                    ],
                )


def store_report(
    conn: psycopg.Connection, period: Period, department: str, fmt: str, uri: str, size: int, sha256: str
) -> None:
    conn.execute(
        "insert into platform.scorecard_reports (period_kind, period, department, format, uri, bytes, sha256,"
        " rendered_at) values (%s, %s, %s, %s, %s, %s, %s, now()) on conflict (period_kind, period, department,"
        " format) do update set uri = excluded.uri, bytes = excluded.bytes, sha256 = excluded.sha256,"
        " rendered_at = now()",
        (period.kind, period.label, department, fmt, uri, size, sha256),
    )
