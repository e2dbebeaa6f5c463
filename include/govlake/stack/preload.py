"""Run an Airflow command with the task code already imported, like gunicorn's ``--preload``.

``python -m govlake.stack.preload scheduler --skip-serve-logs`` is ``airflow scheduler --skip-serve-logs``
started after :data:`PRELOADED` is imported. LocalExecutor forks its workers from the scheduler, and Airflow's
supervisor forks each task's process from a worker (Celery's prefork pool and the edge worker do the same), so
a module the parent holds is one no task imports again. Without it, every one of a small cycle's ~150 tasks
pays for its own imports: Great Expectations alone is 3.7–5 s of CPU per validation task, the build DAG's
file (cosmos, the orchestration package) ~0.8 s per dbt sensor, on a machine with two cores.

Only imports happen here: no connection, thread or file is opened before Airflow forks (a test checks).
"""

from __future__ import annotations

import importlib
import logging
import sys
import time

# What the DAG files and the task bodies (govlake.orchestration.task_bodies) import, heaviest first.
PRELOADED: tuple[str, ...] = (
    "great_expectations",
    "govlake.quality.gx_runner",
    "govlake.quality.validate",
    "dbt.cli.main",
    "airflow.sdk",
    "airflow.sdk.execution_time.task_runner",
    "airflow.sdk.execution_time.supervisor",
    "cosmos.converter",
    "govlake.orchestration.library_build_dag",
    "govlake.orchestration.ingest_dags",
    "govlake.orchestration.export_dags",
    "govlake.orchestration.task_bodies",
    "govlake.ingest",
    "govlake.transform",
    "govlake.publish.swap",
    "govlake.publish.reconcile",
    "govlake.opendata.definitions",
    "pandas",
    "pyarrow.parquet",
)

log = logging.getLogger(__name__)


def preload(names: tuple[str, ...] = PRELOADED) -> dict[str, float]:
    """Import each module; seconds per module. A module that fails to import is logged and skipped: the
    task that needs it reports the error itself, with its own context."""
    seconds: dict[str, float] = {}
    for name in names:
        started = time.perf_counter()
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - never keep Airflow from starting
            log.warning("preload: %s could not be imported (%s); tasks will import it themselves", name, exc)
            continue
        seconds[name] = time.perf_counter() - started
    return seconds


def main() -> None:
    preload()
    from airflow.__main__ import main as airflow_main

    sys.argv = ["airflow", *sys.argv[1:]]
    airflow_main()


if __name__ == "__main__":
    main()
