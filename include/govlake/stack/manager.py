"""Bring the whole local stack up, report on it, and take it down.

Order matters: SeaweedFS boots in the background while PostgreSQL initialises and starts; the department
API needs PostgreSQL; Airflow needs its migrated metadata database. ``up`` is idempotent (whatever already
runs is left alone and reported), every wait is bounded, and a component that fails is named together with
its log file. ``down`` stops everything this stack started, whoever started it, within a bounded time.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from govlake.settings import Settings, ensure_secrets, record_env
from govlake.stack import airflow, distributed, postgres, s3, s3_cluster, services, web
from govlake.stack.process import (
    StackError,
    find_stack_processes,
    kill_pids,
    log_path,
    pid_alive,
    port_open,
    read_pid,
    spawn,
    stop_managed,
    tail,
)
from govlake.warehouse import bootstrap_warehouse

Progress = Callable[[str], None]

COMPONENTS: tuple[str, ...] = (postgres.NAME, s3.NAME, web.NAME, *airflow.COMPONENTS)  # + stack services
# How long each component may take to stop on SIGTERM before its process group is killed.
STOP_TIMEOUTS = {
    s3.NAME: 30.0,
    web.NAME: 10.0,
    **{name: 30.0 for name in airflow.COMPONENTS},
}


@dataclass
class ComponentStatus:
    name: str
    pid: int | None
    address: str
    healthy: bool
    detail: str
    log: Path | None = None
    state: str = "running"  # running | stopped | missing


@dataclass
class StackStatus:
    components: list[ComponentStatus]
    started: list[str] = field(default_factory=list)
    already_running: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """Every component that exists is up and healthy (a missing optional one does not count)."""
        return all(c.healthy for c in self.components if c.state != "missing")

    def get(self, name: str) -> ComponentStatus:
        return next(c for c in self.components if c.name == name)


def _noop(_: str) -> None:
    pass


def _services() -> list[services.StackService]:
    return services.discover()


# -- status ---------------------------------------------------------------------------------------------


def _postgres_status(settings: Settings) -> ComponentStatus:
    pid = postgres.postmaster_pid(settings)
    address = f"{settings.pg_host}:{settings.pg_port}"
    log = log_path(settings, postgres.NAME)
    if pid is None:
        return ComponentStatus(postgres.NAME, None, address, False, "not running", log, "stopped")
    ok, detail = postgres.health(settings)
    return ComponentStatus(postgres.NAME, pid, address, ok, detail, log)


def _managed_status(
    settings: Settings, name: str, address: str, check: Callable[[], tuple[bool, str]]
) -> ComponentStatus:
    record = read_pid(settings, name)
    log = log_path(settings, name)
    if record is None:
        return ComponentStatus(name, None, address, False, "not running", log, "stopped")
    ok, detail = check()
    return ComponentStatus(name, record.pid, address, ok, detail, log)


def status(settings: Settings) -> list[ComponentStatus]:
    """One line per component: pid, address, health and why."""
    result = [
        _postgres_status(settings),
        _managed_status(settings, s3.NAME, settings.s3_url, lambda: s3.health(settings)),
    ]
    for service in _services():
        result.append(
            _managed_status(
                settings, service.name, service.address(settings), lambda s=service: s.health(settings)
            )
        )
    result.append(_managed_status(settings, web.NAME, settings.web_url, lambda: web.health(settings)))
    doc = airflow.fetch_health(settings) if read_pid(settings, "airflow-api-server") else None
    for name in airflow.COMPONENTS:
        address = settings.airflow_url if name == "airflow-api-server" else ""
        result.append(
            _managed_status(settings, name, address, lambda n=name: airflow.component_health(n, doc))
        )
    # The scale-out options' components (docs/SCALING.md); the S3 cluster stands in for `weed mini`.
    result += [
        _managed_status(settings, n, distributed.address(settings, n), distributed.check(settings, n))
        for n in distributed.status_names(settings)
    ]
    return [c for c in result if not (settings.s3_cluster and c.name == s3.NAME)]


# -- ports ----------------------------------------------------------------------------------------------


def stack_ports(settings: Settings) -> dict[str, int]:
    """Every TCP port this stack uses, by ``component.purpose``; all derive from the settings."""
    ports = {f"{postgres.NAME}.server": settings.pg_port}
    ports.update(
        {
            f"{s3.NAME}.{k}": v
            for k, v in s3.weed_ports(s3.split_endpoint(settings.s3_endpoint)[1]).all().items()
        }
    )
    ports.update({f"airflow.{k}": v for k, v in airflow.airflow_ports(settings).__dict__.items()})
    for service in _services():
        ports.update({f"{service.name}.{k}": v for k, v in service.ports(settings).items()})
    ports[f"{web.NAME}.http"] = settings.web_port
    ports.update(distributed.ports(settings))
    return ports


def port_collisions(settings: Settings) -> list[str]:
    """Pairs of stack parts that were configured onto the same port."""
    seen: dict[int, str] = {}
    clashes = []
    for name, port in stack_ports(settings).items():
        if port in seen:
            clashes.append(f"{seen[port]} and {name} both on port {port}")
        seen.setdefault(port, name)
    return clashes


# -- up -------------------------------------------------------------------------------------------------


def _ensure_free(component: str, host: str, ports: dict[str, int], setting: str) -> None:
    """Refuse to start on a port someone else holds: the other program would answer our health checks."""
    for label, port in ports.items():
        if port and port_open(host, port):
            raise StackError(
                f"{component}: port {port} ({label}) on {host} is already in use by another program or another "
                f"stack. Stop it, or move this stack with {setting}."
            )


def _wait_healthy(
    settings: Settings, name: str, check: Callable[[], tuple[bool, str]], deadline: float, progress: Progress
) -> str:
    """Poll ``check`` until healthy; fail fast, with the log's tail, if the process has died."""
    log = log_path(settings, name)
    detail = "starting"
    while time.monotonic() < deadline:
        record = read_pid(settings, name) if name != postgres.NAME else True
        if record is None:
            raise StackError(f"{name} exited during start-up. Log: {log}\n--- last lines ---\n{tail(log)}")
        ok, detail = check()
        if ok:
            return detail
        progress(f"waiting for {name}: {detail}")
        time.sleep(1)
    raise StackError(
        f"{name} did not become healthy in time (last check: {detail}). Log: {log}\n"
        f"--- last lines ---\n{tail(log)}"
    )


