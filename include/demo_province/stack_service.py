"""The simulated department systems as a service of the local stack (entry point ``govlake.stack_services``).

``govlake stack up`` discovers this service, calls :meth:`configure` once PostgreSQL is up (creates the
department-systems database, generates the API token and records, in ``stack.env``, the connections the
registry's sources name), starts ``python -m demo_province.department_api`` and checks ``GET /healthz``.
"""

from __future__ import annotations

import sys

import psycopg
import requests
from psycopg import sql

from demo_province.systems import department_systems
from govlake.settings import Settings

MODULE = "demo_province.department_api"


class SimulatedDepartmentSystems:
    name = "department-api"

    def address(self, settings: Settings) -> str:
        return department_systems(settings).api_url

    def ports(self, settings: Settings) -> dict[str, int]:
        return {"http": department_systems(settings).api_port}

    def configure(self, settings: Settings) -> dict[str, str]:
        systems = department_systems(settings, generate_token=True)
        with psycopg.connect(settings.pg_url("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "select 1 from pg_database where datname = %s", (systems.database,)
            ).fetchone()
            if not exists:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(systems.database)))
        return {
            "GOVLAKE_DEPARTMENT_DB": systems.database,
            "GOVLAKE_DEPARTMENT_API_PORT": str(systems.api_port),
            "GOVLAKE_DEPARTMENT_API_TOKEN": systems.api_token,
            **systems.connections(settings),
        }

    def argv(self, settings: Settings) -> list[str]:
        return [sys.executable, "-m", MODULE]

    def health(self, settings: Settings, timeout: float = 3) -> tuple[bool, str]:
        try:
            resp = requests.get(f"{self.address(settings)}/healthz", timeout=timeout)
        except requests.RequestException as exc:
            return False, f"not answering /healthz: {type(exc).__name__}"
        return resp.status_code == 200, f"/healthz HTTP {resp.status_code}"


SERVICE = SimulatedDepartmentSystems()
