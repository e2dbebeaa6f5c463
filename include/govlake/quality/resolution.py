"""Resolution: a quarantined row is resolved when its department delivers the corrected row later.

The corrected row has the same dataset and primary key, arrives in a later batch, and passes every
blocking rule (it is in the staging view for its date and not among that batch's current records in
``platform.quarantine``). The earlier quarantine records of that key are then marked ``resolved_at`` /
``resolved_by_batch``, which is what time-to-correct in the scorecards measures.

``resolved_at`` is when the correcting batch was loaded (``platform.batches.finished_at``; the batch's
logical date at midnight UTC when it has no batch record), so time-to-correct = correction loaded − first
detection, the same definition as for a corrected re-delivery of the *same* date, which
:mod:`govlake.quality.quarantine` resolves when it supersedes the earlier delivery's records. Re-running a
date first un-resolves what that date's batch had resolved, then resolves again: the same result.
Superseded records (history of an earlier delivery) are never resolved here.
"""

from __future__ import annotations

import logging
from datetime import date

from psycopg import sql

from govlake.registry import Dataset, get_dataset
from govlake.settings import Settings, get_settings
from govlake.warehouse import connect, ensure_platform_schema

log = logging.getLogger(__name__)


def staging_relation(dataset: Dataset) -> tuple[str, str]:
    """(schema, view) of the dataset's staging view — the dbt naming rule, shared with the build DAG."""
    schema, _, view = dataset.staging_view.partition(".")
    return schema, view


def _key_match(dataset: Dataset) -> sql.Composable:
    """``q`` record's key = ``c`` row's key, column by column.

    Validate-stage records hold the staged row (registry names); ingest-stage records hold the source row
    as received (source names), hence the coalesce.
    """
    parts = [
        sql.SQL("coalesce(q.record->>{name}, q.record->>{source}) = c.{col}::text").format(
            name=sql.Literal(c.name), source=sql.Literal(c.source_name), col=sql.Identifier(c.name)
        )
        for c in (dataset.column(k) for k in dataset.primary_key)
    ]
    return sql.SQL(" and ").join(parts)


def _key_text(dataset: Dataset) -> sql.Composable:
    cols = [sql.SQL("c.{}::text").format(sql.Identifier(k)) for k in dataset.primary_key]
    return sql.SQL("concat_ws('|', {})").format(sql.SQL(", ").join(cols))


def resolve_sql(dataset: Dataset) -> sql.Composed:
    """The UPDATE that marks earlier open records of the keys this date delivered clean."""
    schema, view = staging_relation(dataset)
    keys = sql.SQL(", ").join(sql.Identifier(k) for k in dataset.primary_key)
    return sql.SQL(
        "with corrected as ("
        " select distinct on ({keys}) s._batch_id, {keys}"
        " from {schema}.{view} s"
        " where s._logical_date = %(day)s"
        " and not exists (select 1 from platform.quarantine x"
        "   where x.batch_id = s._batch_id and x.source_file = s._source_file and x.source_row = s._source_row"
        "   and x.superseded_at is null)"
        " order by {keys}, s._source_row)"
        " update platform.quarantine q"
        " set resolved_at = coalesce((select b.finished_at from platform.batches b"
        "   where b.batch_id = c._batch_id and b.status = 'loaded'), %(day)s::timestamp at time zone 'UTC'),"
        " resolved_by_batch = c._batch_id, resolution_key = {key_text}"
        " from corrected c"
        " where q.department = %(department)s and q.dataset = %(dataset)s and q.logical_date < %(day)s"
        " and q.resolved_at is null and q.superseded_at is null and {match}"
    ).format(
        keys=keys,
        schema=sql.Identifier(schema),
        view=sql.Identifier(view),
        key_text=_key_text(dataset),
        match=_key_match(dataset),
    )


def resolve_corrected(dataset_key: str, logical_date: date | str, settings: Settings | None = None) -> int:
    """Mark earlier quarantine records resolved whose key the batch of ``logical_date`` delivered clean.

    Call it after :func:`govlake.quality.quarantine_failures` for the same dataset and date, so that the
    date's own failing rows are already in quarantine and cannot count as corrections. Returns the number
    of quarantine records resolved by this date's batch.
    """
    settings = settings or get_settings()
    day = logical_date if isinstance(logical_date, date) else date.fromisoformat(str(logical_date)[:10])
    dataset = get_dataset(dataset_key)
    params = {
        "day": day,
        "department": dataset.department,
        "dataset": dataset.code,
        "batch": dataset.batch_id(day.isoformat()),
    }
    with connect(settings, autocommit=True) as conn:
        ensure_platform_schema(conn)
        with conn.transaction():
            conn.execute(
                "select pg_advisory_xact_lock(hashtext(%s))", (f"resolve:{dataset_key}:{day.isoformat()}",)
            )
            # A re-run must not keep resolutions its batch no longer justifies.
            conn.execute(
                "update platform.quarantine set resolved_at = null, resolved_by_batch = null,"
                " resolution_key = null where department = %(department)s and dataset = %(dataset)s"
                " and logical_date < %(day)s and superseded_at is null and (resolved_by_batch = %(batch)s"
                " or resolved_at = %(day)s::timestamp at time zone 'UTC')",
                params,
            )
            resolved = conn.execute(resolve_sql(dataset), params).rowcount
    log.info("%s %s: %d earlier quarantine records resolved by corrected rows", dataset_key, day, resolved)
    return resolved
