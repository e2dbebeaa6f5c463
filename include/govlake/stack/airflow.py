"""Airflow 3.3 for the local stack: api-server, scheduler, dag-processor and triggerer as separate processes.

Not ``airflow standalone``: each component is its own managed process with its own log, so one that dies
is visible in ``govlake stack status`` and the others keep running. Configuration is entirely environment
variables (:func:`airflow_env`), so the CLI, tests and every task see the same settings; option names are
those of Airflow 3.3's ``config_templates/config.yml``.

Secrets Airflow needs (Fernet key for connections, JWT secret shared by the API server and the tasks'
execution API, the API's session secret) are generated once and kept in ``<home>/airflow/secrets.json``,
so tokens and encrypted values stay valid across restarts.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import quote

import requests

from govlake.lineage.event_store import ingest_token
from govlake.settings import PROJECT_DIR, Settings
from govlake.stack import scaleout
from govlake.stack.process import StackError

# Component name -> the `airflow` sub-command. Log servers are skipped: with LocalExecutor the API server
# reads task logs from the shared log folder, and serve-logs would listen on all interfaces.
COMPONENTS: dict[str, list[str]] = {
    "airflow-api-server": ["api-server"],
    "airflow-scheduler": ["scheduler", "--skip-serve-logs"],
    "airflow-dag-processor": ["dag-processor"],
    "airflow-triggerer": ["triggerer", "--skip-serve-logs"],
}
# Which key of /api/v2/monitor/health speaks for each component (the API server answers for itself).
HEALTH_KEYS = {
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag_processor",
    "airflow-triggerer": "triggerer",
}
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"


@dataclass(frozen=True)
class AirflowPorts:
    """The API server's port and the ports Airflow would otherwise default to 8793/8794/8974."""

    api: int
    worker_log_server: int
    trigger_log_server: int
    scheduler_health: int


def airflow_ports(settings: Settings) -> AirflowPorts:
    port = settings.airflow_port
    if port + 3 > 65535:
        raise StackError(
            f"GOVLAKE_AIRFLOW_PORT={port} leaves no room for Airflow's helper ports (port+1..+3)."
        )
    return AirflowPorts(port, port + 1, port + 2, port + 3)


def airflow_home(settings: Settings) -> Path:
    return settings.home / "airflow"


def passwords_file(settings: Settings) -> Path:
    return airflow_home(settings) / "simple_auth_manager_passwords.json"


def secrets_file(settings: Settings) -> Path:
    return airflow_home(settings) / "secrets.json"


def airflow_binary() -> Path:
    beside = Path(sys.executable).parent / "airflow"
    if beside.exists():
        return beside
    found = shutil.which("airflow")
    if not found:
        raise StackError("The `airflow` command is not installed next to this Python nor on PATH.")
    return Path(found)


def machine_parallelism(cpus: int | None = None) -> int:
    """How many task slots LocalExecutor gets: twice the cores (tasks mostly wait on Postgres/S3), at least 4."""
    return max(4, 2 * (cpus or os.cpu_count() or 1))


def load_secrets(settings: Settings) -> dict[str, str]:
    """The Airflow secrets of this stack, generated on first use and then kept."""
    path = secrets_file(settings)
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        values = {}
    wanted = {
        # A Fernet key is 32 random bytes, url-safe base64.
        "fernet_key": lambda: base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "jwt_secret": lambda: secrets.token_urlsafe(48),
        "api_secret_key": lambda: secrets.token_urlsafe(32),
        "redis_password": lambda: secrets.token_urlsafe(24),
    }
    missing = {k: make() for k, make in wanted.items() if not values.get(k)}
    if missing:
        values.update(missing)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2) + "\n", encoding="utf-8")
        path.chmod(0o600)
    return values


def govlake_env(settings: Settings) -> dict[str, str]:
    """Every GOVLAKE_* value (all Settings fields and the export lines) so tasks load the same settings."""
    env = {}
    for line in settings.export_lines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value.strip("'")
    for f in fields(Settings):
        value = getattr(settings, f.name)
        env[f"GOVLAKE_{f.name.upper()}"] = str(value)
    env["GOVLAKE_PROJECT_DIR"] = str(PROJECT_DIR)
    return env


