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
``prepare_libraries`` task decides (:func:`prepare_libraries`) and the run tasks read its XCom.

**The manifest is generated at build time, not committed**: :func:`write_manifest` runs ``dbt parse`` into
``dbt_project/target/airflow/`` (its own target path, so test builds and ad-hoc runs never replace it) when
the manifest is missing or older than any file of the dbt project. ``govlake stack up`` and the DAG's
``prepare_dbt`` task call it. When no manifest exists yet (a fresh checkout), :func:`manifest_available` is
false and the DAG falls back to one task per layer (the whole ``dbt build`` of staging / of the libraries),
so the DAG always imports.

Telemetry: the stack sets ``AIRFLOW__COSMOS__ENABLE_TELEMETRY=False`` and ``DO_NOT_TRACK=1``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from govlake.settings import Settings
from govlake.transform.runner import DBT_PROJECT_DIR, DbtResult, run_dbt

log = logging.getLogger(__name__)

AIRFLOW_TARGET_DIR = DBT_PROJECT_DIR / "target" / "airflow"
MANIFEST_PATH = AIRFLOW_TARGET_DIR / "manifest.json"
# Everything `dbt parse` reads; a newer file in any of these makes the shipped manifest stale.
_PROJECT_INPUTS = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "snapshots", "tests")


def manifest_available(path: Path = MANIFEST_PATH) -> bool:
    return path.is_file() and path.stat().st_size > 0


def manifest_is_stale(path: Path = MANIFEST_PATH, project_dir: Path = DBT_PROJECT_DIR) -> bool:
    """True when the manifest is missing or a project file changed after it was written."""
    if not manifest_available(path):
        return True
    written = path.stat().st_mtime
    for name in _PROJECT_INPUTS:
        root = project_dir / name
        files = [root] if root.is_file() else (p for p in root.rglob("*") if p.is_file())
        if any(f.stat().st_mtime > written for f in files):
            return True
    return False


def write_manifest(settings: Settings | None = None, *, force: bool = False) -> DbtResult | None:
    """``dbt parse`` into dbt_project/target/airflow/ when the manifest is stale (or ``force``)."""
    if not force and not manifest_is_stale():
        return None
    return run_dbt(["parse"], settings, target_path=AIRFLOW_TARGET_DIR)


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


def prepare_build(settings: Settings | None = None) -> dict[str, Any]:
    """Before the per-model tasks: raw tables for every registry dataset exist, the manifest is current."""
    from govlake.warehouse import bootstrap_warehouse

    bootstrap_warehouse(settings)
    result = write_manifest(settings)
    return {"manifest": str(MANIFEST_PATH), "reparsed": result is not None}


def prepare_libraries(logical_date: str, settings: Settings | None = None) -> dict[str, Any]:
    """Before the per-model library tasks: whether incremental models must be rebuilt in full.

    True when one already holds a build for a later logical date (a re-run of an earlier date); the same
    rule ``govlake.transform.build_libraries`` applies to the whole build.
    """
    from govlake.settings import get_settings
    from govlake.transform.runner import incremental_state_is_ahead

    full_refresh = incremental_state_is_ahead(settings or get_settings(), "", logical_date)
    if full_refresh:
        log.warning("incremental models hold a build later than %s: rebuilding them in full", logical_date)
    return {"logical_date": logical_date, "full_refresh": full_refresh}
