"""One settings object for the whole platform, read from the environment.

Every value comes from a ``GOVLAKE_*`` environment variable; when a variable is not set, the value the
local stack wrote into ``.govlake/stack.env`` on ``govlake stack up`` is used (ports, generated secrets),
and after that a default. Secrets are generated on first ``stack up`` and never committed.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

PROJECT_DIR = Path(os.environ.get("GOVLAKE_PROJECT_DIR", Path(__file__).resolve().parents[2]))

BUCKETS: tuple[str, ...] = ("landing", "raw", "quarantine", "exchange", "open")


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


@dataclass(frozen=True)
class Settings:
    """Where every part of the platform lives and how to reach it."""

    home: Path = PROJECT_DIR / ".govlake"

    # PostgreSQL: one local cluster holds the warehouse and Airflow's metadata (each its own database).
    pg_host: str = "127.0.0.1"
    pg_port: int = 15432
    pg_user: str = "govlake"
    pg_password: str = field(default="", repr=False)
    warehouse_db: str = "govlake"
    airflow_db: str = "airflow"

    # S3 (SeaweedFS locally, MinIO in docker-compose).
    s3_endpoint: str = "127.0.0.1:18333"
    s3_access_key: str = "govlake"
    s3_secret_key: str = field(default="", repr=False)
    s3_secure: bool = False
    s3_region: str = "us-east-1"

    # Airflow's API server (UI and REST API).
    airflow_host: str = "127.0.0.1"
    airflow_port: int = 18080
    airflow_user: str = "admin"
    airflow_password: str = field(default="", repr=False)

    # The platform's web service (catalog, data dispatch, sharing API; govlake.web.app:app).
    web_host: str = "127.0.0.1"
    web_port: int = 18070
    # uvicorn worker processes: one per core serves a page while another renders (each holds its own
    # search index and lineage graph cache; sessions and sign-in limits live in the cookie and PostgreSQL).
    web_workers: int = 2
    # The portal's address as people's browsers reach it, for links from elsewhere (the Airflow plugin);
    # empty: the web service's own address (web_url). Set it when the service sits behind a proxy.
    portal_url: str = ""

    # Beyond one machine (docs/SCALING.md): the executor (local | celery), Celery workers and their Redis
    # broker and Flower, department front-end processors on Airflow's Edge executor, the S3 lake on a
    # SeaweedFS cluster, a PostgreSQL hot standby. All off by default: `govlake stack up` is one machine.
    executor: str = "local"
    celery_workers: int = 2
    redis_port: int = 56379
    flower_port: int = 55555
    edge_workers: bool = False
    s3_cluster: bool = False
    standby: bool = False
    pg_standby_port: int = 55433

    # How the build DAG runs dbt: per_model (cosmos watcher) | per_model_local | whole.
    dbt_tasks: str = "per_model"
    # Lineage collection (OpenLineage events from Airflow's provider and the build DAG's collect_lineage
    # task). Off only to measure what it costs (bench/lineage_overhead_bench.py).
    lineage: bool = True

    # Open-data releases suppress groups smaller than this.
    open_k_anonymity: int = 10

    # Failure notifications (DingTalk/WeCom/Slack style JSON webhook); empty means off.
    alert_webhook_url: str = ""
    # The webhook's payload shape: text (DingTalk/WeCom text) | dingtalk | wecom | slack | generic.
    alert_webhook_style: str = "text"

    # -- derived addresses -------------------------------------------------------------------------
    def pg_url(
        self, database: str | None = None, user: str | None = None, password: str | None = None
    ) -> str:
        user = user or self.pg_user
        password = self.pg_password if password is None else password
        db = database or self.warehouse_db
        # safe="": a "/" in a person-chosen password would otherwise end the URL's authority part
        credentials = f"{quote(user, safe='')}:{quote(password, safe='')}"
        return f"postgresql://{credentials}@{self.pg_host}:{self.pg_port}/{db}"

    @property
    def warehouse_url(self) -> str:
        return self.pg_url(self.warehouse_db)

    @property
    def airflow_db_url(self) -> str:
        return self.pg_url(self.airflow_db).replace("postgresql://", "postgresql+psycopg2://", 1)

    def standby_url(
        self, database: str | None = None, user: str | None = None, password: str | None = None
    ) -> str:
        """The hot standby (read-only): same roles and data as the primary, another port."""
        return self.pg_url(database, user, password).replace(
            f":{self.pg_port}/", f":{self.pg_standby_port}/", 1
        )

    @property
    def airflow_url(self) -> str:
        return f"http://{self.airflow_host}:{self.airflow_port}"

    @property
    def web_url(self) -> str:
        return f"http://{self.web_host}:{self.web_port}"

    @property
    def s3_url(self) -> str:
        return f"{'https' if self.s3_secure else 'http'}://{self.s3_endpoint}"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def env_file(self) -> Path:
        return self.home / "stack.env"

    def export_lines(self) -> list[str]:
        """Shell ``export`` lines that let psql, scripts and other tools reach the running stack."""
        values = {
            "GOVLAKE_HOME": str(self.home),
            "GOVLAKE_PG_HOST": self.pg_host,
            "GOVLAKE_PG_PORT": str(self.pg_port),
            "GOVLAKE_PG_USER": self.pg_user,
            "GOVLAKE_PG_PASSWORD": self.pg_password,
            "GOVLAKE_WAREHOUSE_URL": self.warehouse_url,
            "DATABASE_URL": self.warehouse_url,
            "PGHOST": self.pg_host,
            "PGPORT": str(self.pg_port),
            "PGUSER": self.pg_user,
            "PGPASSWORD": self.pg_password,
            "PGDATABASE": self.warehouse_db,
            "GOVLAKE_S3_ENDPOINT": self.s3_endpoint,
            "GOVLAKE_S3_ACCESS_KEY": self.s3_access_key,
            "GOVLAKE_S3_SECRET_KEY": self.s3_secret_key,
            "AWS_ACCESS_KEY_ID": self.s3_access_key,
            "AWS_SECRET_ACCESS_KEY": self.s3_secret_key,
            "AWS_ENDPOINT_URL": self.s3_url,
            "GOVLAKE_AIRFLOW_URL": self.airflow_url,
            "GOVLAKE_AIRFLOW_USER": self.airflow_user,
            "GOVLAKE_AIRFLOW_PASSWORD": self.airflow_password,
            "GOVLAKE_WEB_URL": self.web_url,
        }
        return [f"export {k}='{v}'" for k, v in values.items()]


_SECRET_FIELDS = (
    "pg_password",
    "s3_secret_key",
    "airflow_password",
)


def _coerce(kind: type | str, raw: str):
    kind_name = kind if isinstance(kind, str) else kind.__name__
    if kind_name in ("int",):
        return int(raw)
    if kind_name in ("bool",):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if kind_name in ("Path",):
        return Path(raw)
    return raw


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from ``GOVLAKE_*`` variables, then ``.govlake/stack.env``, then defaults."""
    env = dict(os.environ if environ is None else environ)
    home = Path(env.get("GOVLAKE_HOME", PROJECT_DIR / ".govlake"))
    file_values = read_env_file(home / "stack.env")
    kwargs: dict[str, object] = {"home": home}
    for f in fields(Settings):
        if f.name == "home":
            continue
        key = f"GOVLAKE_{f.name.upper()}"
        raw = env.get(key, file_values.get(key))
        if raw is not None and raw != "":
            kwargs[f.name] = _coerce(f.type, raw)
    return Settings(**kwargs)  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def ensure_secrets(settings: Settings) -> Settings:
    """Give every empty secret a generated value and persist the lot in ``.govlake/stack.env``.

    Values already set (by the environment or an earlier ``stack up``) are kept, so the cluster's
    passwords stay valid across restarts.
    """
    settings.home.mkdir(parents=True, exist_ok=True)
    existing = read_env_file(settings.env_file)
    values = {
        f"GOVLAKE_{f.name.upper()}": getattr(settings, f.name) for f in fields(Settings) if f.name != "home"
    }
    for name in _SECRET_FIELDS:
        key = f"GOVLAKE_{name.upper()}"
        if not values[key]:
            values[key] = existing.get(key) or secrets.token_urlsafe(18)
    # Values recorded by services of the stack (connections, their secrets) are kept as they are.
    values.update({k: v for k, v in existing.items() if k not in values})
    lines = ["# Written by `govlake stack up`. Secrets for the local stack only; never commit this file."]
    lines += [f"{k}={v}" for k, v in values.items()]
    settings.env_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings.env_file.chmod(0o600)
    get_settings.cache_clear()
    # the settings of the home just written, whatever GOVLAKE_HOME the process has
    return load_settings({**os.environ, "GOVLAKE_HOME": str(settings.home)})


def record_env(settings: Settings, values: dict[str, str]) -> None:
    """Add or replace ``values`` in ``stack.env`` (e.g. a stack service's connections), keeping the rest."""
    existing = read_env_file(settings.env_file)
    existing.update(values)
    lines = ["# Written by `govlake stack up`. Secrets for the local stack only; never commit this file."]
    lines += [f"{k}={v}" for k, v in existing.items()]
    settings.env_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings.env_file.chmod(0o600)