def connection_env(settings: Settings) -> dict[str, str]:
    """Airflow connections the DAGs use, from the environment (never stored in the metadata DB)."""
    warehouse = (
        f"postgres://{quote(settings.pg_user, safe='')}:{quote(settings.pg_password, safe='')}"
        f"@{settings.pg_host}:{settings.pg_port}/{settings.warehouse_db}"
    )
    s3 = {
        "conn_type": "aws",
        "login": settings.s3_access_key,
        "password": settings.s3_secret_key,
        "extra": {"endpoint_url": settings.s3_url, "region_name": settings.s3_region},
    }
    return {"AIRFLOW_CONN_GOVLAKE_WAREHOUSE": warehouse, "AIRFLOW_CONN_GOVLAKE_S3": json.dumps(s3)}


def airflow_config(settings: Settings, cpus: int | None = None) -> dict[str, str]:
    """The AIRFLOW__SECTION__KEY settings of the local stack (secrets included)."""
    ports = airflow_ports(settings)
    home = airflow_home(settings)
    secret = load_secrets(settings)
    parallelism = str(machine_parallelism(cpus))
    api_url = f"http://{settings.airflow_host}:{ports.api}"
    return {
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_DIR / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_DIR / "plugins"),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": parallelism,
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": parallelism,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__FERNET_KEY": secret["fernet_key"],
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_url}/execution/",
        "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{settings.airflow_user}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file(settings)),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": settings.airflow_db_url,
        "AIRFLOW__API__HOST": settings.airflow_host,
        "AIRFLOW__API__PORT": str(ports.api),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__BASE_URL": api_url,
        "AIRFLOW__API__SECRET_KEY": secret["api_secret_key"],
        "AIRFLOW__API_AUTH__JWT_SECRET": secret["jwt_secret"],
        # New DAG files show up within ~10 s; changed files are re-parsed every 15 s.
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "15",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": str(min(2, cpus or os.cpu_count() or 1)),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(ports.worker_log_server),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(ports.trigger_log_server),
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(ports.scheduler_health),
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
        "DO_NOT_TRACK": "1",
        "SCARF_ANALYTICS": "false",
        # Executor, Celery broker and Edge API of the scale-out options (LocalExecutor alone by default).
        **scaleout.airflow_config(settings, api_url),
        # OpenLineage provider: task runs as events to the platform's own receiver (govlake.lineage)
        **openlineage_config(settings),
    }


# What Airflow's provider emits (its `emission_policy`):
# * never the operators' Python source: the platform reads datasets, columns and SQL, not code;
# * no task events from cosmos's per-model watcher tasks (`<model>.run`, `<model>.test`, seeds): they wait
#   on the one `dbt build` of their group and state no dataset, while every model's lineage — at column
#   level, from the manifest and the compiled SQL — is sent by the build's `collect_lineage` task. The build
#   task itself, every other task and every DAG run still emit.
OPENLINEAGE_EMISSION_POLICY = [
    {"scope": {}, "controls": {"include_source_code": False}},
    {
        "scope": {"operator": r"cosmos\.operators\.watcher\.Dbt(Run|Test|Seed)WatcherOperator"},
        "match_mode": "regex",
        "controls": {"emit_task_events": False},
    },
]


def openlineage_config(settings: Settings) -> dict[str, str]:
    """The OpenLineage provider's settings: its HTTP transport to the platform's receiver, or disabled."""
    if not settings.lineage:
        return {"AIRFLOW__OPENLINEAGE__DISABLED": "True"}
    return {
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "govlake",
        # Emit from a time-bounded thread of the task process rather than a forked child: no second copy
        # of the task runner and its supervisor connection per event, and a slow receiver cannot strand
        # a task in "running" (the provider's own reason for the option).
        "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",
        "AIRFLOW__OPENLINEAGE__EMISSION_POLICY": json.dumps(OPENLINEAGE_EMISSION_POLICY),
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {
                "type": "http",
                "url": settings.web_url,
                "endpoint": "api/v1/lineage",
                "auth": {"type": "api_key", "apiKey": ingest_token(settings)},
            }
        ),
    }


