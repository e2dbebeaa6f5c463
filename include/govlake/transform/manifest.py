"""The dbt manifest the Airflow build DAG renders its per-model tasks from.

**Generated at build time, not committed**: :func:`write_manifest` runs ``dbt parse`` into
``dbt_project/target/airflow/`` (its own target path, so test builds and ad-hoc runs never replace it) when
the manifest is missing or older than any file of the dbt project. ``govlake stack up`` and the build DAG's
``prepare_dbt`` task call it. When no manifest exists yet (a fresh checkout), :func:`manifest_available` is
false and the DAG falls back to one task per layer, so the DAG always imports.
"""

from __future__ import annotations

from pathlib import Path

from govlake.settings import Settings
from govlake.transform.runner import DBT_PROJECT_DIR, DbtResult, run_dbt

AIRFLOW_TARGET_DIR = DBT_PROJECT_DIR / "target" / "airflow"
MANIFEST_PATH = AIRFLOW_TARGET_DIR / "manifest.json"

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
