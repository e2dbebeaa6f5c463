"""Airflow beyond one process: CeleryExecutor workers (queues by kind of work), Flower, and the department
front-end processors (前置机) as Edge workers, for ``govlake stack up --executor celery --workers N --edge``.

* ``executor=local`` (default) keeps LocalExecutor; ``celery`` runs tasks on ``N`` Celery workers through
  Redis (:mod:`govlake.stack.redis_broker`). Every local worker serves every queue, so a worker that dies
  leaves its queues served; docker-compose runs one worker per queue instead (docs/SCALING.md).
* ``edge_workers`` adds Airflow 3's second executor, EdgeExecutor: ``core.executor`` becomes
  ``CeleryExecutor,<EdgeExecutor>`` (or ``LocalExecutor,…``); the ingest DAGs of departments the registry
  marks ``front_end_processor: true`` put their tasks on ``executor=EdgeExecutor, queue=<department>``
  (:mod:`govlake.orchestration.task_queues`); one edge worker per such department pulls them over HTTP
  from the API server's ``/edge_worker/v1`` (nothing connects into the department).

Worker concurrency is sized to the machine: the task slots LocalExecutor would get
(:func:`govlake.stack.airflow.machine_parallelism`) are shared by the workers, at least 2 each.
"""

from __future__ import annotations

import os
from pathlib import Path

from govlake.orchestration.task_queues import TRANSFORM
from govlake.settings import Settings
from govlake.stack.process import StackError

# Kinds of work, each a Celery queue (the task_queues module of orchestration puts tasks on them).
QUEUES: tuple[str, ...] = ("ingest", "transform", "publish", "default")
EDGE_EXECUTOR = "airflow.providers.edge3.executors.EdgeExecutor"
FLOWER = "flower"
EXECUTORS = ("local", "celery")
# A task whose worker vanished is failed (and retried elsewhere) after this many seconds without heartbeat.
HEARTBEAT_TIMEOUT = 60


def worker_name(index: int) -> str:
    return f"celery-worker-{index}"


def edge_name(department: str) -> str:
    return f"edge-worker-{department}"


def check_executor(settings: Settings) -> None:
    if settings.executor not in EXECUTORS:
        raise StackError(f"GOVLAKE_EXECUTOR={settings.executor!r}: use one of {', '.join(EXECUTORS)}.")
    if settings.executor == "celery" and not 1 <= settings.celery_workers <= 8:
        raise StackError(f"--workers {settings.celery_workers}: run 1..8 Celery workers on one machine.")


