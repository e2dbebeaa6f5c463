"""DAGs from the subscriptions: ``export__<consumer>__<resource>``, plus the dispatch sweep.

Parse time reads YAML only (config/subscriptions and <GOVLAKE_HOME>/subscriptions); tasks import the
database and S3 code when they run.
"""

from __future__ import annotations

import logging

import pendulum
from airflow.sdk import DAG, get_current_context, task

from govlake.orchestration.dag_defaults import DEFAULT_ARGS
from govlake.orchestration.task_queues import PUBLISH, queue_args
from govlake.sharing.subscriptions import Subscription, load_subscriptions

log = logging.getLogger(__name__)

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")


def _doc(sub: Subscription) -> str:
    filters = ", ".join(f"`{k}` = {v}" for k, v in sub.filter.items()) or "none"
    return (
        f"### Export {sub.resource} → {sub.consumer}\n\n"
        f"* items: {', '.join(f'`{i}`' for i in sub.items)}\n* filter: {filters}\n"
        f"* format **{sub.format}**, schedule `{sub.schedule}`, link valid {sub.link_hours} h\n"
        f"* into `s3://exchange/{sub.consumer}/exports/{sub.resource}/<date>/` with `_manifest.json` (sha256)\n"
        f"* read as the department's own role: an item without an active grant fails the run\n"
        f"* defined in `{sub.source_file}`"
    )


def build_export_dag(sub: Subscription) -> DAG:
    with DAG(
        dag_id=sub.dag_id,
        description=f"export {sub.resource} to {sub.consumer} ({sub.format})",
        doc_md=_doc(sub),
        schedule=sub.schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args={**DEFAULT_ARGS, **queue_args(PUBLISH)},
        tags=["export", sub.consumer, sub.format],
    ) as dag:

        @task(task_id="export")
        def export() -> dict:
            from govlake.exports.run import run_export
            from govlake.orchestration.cycle_dates import cycle_date_from_context

            return run_export(sub, cycle_date_from_context(get_current_context()))

        export()
    return dag


def build_sweep_dag() -> DAG:
    """Hourly: sync the catalog and create missing exchange views; escalate requests past their SLA to
    the data office; expire grants whose period is over."""
    with DAG(
        dag_id="dispatch__sweep",
        description="escalate overdue data requests, expire grants",
        doc_md=build_sweep_dag.__doc__,
        schedule="@hourly",
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args={**DEFAULT_ARGS, **queue_args(PUBLISH)},
        tags=["dispatch", "sharing"],
    ) as dag:

        @task(task_id="sweep")
        def sweep() -> dict:
            from govlake.catalog.entries import build_entries
            from govlake.catalog.store import sync_catalog
            from govlake.sharing.dispatch import escalate_overdue, expire_grants
            from govlake.sharing.zone import ensure_zone
            from govlake.warehouse import connect

            errors: list[str] = []
            with connect(autocommit=True) as conn:
                entries = sync_catalog(conn, build_entries(errors=errors))
                created = ensure_zone(conn, entries)
                escalated = escalate_overdue(conn)
                expired = expire_grants(conn)
            return {
                "catalog_entries": len(entries),
                "catalog_errors": errors,
                "views_created": created,
                "escalated": [r.request_id for r in escalated],
                "expired": [r.request_id for r in expired],
            }

        sweep()
    return dag


def export_dags() -> list[DAG]:
    errors: list[str] = []
    dags = [build_export_dag(sub) for sub in load_subscriptions(errors=errors)]
    for error in errors:
        log.error("subscriptions: %s", error)
    return dags
