"""Where the simulated department systems live: one PostgreSQL database holding every department's
tables (公安厅, 民政厅, 财政厅 schemas) and one HTTP server standing in for the department APIs
(人社厅 enrollments, 统计局 indicators).

Read from ``GOVLAKE_DEPARTMENT_*`` variables, then the stack's ``stack.env`` (where the stack service
records the generated token), then defaults. The platform knows none of this: it reaches these systems
through the connections the stack service records (``AIRFLOW_CONN_PUBLIC_SECURITY_DB``, …).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

from govlake.settings import Settings, read_env_file

# Each registry connection the simulated systems answer: (connection id, kind).
DATABASE_CONNECTIONS = ("public_security_db", "civil_affairs_db", "finance_db")
API_CONNECTIONS = ("human_resources_api", "statistics_api")


@dataclass(frozen=True)
class DepartmentSystems:
    database: str
    api_host: str
    api_port: int
    api_token: str

    @property
    def api_url(self) -> str:
        return f"http://{self.api_host}:{self.api_port}"

    def database_url(self, settings: Settings) -> str:
        return settings.pg_url(self.database)

    def connections(self, settings: Settings) -> dict[str, str]:
        """``AIRFLOW_CONN_<ID>`` URIs for every registry connection these systems answer."""
        values = {f"AIRFLOW_CONN_{c.upper()}": self.database_url(settings) for c in DATABASE_CONNECTIONS}
        values.update(
            {
                f"AIRFLOW_CONN_{c.upper()}": f"http://:{self.api_token}@{self.api_host}:{self.api_port}"
                for c in API_CONNECTIONS
            }
        )
        return values


def department_systems(settings: Settings, *, generate_token: bool = False) -> DepartmentSystems:
    recorded = read_env_file(settings.env_file)

    def value(name: str, default: str) -> str:
        key = f"GOVLAKE_DEPARTMENT_{name}"
        return os.environ.get(key) or recorded.get(key) or default

    token = value("API_TOKEN", "")
    if not token and generate_token:
        token = secrets.token_urlsafe(18)
    return DepartmentSystems(
        database=value("DB", "department_systems"),
        api_host=value("API_HOST", "127.0.0.1"),
        api_port=int(value("API_PORT", "18090")),
        api_token=token,
    )