def worker_concurrency(settings: Settings, cpus: int | None = None) -> int:
    from govlake.stack.airflow import machine_parallelism

    return max(2, machine_parallelism(cpus) // max(1, settings.celery_workers))


def front_end_departments() -> list[str]:
    """Departments whose ingest runs on their own front-end processor (registry ``front_end_processor``)."""
    from govlake.registry import load_departments

    return [d.code for d in load_departments() if getattr(d, "front_end_processor", False)]


def core_executor(settings: Settings) -> str:
    """``core.executor``: the default executor first, EdgeExecutor second when front-end processors run."""
    first = "CeleryExecutor" if settings.executor == "celery" else "LocalExecutor"
    return f"{first},{EDGE_EXECUTOR}" if settings.edge_workers else first


def api_workers(settings: Settings) -> str:
    """API server processes: two when Celery or edge workers talk to its execution API (one process
    starved on a loaded 2-core host and timed out the workers' and the cycle runner's calls), else one."""
    return "2" if settings.executor == "celery" or settings.edge_workers else "1"


def airflow_config(settings: Settings, api_url: str) -> dict[str, str]:
    """The AIRFLOW__ settings the scale-out options add to the stack's (executor, broker, edge API)."""
    config = {
        "AIRFLOW__CORE__EXECUTOR": core_executor(settings),
        "AIRFLOW__API__WORKERS": api_workers(settings),
    }
    if settings.executor == "celery":
        from govlake.stack.redis_broker import broker_url

        config.update(
            {
                "AIRFLOW__CELERY__BROKER_URL": broker_url(settings),
                "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + settings.airflow_db_url.replace("+psycopg2", ""),
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(worker_concurrency(settings)),
                # One task at a time per free slot: a worker never holds tasks another could start.
                "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
                "AIRFLOW__CELERY__TASK_ACKS_LATE": "True",
                "AIRFLOW__OPERATORS__DEFAULT_QUEUE": "default",
                # cosmos puts each group's one `dbt build` (the watcher's producer task) on this queue,
                # not on its DAG's default_args queue: without it the heaviest task lands on `default`.
                "AIRFLOW__COSMOS__WATCHER_DBT_EXECUTION_QUEUE": TRANSFORM,
            }
        )
    if settings.executor == "celery" or settings.edge_workers:
        # A worker killed mid-task: its task is failed after a minute without heartbeat, then retried.
        config["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT"] = str(HEARTBEAT_TIMEOUT)
        # A task's supervisor talks to the API server's execution API from another process (another
        # machine): on a busy 2-core host 5 s (the default) timed out while the API server was parsing.
        config["AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT"] = "30"
    if settings.edge_workers:
        config.update(
            {
                "AIRFLOW__EDGE__API_ENABLED": "True",
                "AIRFLOW__EDGE__API_URL": f"{api_url}/edge_worker/v1/rpcapi",
                "AIRFLOW__EDGE__JOB_POLL_INTERVAL": "5",
                # An edge worker's request token lives for jwt_leeway seconds and is checked with the same
                # leeway: 30 s (the default) expired on a loaded 2-core host while the API server was busy.
                "AIRFLOW__API_AUTH__JWT_LEEWAY": "120",
                # Keep a day of finished edge jobs: which front-end processor ran what stays inspectable.
                "AIRFLOW__EDGE__JOB_SUCCESS_PURGE": "1440",
                "AIRFLOW__EDGE__JOB_FAIL_PURGE": "1440",
            }
        )
    return config


def components(settings: Settings) -> list[str]:
    """The extra Airflow processes of this stack, by name."""
    names: list[str] = []
    if settings.executor == "celery":
        names += [worker_name(i) for i in range(1, settings.celery_workers + 1)] + [FLOWER]
    if settings.edge_workers:
        names += [edge_name(d) for d in front_end_departments()]
    return names


def all_possible_components() -> list[str]:
    """Every name a scale-out process may carry (for ``down``, which stops whatever ran)."""
    return [*(worker_name(i) for i in range(1, 9)), FLOWER]


def argv(name: str, settings: Settings) -> list[str]:
    from govlake.stack.airflow import airflow_binary, preloaded_airflow

    airflow = str(airflow_binary())
    if name == FLOWER:
        return [
            airflow, "celery", "flower", "--hostname", "127.0.0.1", "--port", str(settings.flower_port),
            "--basic-auth", f"{settings.airflow_user}:{settings.airflow_password}",
        ]  # fmt: skip
    if name.startswith("celery-worker-"):
        index = name.rsplit("-", 1)[1]
        return [
            *preloaded_airflow(), "celery", "worker", "--queues", ",".join(QUEUES), "--concurrency",
            str(worker_concurrency(settings)), "--celery-hostname", f"worker{index}@govlake",
            "--skip-serve-logs", "--without-mingle", "--without-gossip",
        ]  # fmt: skip
    if name.startswith("edge-worker-"):
        department = name.removeprefix("edge-worker-")
        return [
            *preloaded_airflow(), "edge", "worker", "--queues", department, "--concurrency", "2",
            "--edge-hostname", f"fep-{department}", "--pid", str(edge_pid_file(settings, department)),
        ]  # fmt: skip
    raise StackError(f"unknown scale-out component {name!r}")


def edge_pid_file(settings: Settings, department: str) -> Path:
    return settings.home / "run" / f"airflow-edge-{department}.pid"


def flower_health(settings: Settings) -> tuple[bool, str]:
    import requests

    try:
        resp = requests.get(
            f"http://127.0.0.1:{settings.flower_port}/api/workers",
            auth=(settings.airflow_user, settings.airflow_password),
            timeout=5,
        )
    except requests.RequestException as exc:
        return False, f"flower not answering: {type(exc).__name__}"
    if resp.status_code != 200:
        return False, f"flower answered HTTP {resp.status_code}"
    return True, f"{len(resp.json())} workers at http://127.0.0.1:{settings.flower_port}"


def celery_workers_online(settings: Settings, timeout: float = 5) -> list[str]:
    """Hostnames of the Celery workers that answer a ping through the broker."""
    from celery import Celery

    from govlake.stack.redis_broker import broker_url

    app = Celery(broker=broker_url(settings))
    try:
        replies = app.control.ping(timeout=timeout) or []
    finally:
        app.close()
    return sorted(name for reply in replies for name in reply)


def edge_workers_online(settings: Settings) -> dict[str, str]:
    """Edge worker hostname -> state, from the metadata database (the API server's own view)."""
    import psycopg

    try:
        with psycopg.connect(settings.pg_url(settings.airflow_db), connect_timeout=3) as conn:
            rows = conn.execute("select worker_name, state from edge_worker").fetchall()
    except psycopg.Error:
        return {}
    return {name: state for name, state in rows}


def health(name: str, settings: Settings) -> tuple[bool, str]:
    if name == FLOWER:
        return flower_health(settings)
    if name.startswith("celery-worker-"):
        index = name.rsplit("-", 1)[1]
        try:
            online = celery_workers_online(settings, timeout=2)
        except Exception as exc:  # noqa: BLE001 - broker not reachable yet
            return False, f"broker not reachable: {type(exc).__name__}"
        host = f"worker{index}@govlake"
        return host in online, f"{host} answers ping" if host in online else f"{host} not answering ping"
    if name.startswith("edge-worker-"):
        host = "fep-" + name.removeprefix("edge-worker-")
        state = edge_workers_online(settings).get(host)
        ok = state in ("idle", "running", "starting")
        return ok, f"{host} {state or 'not registered'} (pulls queue {name.removeprefix('edge-worker-')})"
    raise StackError(f"unknown scale-out component {name!r}")


def cpu_count() -> int:
    return os.cpu_count() or 1


def scaleout_settings(
    settings: Settings,
    executor: str | None = None,
    workers: int | None = None,
    edge: bool | None = None,
    s3: str | None = None,
    standby: bool | None = None,
) -> Settings:
    """The settings with the ``stack up`` options applied (None keeps what the environment/stack.env say)."""
    from dataclasses import replace

    changes: dict[str, object] = {}
    if executor is not None:
        changes["executor"] = executor
    if workers is not None:
        changes["celery_workers"] = workers
    if edge is not None:
        changes["edge_workers"] = edge
    if s3 is not None:
        if s3 not in ("single", "cluster"):
            raise StackError(f"--s3 {s3}: use single or cluster")
        changes["s3_cluster"] = s3 == "cluster"
    if standby is not None:
        changes["standby"] = standby
    result = replace(settings, **changes)
    check_executor(result)
    return result
