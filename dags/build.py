"""
### Build the base libraries (write → audit)

Starts when every *daily* department dataset has landed in raw (Asset-scheduled on their
`s3://raw/...` Assets); weekly, monthly and yearly datasets are picked up by the next daily build after
they land. For the cycle date carried by those Asset events:

1. **dbt staging** — typed, renamed views over raw, plus the Guizhou division seed: one task group
   `dbt_staging` with a run and a test task per model (astronomer-cosmos, rendered from the dbt manifest
   by `prepare_dbt`).
2. **validate staging** — one Great Expectations suite per dataset, pushed down to SQL; every row failing
   a blocking rule goes to `platform.quarantine` and `s3://quarantine/` with its file, row and rule.
3. **dbt libraries** — base libraries (人口 population, 法人 legal entities, spatial divisions, …) and theme
   libraries built into the `audit` schema from the rows that passed: task group `dbt_libraries`, a run
   and a test task per model (`prepare_libraries` first decides whether incremental models need a full
   refresh: a re-run of an earlier date).
4. **validate libraries** — GX gates on the audit tables.
5. **gate** — fails (red) if any blocking expectation failed, listing them. On failure, `record_blocked`
   records the blocked publication and reconciles the held rows; the previously published libraries stay
   untouched.
6. **history, docs** — after the gate passed: SCD2 snapshots of the libraries into `history`, and the dbt
   docs site uploaded to `s3://exchange/_data_office/dbt-docs/` — both read `audit` before it is swapped.
7. **release** — emits the `audit_libraries` Asset event; `publish__libraries` swaps the tables into place.

Each dbt group is astronomer-cosmos's *watcher*: one `dbt build` of the group (`dbt_producer_watcher`,
the fast path — one process, dbt's own threads and ordering) and a sensor per model (`<model>.run`)
and per model's tests (`<model>.test`) that turns green or red as dbt reports that node, so each model's
run and tests are their own task with their own state. dbt runs a relationship test only after both its
models, and reports it under both models' `.test`. Clearing a failed `<model>.run`/`.test` re-runs that
model alone (`dbt run`/`dbt test --select <model> --indirect-selection cautious`: only its own tests).

The groups render from the manifest `govlake stack up` (and `prepare_dbt`) writes, in milliseconds.
`GOVLAKE_DBT_TASKS` in the stack's environment chooses: `per_model` (default, watcher), `per_model_local`
(a dbt process per task; multi-parent tests as tasks `<test name>_test` after all their parents — for a
worker with cores to spare: on 2 cores each task costs 20-60 s), `whole` (single tasks `dbt_staging` /
`dbt_libraries`, a whole `dbt build` each; also the fallback while no manifest exists).
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import DAG, TriggerRule, get_current_context, task

from govlake.orchestration.assets import AUDIT_LIBRARIES, raw_asset
from govlake.orchestration.defaults import DEFAULT_ARGS
from govlake.orchestration.task_bodies import LIBRARIES, staging_target
from govlake.registry import iter_datasets
from govlake.transform.airflow_tasks import manifest_available

# Per-model dbt tasks (astronomer-cosmos) unless the stack opts out or no manifest exists yet:
# GOVLAKE_DBT_TASKS = per_model (default: cosmos watcher) | per_model_local (a dbt process per task) | whole.
DBT_TASKS = os.environ.get("GOVLAKE_DBT_TASKS", "per_model")
PER_MODEL_TASKS = DBT_TASKS != "whole" and manifest_available()
DBT_EXECUTION = "local" if DBT_TASKS == "per_model_local" else "watcher"
CYCLE_DATE = "{{ ti.xcom_pull(task_ids='resolve_cycle') }}"
FULL_REFRESH = "{{ ti.xcom_pull(task_ids='prepare_libraries')['full_refresh'] }}"

DATASETS = list(iter_datasets())
AUTHORITATIVE_DEPARTMENT = "public_security"

with DAG(
    dag_id="build__libraries",
    description="dbt staging → GX row rules + quarantine → dbt libraries in audit → GX gates",
    doc_md=__doc__,
    schedule=[raw_asset(ds) for ds in DATASETS if ds.is_daily],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["build", "dbt", "quality"],
):

    @task
    def resolve_cycle() -> str:
        from govlake.orchestration.cycle_dates import cycle_date_from_context

        return cycle_date_from_context(get_current_context())

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

        from govlake.orchestration.task_bodies import blocking_failures

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
        from govlake.transform.airflow_tasks import prepare_build

        return prepare_build()

    @task(retries=1)
    def prepare_libraries(day: str) -> dict:
        from govlake.transform.airflow_tasks import prepare_libraries as prepare

        return prepare(day)

    @task(retries=1)
    def record_history(day: str) -> dict:
        from govlake.transform import snapshot_history

        return snapshot_history(day).to_dict()

    @task(retries=1)
    def publish_dbt_docs(day: str) -> dict:
        from govlake.transform import publish_docs

        return publish_docs(day).as_dict()

    day = resolve_cycle()
    if PER_MODEL_TASKS:
        from govlake.transform.airflow_tasks import dbt_task_group

        staged = dbt_task_group(
            "dbt_staging", ["tag:reference", "tag:staging"], CYCLE_DATE, execution=DBT_EXECUTION
        )
        day >> prepare_dbt() >> staged
    else:
        staged = dbt_staging(day)
    # 公安厅's registrations are validated first: other departments' consistency rules compare against
    # the registry rows that passed.
    staging_results = []
    for ds in sorted(DATASETS, key=lambda d: d.department != AUTHORITATIVE_DEPARTMENT):
        result = validator(staging_target(ds.key), f"validate_staging__{ds.key}")(day)
        (staging_results[0] if staging_results else staged) >> result
        staging_results.append(result)

    if PER_MODEL_TASKS:
        libraries = dbt_task_group(
            "dbt_libraries",
            ["tag:libraries"],
            CYCLE_DATE,
            exclude=["tag:history"],
            full_refresh_template=FULL_REFRESH,
            execution=DBT_EXECUTION,
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
    gated >> [record_history(day), publish_dbt_docs(day)] >> release(day)
