"""Per-model dbt tasks for the build DAG: astronomer-cosmos task groups rendered from a shipped manifest.

Engineers see each model's run and its tests as their own Airflow tasks (``dbt_staging.<model>.run``,
``.test``), retry one model, and read one model's log. Cosmos renders the groups from ``manifest.json``
(``LoadMode.DBT_MANIFEST``): the dag-processor re-parses the DAG file every few seconds, and reading a JSON
file costs milliseconds where ``dbt ls`` would cost seconds per parse.

**The manifest is generated at build time, not committed**: :func:`write_manifest` runs ``dbt parse`` into
``dbt_project/target/airflow/`` (its own target path, so test builds and ad-hoc runs never replace it) when
the manifest is missing or older than any file of the dbt project. ``build_staging`` and the DAG's
``prepare_dbt`` task call it, and ``govlake.transform.write_manifest()`` can be run by ``stack up``. When no
manifest exists yet (a fresh checkout), :func:`manifest_available` is false and the DAG falls back to one
task per layer (the whole ``dbt build`` of staging / of the libraries), so the DAG always imports.

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
    **kwargs: Any,
):
    """A cosmos ``DbtTaskGroup``: one run task and one test task per selected model (seeds: one seed task).

    ``logical_date_template`` is a Jinja template (e.g. the resolve task's XCom) rendered at run time into
    ``--vars '{logical_date: ...}'``. Connection settings come from the GOVLAKE_PG_* environment the stack
    gives every Airflow process, through ``dbt_project/profiles.yml``.
    """
    import sys

    from cosmos import (
        DbtTaskGroup,
        ExecutionConfig,
        ProfileConfig,
        ProjectConfig,
        RenderConfig,
    )
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

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
            execution_mode=ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.DBT_RUNNER,
            dbt_executable_path=dbt_bin,
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            select=list(select),
            exclude=list(exclude),
            test_behavior=TestBehavior.AFTER_EACH,
            emit_datasets=False,
        ),
        operator_args={
            "vars": {"logical_date": logical_date_template},
            "install_deps": False,
            "env": {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"},
            "append_env": True,
        },
        **kwargs,
    )


def prepare_build(settings: Settings | None = None) -> dict[str, Any]:
    """Before the per-model tasks: raw tables for every registry dataset exist, the manifest is current."""
    from govlake.warehouse import bootstrap_warehouse

    bootstrap_warehouse(settings)
    result = write_manifest(settings)
    return {"manifest": str(MANIFEST_PATH), "reparsed": result is not None}