def _start_s3(settings: Settings, started: list[str], already: list[str]) -> None:
    if settings.s3_cluster:
        env = {**s3.weed_env(settings), **airflow.govlake_env(settings)}
        distributed.start_s3_cluster(settings, env, started, already)
        return
    if read_pid(settings, s3.NAME):
        already.append(s3.NAME)
        return
    host, port = s3.split_endpoint(settings.s3_endpoint)
    _ensure_free(s3.NAME, host, s3.weed_ports(port).all(), "GOVLAKE_S3_ENDPOINT")
    s3.prepare(settings)
    env = {**s3.weed_env(settings), **airflow.govlake_env(settings)}
    spawn(settings, s3.NAME, s3.weed_argv(settings), env, cwd=s3.data_dir(settings))
    started.append(s3.NAME)


def _start_postgres(settings: Settings, started: list[str], already: list[str], progress: Progress) -> None:
    if postgres.postmaster_pid(settings) is not None:
        already.append(postgres.NAME)
        postgres.ensure_databases(settings)
        return
    _ensure_free(postgres.NAME, settings.pg_host, {"postgres": settings.pg_port}, "GOVLAKE_PG_PORT")
    progress("starting PostgreSQL")
    postgres.start(settings)
    started.append(postgres.NAME)


def _start_services(settings: Settings, started: list[str], already: list[str]) -> None:
    """Configure and start every stack service (:mod:`govlake.stack.services`) that is not running."""
    for service in _services():
        record_env(settings, service.configure(settings))
        if read_pid(settings, service.name):
            already.append(service.name)
            continue
        _ensure_free(service.name, "127.0.0.1", service.ports(settings), f"the {service.name} service's port")
        spawn(settings, service.name, service.argv(settings), airflow.airflow_env(settings))
        started.append(service.name)


def _start_web(settings: Settings, started: list[str], already: list[str]) -> None:
    if read_pid(settings, web.NAME):
        already.append(web.NAME)
        return
    _ensure_free(web.NAME, settings.web_host, {"http": settings.web_port}, "GOVLAKE_WEB_PORT")
    spawn(settings, web.NAME, web.argv(settings), airflow.airflow_env(settings))
    started.append(web.NAME)


def _migrate_airflow(settings: Settings, env: dict[str, str], timeout: float) -> None:
    """``airflow db migrate``: idempotent, and required before any component starts."""
    log = log_path(settings, "airflow-migrate")
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            airflow.migrate_argv(),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=str(settings.home),
        )
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            proc.kill()
            raise StackError(f"airflow db migrate did not finish within {timeout:.0f}s. Log: {log}") from exc
    if code != 0:
        raise StackError(
            f"airflow db migrate failed (exit {code}). Log: {log}\n--- last lines ---\n{tail(log)}"
        )


def _start_airflow(
    settings: Settings, started: list[str], already: list[str], progress: Progress, timeout: float
) -> None:
    needed = [name for name in airflow.COMPONENTS if read_pid(settings, name) is None]
    already += [name for name in airflow.COMPONENTS if name not in needed]
    if not needed:
        return
    if "airflow-api-server" in needed:
        ports = airflow.airflow_ports(settings)
        _ensure_free("airflow-api-server", settings.airflow_host, {"api": ports.api}, "GOVLAKE_AIRFLOW_PORT")
    airflow.prepare(settings)
    env = airflow.airflow_env(settings)
    progress("migrating the Airflow metadata database (airflow db migrate)")
    _migrate_airflow(settings, env, timeout)
    for name in needed:
        spawn(settings, name, airflow.component_argv(name, settings), env, cwd=airflow.airflow_home(settings))
        started.append(name)


