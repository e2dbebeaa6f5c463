"""Per-model dbt tasks for the build DAG: astronomer-cosmos task groups rendered from a shipped manifest.

Engineers see each model's run and its tests as their own Airflow tasks (``dbt_staging.<model>.run``,
``.test``), retry one model, and read one model's log. Cosmos renders the groups from ``manifest.json``
(``LoadMode.DBT_MANIFEST``): the dag-processor re-parses the DAG file every few seconds, and reading a JSON
file costs milliseconds where ``dbt ls`` would cost seconds per parse.

**Execution: cosmos watcher** (default). One ``dbt build`` per group (task ``dbt_producer_watcher``: one
process, dbt's own threads and node ordering) and, per model, a sensor ``<model>.run`` and a sensor
``<model>.test`` that read that node's result from the producer's XComs — so each model's run and tests are
tasks with their own state and log, at the cost of one Airflow task process each. Tests with several
parents (relationships, e.g. ``legal_entities.legal_rep_id`` -> ``population``) run inside the single build,
after all their parents (dbt's ordering), and count for each parent's ``.test``. Clearing a failed sensor
re-runs that node alone (``dbt run`` / ``dbt test --select <model> --indirect-selection cautious``: only the
tests whose parents are all selected, i.e. the model's own).

``execution="local"`` (``GOVLAKE_DBT_TASKS=per_model_local``) runs a dbt process per task instead: each
model's test task runs with ``--indirect-selection cautious`` (``dbt test --select <model>`` would otherwise
pick up, eagerly, relationship tests whose other model is not built yet), and each multi-parent test gets
its own task ``<test name>_test`` (cosmos ``should_detach_multiple_parents_tests``) downstream of all its
parents in the group. A parent outside the group (a seed or staging view under the libraries) is built by
the earlier group, which the DAG runs first; no test spans both groups (tests/transform checks it).

**Incremental models** (``int_persons_versioned``) are rebuilt in full when they already hold a later
logical date than the cycle's (a re-run of an earlier date), as ``build_libraries`` does: the
``prepare_libraries`` task decides (:func:`govlake.orchestration.task_bodies.prepare_libraries`) and the run tasks read its XCom.

The manifest comes from :mod:`govlake.transform.manifest` (generated at build time, not committed).

Telemetry: the stack sets ``AIRFLOW__COSMOS__ENABLE_TELEMETRY=False`` and ``DO_NOT_TRACK=1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from govlake.transform.manifest import MANIFEST_PATH
from govlake.transform.runner import DBT_PROJECT_DIR


def dbt_task_group(
    group_id: str,
    select: Sequence[str],
    logical_date_template: str,
    *,
    exclude: Sequence[str] = (),
    full_refresh_template: str | bool = False,
    execution: str = "watcher",
    **kwargs: Any,
):
    """A cosmos ``DbtTaskGroup``: one run task and one test task per selected model (seeds: one seed task).

    ``execution="watcher"`` (the default): one ``dbt build`` of the group (task ``dbt_producer_watcher``)
    and a sensor per model run and per model's tests that turns green or red as dbt reports that node.
    ``execution="local"``: a dbt invocation per task, multi-parent tests detached into tasks of their own
    (see the module docstring) — more isolated, but ~20-60 s of process start per task on a small machine.

    ``logical_date_template`` is a Jinja template (e.g. the resolve task's XCom) rendered at run time into
    the environment variable GOVLAKE_LOGICAL_DATE (not ``--vars``: a new var value re-parses the whole
    project, see ``govlake.transform.runner``); ``full_refresh_template`` likewise decides
    ``--full-refresh`` of the run tasks. Connection settings come from the GOVLAKE_PG_* environment the
    stack gives every Airflow process, through ``dbt_project/profiles.yml``.
    """
    import sys

    from cosmos import (
        DbtTaskGroup,
        ExecutionConfig,
        ProfileConfig,
        ProjectConfig,
        RenderConfig,
    )
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior, TestIndirectSelection

    if execution not in ("watcher", "local"):
        raise ValueError(f"execution must be 'watcher' or 'local', not {execution!r}")
    watcher = execution == "watcher"
    dbt_bin = Path(sys.executable).parent / "dbt"
    return DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=DBT_PROJECT_DIR,
            manifest_path=MANIFEST_PATH,
            project_name="govlake",
            partial_parse=True,
        ),
        profile_config=ProfileConfig(
            profile_name="govlake",
            target_name="local",
            profiles_yml_filepath=DBT_PROJECT_DIR / "profiles.yml",
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER if watcher else ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.DBT_RUNNER,
            dbt_executable_path=dbt_bin,
            # a model's own test task (local mode, or a watcher sensor re-run on retry) runs only the
            # tests whose parents are all selected: the model's own
            test_indirect_selection=TestIndirectSelection.CAUTIOUS,
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            select=list(select),
            exclude=list(exclude),
            test_behavior=TestBehavior.AFTER_EACH,
            # local mode: relationships and other multi-parent tests get a task of their own, after every
            # parent in the group (the watcher's single dbt build orders them itself)
            should_detach_multiple_parents_tests=not watcher,
            emit_datasets=False,
        ),
        operator_args={
            "full_refresh": full_refresh_template,
            "install_deps": False,
            "env": {
                "GOVLAKE_LOGICAL_DATE": logical_date_template,
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
                "DO_NOT_TRACK": "1",
            },
            "append_env": True,
            # watcher sensors mostly start after dbt has reported their node (they wait for their parents'
            # sensors): poking in place is one worker process, deferring would be two (start + resume)
            **({"deferrable": False, "poke_interval": 5, "timeout": 2 * 3600} if watcher else {}),
        },
        **kwargs,
    )
