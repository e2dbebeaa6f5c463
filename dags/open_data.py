"""
### Publish the open datasets

Starts when the base libraries have been swapped into place (Assets `base_population` and
`base_legal_entities`, both emitted by `publish__libraries`). For that cycle date, one task per open
dataset in `include/govlake/config/open_datasets.yaml`:

1. **build** in SQL from the base library — aggregates with cells below k suppressed, or de-identified
   records with quasi-identifiers generalised until every published group has at least k records;
2. **scan** every file (CSV, Parquet, JSON, dictionary, metadata) — a resident ID, a mobile or bank card
   number, or an item graded above what the open type allows blocks the release, nothing is uploaded;
3. **publish** to `s3://open/<dataset>/<version>/` (version = the date, `-rN` for a changed re-release;
   earlier versions stay), load the datastore table in schema `open`, record the release (k achieved,
   rows, checksums, suppressed) in `platform.open_releases`.

A blocked dataset fails its own task only; the others still publish. When every release task has
finished (published or blocked), **refresh_cockpit** rebuilds the leader cockpit's tables so its open-data
figures count this release, not the one before; **blocked_releases** then fails the run if any release
was blocked (the refresh succeeding must not turn a blocked release's run green).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, get_current_context, task

from govlake.opendata.definitions import load_open_registry
from govlake.orchestration.assets import BASE_LEGAL_ENTITIES, BASE_POPULATION, open_asset
from govlake.orchestration.cycle_tasks import resolve_cycle
from govlake.orchestration.dag_defaults import DEFAULT_ARGS
from govlake.orchestration.task_queues import PUBLISH, queue_args

with DAG(
    dag_id="publish__open_data",
    description="open datasets: de-identify, scan, versioned release to s3://open + CKAN datastore",
    doc_md=__doc__,
    schedule=[BASE_POPULATION, BASE_LEGAL_ENTITIES],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, **queue_args(PUBLISH)},
    tags=["publish", "open-data"],
):

    @task
    def release(name: str, day: str) -> dict:
        from govlake.opendata.release import publish_open_dataset

        result = publish_open_dataset(name, day).as_dict()
        get_current_context()["outlet_events"][open_asset(name)].extra = {
            "logical_date": day,
            "version": result["version"],
        }
        return result

    @task(trigger_rule="all_done")
    def refresh_cockpit(day: str) -> dict:
        """The cockpit's tables again, now that the open releases of the date are recorded."""
        from govlake.cockpit.aggregates import build_cockpit

        return build_cockpit(day)

    @task(trigger_rule="one_failed", retries=0)
    def blocked_releases() -> None:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException("an open dataset's release was blocked or failed: see its release__ task")

    day = resolve_cycle()
    releases = [
        release.override(task_id=f"release__{_ds.name.replace('-', '_')}", outlets=[open_asset(_ds.name)])(
            _ds.name, day
        )
        for _ds in load_open_registry().datasets
    ]
    releases >> refresh_cockpit(day)
    releases >> blocked_releases()