def airflow_env(settings: Settings, base: dict[str, str] | None = None) -> dict[str, str]:
    """A complete environment for running ``airflow ...`` (or any task code) against this stack.

    ``base`` defaults to the current environment; stale AIRFLOW__/AIRFLOW_CONN_ values in it are dropped
    so the stack's own settings win.
    """
    source = dict(os.environ if base is None else base)
    env = {k: v for k, v in source.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}
    venv_bin = str(Path(sys.executable).parent)
    if venv_bin not in env.get("PATH", "").split(os.pathsep):
        env["PATH"] = os.pathsep.join(p for p in (venv_bin, env.get("PATH", "")) if p)
    env["AIRFLOW_HOME"] = str(airflow_home(settings))
    env.update(govlake_env(settings))
    env.update(connection_env(settings))
    env.update(airflow_config(settings))
    return env


def prepare(settings: Settings) -> None:
    """Directories and the SimpleAuthManager passwords file, written before the API server reads it."""
    home = airflow_home(settings)
    (home / "logs").mkdir(parents=True, exist_ok=True)
    if not settings.airflow_password:
        raise StackError("GOVLAKE_AIRFLOW_PASSWORD is empty: run settings.ensure_secrets() first.")
    path = passwords_file(settings)
    path.write_text(json.dumps({settings.airflow_user: settings.airflow_password}) + "\n", encoding="utf-8")
    path.chmod(0o600)
    load_secrets(settings)


# The processes tasks are forked from (govlake.stack.preload): LocalExecutor's workers fork from the
# scheduler; Celery and edge workers (govlake.stack.scaleout) start the same way.
TASK_PARENTS = frozenset({"airflow-scheduler"})


def preloaded_airflow() -> list[str]:
    """``airflow`` with the task code imported first, for a process whose children run tasks."""
    return [sys.executable, "-m", "govlake.stack.preload"]


def component_argv(name: str, settings: Settings) -> list[str]:
    command = preloaded_airflow() if name in TASK_PARENTS else [str(airflow_binary())]
    argv = [*command, *COMPONENTS[name]]
    if name == "airflow-api-server":
        workers = scaleout.api_workers(settings)
        argv += ["--host", settings.airflow_host, "--port", str(settings.airflow_port), "--workers", workers]
    return argv


def migrate_argv() -> list[str]:
    return [str(airflow_binary()), "db", "migrate"]


def fetch_health(settings: Settings, timeout: float = 3) -> dict | None:
    """The API server's /api/v2/monitor/health document, or None if it does not answer."""
    try:
        resp = requests.get(f"{settings.airflow_url}/api/v2/monitor/health", timeout=timeout)
    except requests.RequestException:
        return None
    if resp.status_code != 200:
        return None
    try:
        return resp.json()
    except ValueError:
        return None


def component_health(name: str, doc: dict | None) -> tuple[bool, str]:
    """Healthy/unhealthy for one component, read from the health document."""
    if doc is None:
        return False, "API server not answering /api/v2/monitor/health"
    if name == "airflow-api-server":
        db = (doc.get("metadatabase") or {}).get("status")
        return db == "healthy", f"metadatabase {db or 'unknown'}"
    entry = doc.get(HEALTH_KEYS[name]) or {}
    status = entry.get("status") or "unknown"
    heartbeat = next((v for k, v in entry.items() if k.startswith("latest") and v), None)
    detail = f"{status}" + (f", heartbeat {heartbeat}" if heartbeat else "")
    return status == "healthy", detail


def get_token(settings: Settings, timeout: float = 10) -> str:
    """A JWT for the REST API from SimpleAuthManager's POST /auth/token."""
    resp = requests.post(
        f"{settings.airflow_url}/auth/token",
        json={"username": settings.airflow_user, "password": settings.airflow_password},
        timeout=timeout,
    )
    if resp.status_code not in (200, 201):
        raise StackError(
            f"Airflow refused a token for {settings.airflow_user!r}: HTTP {resp.status_code} {resp.text[:200]}"
        )
    return resp.json()["access_token"]
