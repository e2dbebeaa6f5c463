"""The one factory that turns registry datasets into ingest DAGs.

Parse-time cost matters (the dag-processor re-parses often): this module imports only the registry
(YAML) and the Task SDK; task bodies import their heavy libraries when they run.
"""

from __future__ import annotations

import logging

from airflow.sdk import DAG, CronTriggerTimetable, get_current_context, task

from govlake.orchestration.assets import raw_asset
from govlake.orchestration.dag_defaults import DEFAULT_ARGS
from govlake.orchestration.task_queues import ingest_args
from govlake.registry import Dataset, load_departments

log = logging.getLogger(__name__)


def _doc(dataset: Dataset) -> str:
    cols = "\n".join(
        f"| `{c.name}` | {c.label} | {c.type} | {'✔' if c.required else ''} | {c.grade} | {c.pi} |"
        for c in dataset.columns
    )
    return (
        f"### {dataset.department_name} · {dataset.name}\n\n{dataset.summary}\n\n"
        f"* source: **{dataset.source_kind}** · update cycle {dataset.update_cycle} · key "
        f"`{', '.join(dataset.primary_key)}`\n* lands in `s3://landing/{dataset.landing_prefix}<date>/`, "
        f"raw Parquet in `s3://raw/{dataset.landing_prefix}<date>/`, table `{dataset.raw_table}`\n"
        f"* registry file: `{dataset.registry_file.name}`\n\n"
        "| item | 名称 | type | required | grade | personal info |\n|---|---|---|---|---|---|\n" + cols
    )


def _no_retry_for_rejected(step, *args):  # noqa: ANN001, ANN002, ANN202
    """A rejected delivery (unreadable, drift) fails the run at once: retrying the same bytes cannot help."""
    from airflow.sdk.exceptions import AirflowFailException

    from govlake.ingest.errors import BatchRejected

    try:
        return step(*args)
    except BatchRejected as exc:
        if exc.retryable:
            raise
        raise AirflowFailException(str(exc)) from exc


def build_ingest_dag(dataset: Dataset) -> DAG:
    outlet = raw_asset(dataset)

    with DAG(
        dag_id=dataset.dag_id,
        description=f"{dataset.department_name} {dataset.name} → raw",
        doc_md=_doc(dataset),
        # No start date and run_immediately=False: unpausing a DAG schedules its *next* delivery instead of
        # starting a run at once for the latest past tick (a monthly DAG unpaused on the 27th would
        # otherwise ingest "the 1st" — a delivery that does not exist — and race the cycle's own runs).
        schedule=CronTriggerTimetable(dataset.schedule, timezone="UTC", run_immediately=False),
        catchup=False,
        max_active_runs=1,
        default_args={**DEFAULT_ARGS, **ingest_args(dataset)},
        tags=["ingest", dataset.department, dataset.source_kind],
    ) as dag:

        @task(task_id="land_and_normalize")
        def land_and_normalize() -> dict:
            from govlake.orchestration.cycle_dates import cycle_date_from_context
            from govlake.orchestration.task_bodies import ingest_land_and_normalize

            return _no_retry_for_rejected(
                ingest_land_and_normalize, dataset.key, cycle_date_from_context(get_current_context())
            )

        @task(task_id="load_raw", outlets=[outlet])
        def load_raw(manifest: dict) -> dict:
            from govlake.orchestration.cycle_dates import cycle_date_from_context
            from govlake.orchestration.task_bodies import ingest_load_raw

            context = get_current_context()
            day = cycle_date_from_context(context)
            counts = ingest_load_raw(dataset.key, day, manifest)
            context["outlet_events"][outlet].extra = {
                "logical_date": day,
                "batch_id": dataset.batch_id(day),
                "rows_loaded": counts.get("rows_loaded"),
            }
            return counts

        load_raw(land_and_normalize())
    return dag


def ingest_dags() -> list[DAG]:
    """One DAG per dataset of every valid registry file (a bad file is logged and skipped)."""
    errors: list[str] = []
    dags = [build_ingest_dag(ds) for dept in load_departments(errors=errors) for ds in dept.datasets]
    for error in errors:
        log.error("registry: %s", error)
    return dags
