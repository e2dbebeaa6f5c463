"""Synthetic platform records (batches, validation results, quarantine, deliveries) for scorecard tests.

Two departments deliver the same volume through the same rules; ``defects`` injects failures into chosen
dimensions only, so a test can check that the score drops in exactly those dimensions.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import psycopg
from psycopg.types.json import Jsonb

ROWS_PER_BATCH = 1000
RULES = {  # one rule per row dimension, as a staging suite has
    "conformity": "code_in_set",
    "completeness": "key_not_null",
    "accuracy": "check_digit",
    "consistency": "matches_registry",
}


def add_department_days(
    conn: psycopg.Connection,
    department: str,
    days: list[date],
    defects: dict[str, int] | None = None,
    late_days: int = 0,
    failed_reads: int = 0,
) -> None:
    """One batch, one validation run and one delivery per day; ``defects`` = failing rows per day per dimension."""
    defects = defects or {}
    for i, day in enumerate(days):
        batch = f"{department}__things__{day.isoformat()}"
        failed = i < failed_reads
        conn.execute(
            "insert into platform.batches (batch_id, department, dataset, logical_date, source_kind, source,"
            " rows_extracted, rows_loaded, status) values (%s, %s, 'things', %s, 'csv', 'test', %s, %s, %s)",
            (
                batch,
                department,
                day,
                0 if failed else ROWS_PER_BATCH,
                0 if failed else ROWS_PER_BATCH,
                "failed" if failed else "loaded",
            ),
        )
        validation_id = f"stg_{department}__things__{day.isoformat()}"
        conn.execute(
            "insert into platform.validation_runs (validation_id, logical_date, suite, target, success)"
            " values (%s, %s, %s, %s, true)",
            (validation_id, day, f"stg_{department}__things", f"staging.stg_{department}__things"),
        )
        for dimension, rule in RULES.items():
            bad = defects.get(dimension, 0)
            conn.execute(
                "insert into platform.validation_results (validation_id, expectation, expectation_type,"
                " dimension, severity, success, element_count, unexpected_count, unexpected_percent, details)"
                " values (%s, %s, 'unexpected_rows_mostly_expectation', %s, 'blocking', true, %s, %s, %s, %s)",
                (
                    validation_id,
                    rule,
                    dimension,
                    ROWS_PER_BATCH,
                    bad,
                    100.0 * bad / ROWS_PER_BATCH,
                    Jsonb({}),
                ),
            )
            for row in range(1, bad + 1):
                conn.execute(
                    "insert into platform.quarantine (batch_id, department, dataset, logical_date, stage,"
                    " source_file, source_row, rule, dimension, message, record, detected_at) values"
                    " (%s, %s, 'things', %s, 'validate', 'things.csv', %s, %s, %s, 'bad', %s,"
                    " %s::timestamp at time zone 'UTC')",
                    (batch, department, day, row, rule, dimension, Jsonb({"thing_id": f"T{row}"}), day),
                )
        late = i < late_days
        expected = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        delivered = expected + (timedelta(hours=5) if late else -timedelta(hours=2))
        conn.execute(
            "insert into platform.deliveries (department, dataset, logical_date, source_kind, update_cycle,"
            " expected_by, delivered_at, late_by, status, files) values (%s, 'things', %s, 'csv', '每日', %s, %s,"
            " %s, %s, 1)",
            (
                department,
                day,
                expected,
                delivered,
                timedelta(hours=5) if late else None,
                "late" if late else "on_time",
            ),
        )


def resolve_some(
    conn: psycopg.Connection, department: str, quarantined_on: date, days_later: int, rows: int
) -> None:
    """Mark ``rows`` of a day's quarantine records (detected at the start of their day) corrected
    ``days_later`` days afterwards."""
    fixed_on = quarantined_on + timedelta(days=days_later)
    conn.execute(
        "update platform.quarantine set resolved_at = %s::timestamp at time zone 'UTC', resolved_by_batch = %s"
        " where quarantine_id in (select quarantine_id from platform.quarantine where department = %s"
        " and logical_date = %s order by quarantine_id limit %s)",
        (fixed_on, f"{department}__things__{fixed_on.isoformat()}", department, quarantined_on, rows),
    )
