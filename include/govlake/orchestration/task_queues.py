"""Where each task runs: a Celery queue per kind of work, and a department's front-end processor (前置机).

Kinds of work are queues (``ingest``, ``transform``, ``publish``; the rest ``default``), so workers can be
given to one kind and a heavy dbt build never holds the slots deliveries need. LocalExecutor ignores
queues, so the same DAGs run unchanged on one machine.

A department the registry marks ``front_end_processor: true`` ingests on its own machine inside its
private network: when EdgeExecutor is configured next to the default executor (``core.executor`` lists it,
``govlake stack up --edge``), its ingest tasks get ``executor="EdgeExecutor"`` and ``queue=<department>``,
which only that department's edge worker pulls. Without EdgeExecutor they run centrally like the others
(a task naming an executor that is not configured would not even parse).
"""

from __future__ import annotations

import os
from typing import Any

INGEST = "ingest"
TRANSFORM = "transform"
PUBLISH = "publish"
DEFAULT = "default"
EDGE_EXECUTOR = "EdgeExecutor"


def edge_configured() -> bool:
    """True when Airflow's ``core.executor`` includes the Edge executor (read from the environment first,
    the way the stack and docker-compose configure Airflow)."""
    value = os.environ.get("AIRFLOW__CORE__EXECUTOR")
    if value is None:
        try:
            from airflow.configuration import conf

            value = conf.get("core", "executor", fallback="")
        except Exception:  # noqa: BLE001 - no Airflow configuration: no edge
            value = ""
    return EDGE_EXECUTOR in value


def queue_args(kind: str) -> dict[str, Any]:
    """Default args that put a DAG's tasks on the queue of their kind of work."""
    return {"queue": kind}


def ingest_args(dataset: Any) -> dict[str, Any]:
    """Default args of one dataset's ingest DAG: its department's edge worker, or the ingest queue."""
    if getattr(dataset, "front_end_processor", False) and edge_configured():
        return {"executor": EDGE_EXECUTOR, "queue": dataset.department}
    return queue_args(INGEST)
