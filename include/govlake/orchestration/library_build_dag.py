"""The ``build__libraries`` DAG: dbt staging → GX row rules + quarantine → dbt libraries → GX gates → gate.

``dags/build.py`` declares it (its docstring is the DAG's doc); this module wires it. The dbt run mode is
:attr:`govlake.settings.Settings.dbt_tasks` (``GOVLAKE_DBT_TASKS``): ``per_model`` (astronomer-cosmos
watcher: one ``dbt build`` per group, a sensor per model's run and tests), ``per_model_local`` (a dbt
process per task) or ``whole`` (one task per layer; also the fallback while no manifest exists, so the DAG
always imports on a fresh checkout). The registry's authoritative dataset (公安厅's household registration)
is validated first: other departments' consistency rules compare with the registry rows that passed.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, TriggerRule, get_current_context, task

from govlake.orchestration.assets import AUDIT_LIBRARIES, raw_asset
from govlake.orchestration.cycle_tasks import resolve_cycle
from govlake.orchestration.dag_defaults import DEFAULT_ARGS
from govlake.orchestration.task_bodies import LIBRARIES
from govlake.orchestration.task_queues import TRANSFORM, queue_args
from govlake.registry import Dataset, iter_datasets
from govlake.settings import load_settings
from govlake.transform.manifest import manifest_available

CYCLE_DATE = "{{ ti.xcom_pull(task_ids='resolve_cycle') }}"
FULL_REFRESH = "{{ ti.xcom_pull(task_ids='prepare_libraries')['full_refresh'] }}"
DBT_TASK_MODES = ("per_model", "per_model_local", "whole")


@task(retries=0)
def dbt_staging(day: str) -> dict:
    from govlake.orchestration.task_bodies import build_staging

    return build_staging(day)


@task(retries=0)
def dbt_libraries(day: str) -> dict:
    from govlake.orchestration.task_bodies import build_libraries

    return build_libraries(day)


@task(retries=0)
def gate(day: str, results: list[dict]) -> dict:
    from airflow.sdk.exceptions import AirflowFailException

    from govlake.orchestration.task_bodies import alert_held_batches, blocking_failures

    alert_held_batches(day, results)
    failures = blocking_failures(results)
    if failures:
        raise AirflowFailException(
            "publication blocked: blocking expectations failed —\n  " + "\n  ".join(failures)
        )
    return {"logical_date": day, "passed": True}


@task(outlets=[AUDIT_LIBRARIES], retries=0)
def release(day: str) -> dict:
    """Tell publish the audit libraries are ready — after history and docs have read them in `audit`."""
    get_current_context()["outlet_events"][AUDIT_LIBRARIES].extra = {"logical_date": day, "passed": True}
    return {"logical_date": day, "passed": True}


@task(trigger_rule=TriggerRule.ONE_FAILED, retries=0)
def record_blocked(day: str) -> list:
    from govlake.orchestration.task_bodies import publish_libraries, reconcile, send_correction_lists

    send_correction_lists(day)  # the departments get their rejected rows even when nothing publishes
    publish_libraries(
        day,
        validation_passed=False,
        reason="a blocking expectation failed or the build broke: see build__libraries.gate "
        "and platform.validation_results",
    )
    return reconcile(day, published=False)


def validator(target: str, task_id: str):
    @task(task_id=task_id)
    def validate(day: str) -> dict:
        from govlake.orchestration.task_bodies import validate_and_quarantine

        return validate_and_quarantine(target, day)

    return validate


@task(retries=1)
def prepare_dbt() -> dict:
    from govlake.orchestration.task_bodies import prepare_build

    return prepare_build()


@task(retries=1)
def prepare_libraries(day: str) -> dict:
    from govlake.orchestration.task_bodies import prepare_libraries as prepare

    return prepare(day)


@task(retries=1)
def record_history(day: str) -> dict:
    from govlake.transform import snapshot_history

    return snapshot_history(day).to_dict()


@task(retries=1)
def publish_dbt_docs(day: str) -> dict:
    from govlake.transform import publish_docs

    return publish_docs(day).as_dict()


@task(retries=1)
def collect_lineage(day: str) -> dict:
    """OpenLineage events of the cycle's ingests and models (from the manifest docs generate just wrote),
    sent to the platform's receiver over the HTTP transport."""
    from govlake.lineage.collection import collect

    return collect(logical_date=day, via_http=True).as_dict()


def validation_order(datasets: list[Dataset]) -> list[Dataset]:
    """The authoritative register first, then every other dataset (stable)."""
    return sorted(datasets, key=lambda d: not d.authoritative)


def build_libraries_dag(doc_md: str | None = None) -> DAG:
    mode = load_settings().dbt_tasks
    if mode not in DBT_TASK_MODES:
        raise ValueError(f"GOVLAKE_DBT_TASKS is {mode!r}; expected one of {', '.join(DBT_TASK_MODES)}")
    per_model = mode != "whole" and manifest_available()
    execution = "local" if mode == "per_model_local" else "watcher"
    datasets = list(iter_datasets())
    with DAG(
        dag_id="build__libraries",
        description="dbt staging → GX row rules + quarantine → dbt libraries in audit → GX gates",
        doc_md=doc_md,
        schedule=[raw_asset(ds) for ds in datasets if ds.is_daily],
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        default_args={**DEFAULT_ARGS, **queue_args(TRANSFORM)},
        tags=["build", "dbt", "quality"],
    ) as dag:
        day = resolve_cycle()
        if per_model:
            from govlake.orchestration.dbt_task_groups import dbt_task_group

            staged = dbt_task_group(
                "dbt_staging", ["tag:reference", "tag:staging"], CYCLE_DATE, execution=execution
            )
            day >> prepare_dbt() >> staged
        else:
            staged = dbt_staging(day)
        staging_results = []
        for ds in validation_order(datasets):
            result = validator(ds.staging_view, f"validate_staging__{ds.key}")(day)
            (staging_results[0] if staging_results else staged) >> result
            staging_results.append(result)

        if per_model:
            libraries = dbt_task_group(
                "dbt_libraries",
                ["tag:libraries"],
                CYCLE_DATE,
                exclude=["tag:history"],
                full_refresh_template=FULL_REFRESH,
                execution=execution,
            )
            staging_results >> prepare_libraries(day) >> libraries
        else:
            libraries = dbt_libraries(day)
            staging_results >> libraries
        library_results = []
        for table in LIBRARIES:
            result = validator(f"audit.{table}", f"validate_library__{table}")(day)
            libraries >> result
            library_results.append(result)

        gated = gate(day, [*staging_results, *library_results])
        gated >> record_blocked(day)
        docs = publish_dbt_docs(day)
        gated >> [record_history(day), docs] >> release(day)
        if load_settings().lineage:
            docs >> collect_lineage(day)  # lineage never holds the release back
    return dag
