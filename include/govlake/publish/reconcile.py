"""Nothing is lost: per batch, rows in = rows published + rows quarantined (+ rows held).

Counts come from the platform's own records, not from the libraries: ``platform.batches`` says how many
rows each batch read from its source, ``platform.quarantine`` which of them were rejected (at ingest or
by validation; a row failing several rules counts once). The rest were published — or held: when the
gate blocked the cycle (until the next successful publication), or when the staging gate failed the batch
itself (until a corrected re-delivery of its date passes; ``platform.batch_validations``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import psycopg
from rich.table import Table

from govlake.publish.publications import as_date
from govlake.settings import Settings, get_settings
from govlake.warehouse import connect, ensure_platform_schema


@dataclass(frozen=True)
class BatchReconciliation:
    batch_id: str
    logical_date: dt.date
    department: str
    dataset: str
    rows_in: int
    rows_published: int
    rows_quarantined: int
    rows_held: int
    balanced: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (ISO date), for XCom and the CLI summary."""
        return {**asdict(self), "logical_date": self.logical_date.isoformat()}


# A quarantine record without a source row (a whole-file failure) cannot be de-duplicated against
# others, so each such record counts as one row. Superseded records belong to an earlier delivery of the
# date, whose rows are no longer in the batch: rows_extracted counts the delivery loaded now.
# The cycle's batches are its own date's and the earlier ones its build validated (caught up). A batch
# whose verdict failed is held whatever the cycle did; one without a verdict follows the cycle.
_COUNTS_SQL = """
select b.batch_id, b.logical_date, b.department, b.dataset, b.rows_extracted,
       (select count(distinct (q.source_file, q.source_row)) filter (where q.source_row is not null)
               + count(*) filter (where q.source_row is null)
          from platform.quarantine q
         where q.batch_id = b.batch_id and q.stage in ('ingest', 'validate')
           and q.superseded_at is null) as rows_quarantined,
       coalesce(v.success, true) as accepted
from platform.batches b
left join platform.batch_validations v on v.batch_id = b.batch_id
where b.logical_date = %(day)s or v.cycle_date = %(day)s
order by b.logical_date, b.batch_id
"""

_UPSERT_SQL = """
insert into platform.reconciliation
    (batch_id, logical_date, department, dataset, rows_in, rows_published, rows_quarantined, rows_held,
     balanced, computed_at)
values (%s, %s, %s, %s, %s, %s, %s, %s, %s, now())
on conflict (batch_id) do update
   set logical_date = excluded.logical_date, department = excluded.department, dataset = excluded.dataset,
       rows_in = excluded.rows_in, rows_published = excluded.rows_published,
       rows_quarantined = excluded.rows_quarantined, rows_held = excluded.rows_held,
       balanced = excluded.balanced, computed_at = excluded.computed_at
"""


def balance(
    batch_id: str,
    date: dt.date,
    department: str,
    dataset: str,
    rows_in: int,
    quarantined: int,
    published: bool,
) -> BatchReconciliation:
    """One batch's ledger. More quarantined than read (a double-counting bug) can never balance."""
    passed = max(rows_in - quarantined, 0)
    rows_published, rows_held = (passed, 0) if published else (0, passed)
    return BatchReconciliation(
        batch_id=batch_id,
        logical_date=date,
        department=department,
        dataset=dataset,
        rows_in=rows_in,
        rows_published=rows_published,
        rows_quarantined=quarantined,
        rows_held=rows_held,
        balanced=rows_in == rows_published + quarantined + rows_held,
    )


def _upsert(conn: psycopg.Connection, rec: BatchReconciliation) -> None:
    conn.execute(
        _UPSERT_SQL,
        (
            rec.batch_id,
            rec.logical_date,
            rec.department,
            rec.dataset,
            rec.rows_in,
            rec.rows_published,
            rec.rows_quarantined,
            rec.rows_held,
            rec.balanced,
        ),
    )


def reconcile(
    logical_date: str | dt.date, published: bool, settings: Settings | None = None
) -> list[BatchReconciliation]:
    """Reconcile every batch of ``logical_date``, and every earlier one its build validated, and upsert
    the result (re-running replaces it).

    ``published`` is whether this cycle's libraries were swapped into base (False when the gate blocked);
    a batch the staging gate failed is held either way.
    """
    date = as_date(logical_date)
    with connect(settings or get_settings()) as conn:
        ensure_platform_schema(conn)
        with conn.transaction():
            rows = conn.execute(_COUNTS_SQL, {"day": date}).fetchall()
            results = [
                balance(batch_id, day, dept, ds, int(rows_in), int(quarantined), published and accepted)
                for batch_id, day, dept, ds, rows_in, quarantined, accepted in rows
            ]
            for rec in results:
                _upsert(conn, rec)
    return results


def format_reconciliation(results: Sequence[BatchReconciliation], title: str | None = None) -> Table:
    """The per-batch ledger as a rich Table for the CLI's cycle summary; unbalanced batches in red."""
    table = Table(title=title or "Reconciliation: rows in = published + quarantined + held")
    for name, justify in (
        ("batch", "left"),
        ("rows in", "right"),
        ("published", "right"),
        ("quarantined", "right"),
        ("held", "right"),
        ("balanced", "center"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for rec in results:
        table.add_row(
            rec.batch_id,
            f"{rec.rows_in:,}",
            f"{rec.rows_published:,}",
            f"{rec.rows_quarantined:,}",
            f"{rec.rows_held:,}",
            "[green]yes[/green]" if rec.balanced else "[bold red]NO[/bold red]",
            style=None if rec.balanced else "red",
        )
    if results:
        table.add_section()
        table.add_row(
            "total",
            f"{sum(r.rows_in for r in results):,}",
            f"{sum(r.rows_published for r in results):,}",
            f"{sum(r.rows_quarantined for r in results):,}",
            f"{sum(r.rows_held for r in results):,}",
            "[green]yes[/green]" if all(r.balanced for r in results) else "[bold red]NO[/bold red]",
        )
    return table
