"""The optional components of the distributed shape, as the stack manager starts, checks and stops them:
Redis + Celery workers + Flower, Edge workers (前置机), the SeaweedFS cluster in place of ``weed mini``, and
the PostgreSQL hot standby. Which run follows the settings (``GOVLAKE_EXECUTOR``, ``GOVLAKE_CELERY_WORKERS``,
``GOVLAKE_EDGE_WORKERS``, ``GOVLAKE_S3_CLUSTER``, ``GOVLAKE_STANDBY``); every wait is bounded by the
manager's deadline and ``down`` stops whichever of them ran, whatever the settings say now.
"""

from __future__ import annotations

from collections.abc import Callable

from govlake.settings import Settings
from govlake.stack import pg_standby, redis_broker, s3_cluster, scaleout
from govlake.stack.process import StackError, port_open, read_pid, spawn, stop_managed, write_pid

Check = Callable[[], tuple[bool, str]]


def ports(settings: Settings) -> dict[str, int]:
    """The ports the options add (the S3 cluster stays inside the S3 block of ``weed mini``)."""
    result = {}
    if settings.executor == "celery":
        result[f"{redis_broker.NAME}.server"] = settings.redis_port
        result[f"{scaleout.FLOWER}.http"] = settings.flower_port
    if settings.standby:
        result[f"{pg_standby.NAME}.server"] = settings.pg_standby_port
    return result


def s3_components(settings: Settings) -> list[str]:
    return s3_cluster.component_names() if settings.s3_cluster else []


def early_components(settings: Settings) -> list[str]:
    """Started before Airflow: the broker and the standby."""
    names = [redis_broker.NAME] if settings.executor == "celery" else []
    return names + ([pg_standby.NAME] if settings.standby else [])


def late_components(settings: Settings) -> list[str]:
    """Started after Airflow's API server and scheduler: workers, Flower, edge workers."""
    return scaleout.components(settings)


def all_names() -> list[str]:
    """Every optional component that may have run, in the order ``down`` should stop them."""
    return [
        *scaleout.all_possible_components(),
        *(scaleout.edge_name(d) for d in scaleout.front_end_departments()),
        redis_broker.NAME,
        *s3_cluster.ALL_NAMES,
    ]


def address(settings: Settings, name: str) -> str:
    if name == redis_broker.NAME:
        return f"127.0.0.1:{settings.redis_port}"
    if name == scaleout.FLOWER:
        return f"http://127.0.0.1:{settings.flower_port}"
    if name == pg_standby.NAME:
        return f"{settings.pg_host}:{settings.pg_standby_port}"
    if name == s3_cluster.GATEWAY:
        return settings.s3_url
    if name.startswith("edge-worker-"):
        return f"pulls {settings.airflow_url}/edge_worker/v1"
    return ""


def check(settings: Settings, name: str) -> Check:
    if name == redis_broker.NAME:
        return lambda: redis_broker.health(settings)
    if name == pg_standby.NAME:
        return lambda: pg_standby.health(settings)
    if name in s3_cluster.ALL_NAMES:
        return lambda: s3_cluster.component_health(settings, name)
    return lambda: scaleout.health(name, settings)


def status_names(settings: Settings) -> list[str]:
    return [*s3_components(settings), *early_components(settings), *late_components(settings)]


def _free(name: str, port: int) -> None:
    if port_open("127.0.0.1", port):
        raise StackError(f"{name}: port {port} is already in use by another program or stack.")


def start_s3_cluster(settings: Settings, env: dict[str, str], started: list[str], already: list[str]) -> None:
    names = s3_cluster.component_names()
    already += [n for n in names if read_pid(settings, n)]
    if len(already) < len(names):
        started += s3_cluster.start(settings, env)


def start_early(settings: Settings, env: dict[str, str], started: list[str], already: list[str]) -> None:
    if settings.executor == "celery":
        if read_pid(settings, redis_broker.NAME):
            already.append(redis_broker.NAME)
        else:
            _free(redis_broker.NAME, settings.redis_port)
            spawn(
                settings,
                redis_broker.NAME,
                redis_broker.argv(settings),
                env,
                cwd=redis_broker.data_dir(settings),
            )
            started.append(redis_broker.NAME)
    if settings.standby:
        if read_pid(settings, pg_standby.NAME) or pg_standby.standby_pid(settings):
            already.append(pg_standby.NAME)
        else:
            _free(pg_standby.NAME, settings.pg_standby_port)
            pg_standby.start(settings)
            started.append(pg_standby.NAME)
        pid = pg_standby.standby_pid(settings)
        if pid:
            write_pid(settings, pg_standby.NAME, pid)


def start_late(settings: Settings, env: dict[str, str], started: list[str], already: list[str]) -> None:
    from govlake.stack.airflow import airflow_home

    if settings.executor == "celery":
        _free(scaleout.FLOWER, settings.flower_port) if not read_pid(settings, scaleout.FLOWER) else None
    for name in late_components(settings):
        if read_pid(settings, name):
            already.append(name)
            continue
        if name.startswith("edge-worker-"):
            _wait_for_api_server(settings)  # an edge worker that cannot reach it at start exits
        spawn(settings, name, scaleout.argv(name, settings), env, cwd=airflow_home(settings))
        started.append(name)


def _wait_for_api_server(settings: Settings, timeout: float = 600) -> None:
    import time

    from govlake.stack.airflow import fetch_health

    deadline = time.monotonic() + timeout
    while fetch_health(settings) is None:
        if time.monotonic() > deadline:
            raise StackError(
                f"the Airflow API server did not answer within {timeout:.0f}s; edge workers need it"
            )
        time.sleep(2)


def start_component(settings: Settings, name: str) -> None:
    """Start one optional component again (after a fault test stopped it)."""
    from govlake.stack.airflow import airflow_env, airflow_home

    env = airflow_env(settings)
    if name == redis_broker.NAME:
        spawn(settings, name, redis_broker.argv(settings), env, cwd=redis_broker.data_dir(settings))
    elif name in s3_cluster.ALL_NAMES:
        s3_cluster.start_one(settings, name, env)
    elif name == pg_standby.NAME:
        pg_standby.start(settings)
        write_pid(settings, name, pg_standby.standby_pid(settings))
    else:
        spawn(settings, name, scaleout.argv(name, settings), env, cwd=airflow_home(settings))


def stop(settings: Settings, timeout: float) -> dict[str, str]:
    """Stop the workers first (their tasks end), then the broker and the S3 cluster; the standby last but
    one (before the primary, which the manager stops)."""
    from concurrent.futures import ThreadPoolExecutor

    results = {}
    # Workers, then the broker and the S3 cluster, each group in parallel (a volume server takes ~10 s).
    groups = [
        scaleout.all_possible_components() + [scaleout.edge_name(d) for d in scaleout.front_end_departments()]
    ]
    groups.append([redis_broker.NAME, *s3_cluster.ALL_NAMES])
    for group in groups:
        running = [name for name in group if read_pid(settings, name)]
        if not running:
            continue
        with ThreadPoolExecutor(max_workers=len(running)) as pool:
            futures = {
                name: pool.submit(stop_managed, settings, name, min(timeout, 30.0)) for name in running
            }
            results.update({name: future.result() for name, future in futures.items()})
    if pg_standby.standby_pid(settings):
        results[pg_standby.NAME] = pg_standby.stop(settings, timeout)
    from govlake.stack.process import pid_path

    pid_path(settings, pg_standby.NAME).unlink(missing_ok=True)
    return results