def _health_check(settings: Settings, name: str) -> Callable[[], tuple[bool, str]]:
    if name in distributed.status_names(settings):
        return distributed.check(settings, name)
    if name == postgres.NAME:
        return lambda: postgres.health(settings)
    if name == s3.NAME:
        return lambda: s3.health(settings)
    for service in _services():
        if name == service.name:
            return lambda: service.health(settings)
    if name == web.NAME:
        return lambda: web.health(settings)
    return lambda: airflow.component_health(name, airflow.fetch_health(settings))


def _with_secrets(settings: Settings) -> Settings:
    """Fill empty secrets (generated once, persisted in stack.env) without dropping the caller's settings."""
    filled = ensure_secrets(settings)
    secret_names = [f.name for f in fields(Settings) if not f.repr]
    return replace(
        settings, **{name: getattr(filled, name) for name in secret_names if not getattr(settings, name)}
    )


def _write_dbt_manifest(settings: Settings) -> None:
    """``dbt parse`` before the dag-processor starts, so build__libraries has its per-model shape
    from the first parse instead of changing shape under a running cycle."""
    from govlake.transform.manifest import write_manifest

    write_manifest(settings)


def up(settings: Settings, timeout: float = 300, progress: Progress | None = None) -> StackStatus:
    """Start every component that is not running and wait until all are healthy (bounded by ``timeout``)."""
    progress = progress or _noop
    clashes = port_collisions(settings)
    if clashes:
        raise StackError(
            "The stack's ports overlap: "
            + "; ".join(clashes)
            + ". Space GOVLAKE_PG_PORT, GOVLAKE_S3_ENDPOINT "
            "(uses port..port+13 and one 10000 below), GOVLAKE_AIRFLOW_PORT (port..port+3) and "
            "GOVLAKE_DEPARTMENT_API_PORT apart."
        )
    settings = _with_secrets(settings)
    for sub in ("run", "logs"):
        (settings.home / sub).mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    started: list[str] = []
    already: list[str] = []
    progress("starting SeaweedFS S3")
    _start_s3(settings, started, already)
    _start_postgres(settings, started, already, progress)
    s3_name = s3_cluster.GATEWAY if settings.s3_cluster else s3.NAME
    _wait_healthy(settings, s3_name, _health_check(settings, s3_name), deadline, progress)
    s3.create_buckets(settings)
    progress("preparing the warehouse (platform schema, raw tables)")
    bootstrap_warehouse(settings)
    distributed.start_early(settings, airflow.airflow_env(settings), started, already)
    progress("parsing the dbt project (manifest for per-model Airflow tasks)")
    _write_dbt_manifest(settings)
    _start_services(settings, started, already)
    _start_web(settings, started, already)
    _start_airflow(settings, started, already, progress, max(30.0, deadline - time.monotonic()))
    distributed.start_late(settings, airflow.airflow_env(settings), started, already)
    for name in started:
        _wait_healthy(settings, name, _health_check(settings, name), deadline, progress)
    return StackStatus(status(settings), started, already)


# -- down -----------------------------------------------------------------------------------------------


def down(settings: Settings, timeout: float = 60) -> dict[str, str]:
    """Stop every component; returns what happened to each. Bounded by about 2 x ``timeout`` seconds.

    Airflow, the department API and S3 stop in parallel (each SIGTERM to its process group, SIGKILL after
    its own bound); PostgreSQL stops last (``pg_ctl stop -m fast``) because the others use it while they
    shut down. Anything still carrying this stack's marker in its environment is then killed.
    """
    others = [name for name in COMPONENTS if name != postgres.NAME] + [svc.name for svc in _services()]
    with ThreadPoolExecutor(max_workers=len(others)) as pool:
        futures = {
            name: pool.submit(stop_managed, settings, name, min(timeout, STOP_TIMEOUTS.get(name, timeout)))
            for name in others
        }
        results = {name: future.result() for name, future in futures.items()}
    results.update(distributed.stop(settings, timeout))
    results[postgres.NAME] = postgres.stop(settings, timeout)
    strays = find_stack_processes(settings.home)
    if strays:
        kill_pids(strays)
        results["strays"] = f"killed {len(strays)} leftover process(es): {strays}"
    return results


def running_pids(settings: Settings) -> list[int]:
    """Every live process of this stack (managed processes, their children, the postmaster)."""
    pids = set(find_stack_processes(settings.home))
    pg = postgres.postmaster_pid(settings)
    if pg is not None and pid_alive(pg):
        pids.add(pg)
    for name in [*COMPONENTS, *(svc.name for svc in _services())]:
        record = read_pid(settings, name)
        if record is not None:
            pids.add(record.pid)
    return sorted(pids)
