"""
### Publish the validated libraries

Starts when `build__libraries` has passed its gates (Asset `audit_libraries`). For that cycle date:

1. **swap** — in one transaction, the audit tables replace `base.population` and `base.legal_entities`,
   and the `share` views (masked per the registry's grades and `config/masking.yaml`) are recreated with
   the `exchange` views over them that department roles read (per-item sharing types and grants).
2. **catalog** — the catalog (政务信息资源目录) is re-synced from the registry and the dbt manifest and the
   missing `exchange` views are created, so what departments and the public see follows every publish.
3. **reconcile** — for every batch of the date: rows in = published + quarantined, stored in
   `platform.reconciliation`; the task fails if a batch does not balance.
4. **cockpit** — after the catalog sync, the leader cockpit's small aggregate tables (schema `cockpit`)
   are rebuilt from what was published (govlake.cockpit.aggregates): its pages never scan a library.
5. **correction lists** — every department with quarantined rows for the date receives its 纠错清单
   (XLSX + CSV + manifest) in `s3://exchange/<department>/correction-lists/<date>/`.

6. **profiles** — 画像 of every catalogued resource (row count, null rates, distinct counts, safe ranges
   and top values) into `platform.resource_profiles`, so the portal's resource pages show them at once.

The open datasets are published by `publish__open_data`, scheduled on the base library Assets this DAG
emits.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, get_current_context, task

from govlake.orchestration.assets import AUDIT_LIBRARIES, BASE_LEGAL_ENTITIES, BASE_POPULATION
from govlake.orchestration.cycle_tasks import resolve_cycle
from govlake.orchestration.dag_defaults import DEFAULT_ARGS
from govlake.orchestration.task_queues import PUBLISH, queue_args

with DAG(
    dag_id="publish__libraries",
    description="swap audit → base + share views, reconciliation",
    doc_md=__doc__,
    schedule=[AUDIT_LIBRARIES],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, **queue_args(PUBLISH)},
    tags=["publish", "share", "open-data"],
):

    @task
    def sync_catalog() -> dict:
        """The catalog, the exchange views and the DCAT/GB exports follow every publish by themselves."""
        from govlake.sharing.zone import sync_catalog_and_zone

        return sync_catalog_and_zone()

    @task(outlets=[BASE_POPULATION, BASE_LEGAL_ENTITIES])
    def swap_into_place(day: str) -> list:
        from govlake.orchestration.task_bodies import publish_libraries

        publications = publish_libraries(day, validation_passed=True)
        events = get_current_context()["outlet_events"]
        for asset in (BASE_POPULATION, BASE_LEGAL_ENTITIES):
            events[asset].extra = {"logical_date": day}
        return publications

    @task
    def reconcile(day: str) -> list:
        from govlake.orchestration.task_bodies import reconcile as run

        return run(day, published=True)

    @task
    def send_correction_lists(day: str) -> list:
        from govlake.orchestration.task_bodies import send_correction_lists as run

        return run(day)

    @task
    def build_cockpit(day: str) -> dict:
        """The leader cockpit's aggregate tables (schema cockpit) from what was just published."""
        from govlake.cockpit.aggregates import build_cockpit as run

        return run(day)

    @task
    def profile_resources(day: str) -> dict:
        """画像: each catalogued resource's profile for the portal (govlake.catalog.resource_profiles)."""
        from govlake.catalog.resource_profiles import profile_resources as run

        return run(day)

    day = resolve_cycle()
    day >> send_correction_lists(day)
    swapped = swap_into_place(day)
    swapped >> reconcile(day)
    swapped >> profile_resources(day)
    swapped >> sync_catalog() >> build_cockpit(day)
