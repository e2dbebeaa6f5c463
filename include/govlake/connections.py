"""Connections to department systems, named in the registry and given as Airflow connection URIs.

A registry source names its connection (``source.connection: department_db``); the address and secret
come from the environment as ``AIRFLOW_CONN_<ID>`` — Airflow's own convention, so the same value serves
Airflow's UI and hooks — or, when the variable is not set, from the local stack's ``stack.env``, where a
service started with the stack (e.g. a simulated department system) records its connections. The
platform never hard-codes where a department system lives.

URI shapes: ``postgresql://user:password@host:port/database`` for a department database;
``http://:token@host:port`` (or ``https://…``) for a department API, the password being its Bearer token.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from govlake.settings import Settings, read_env_file


class ConnectionNotConfigured(LookupError):
    """The registry names a connection nobody configured."""


@dataclass(frozen=True)
class Connection:
    conn_id: str
    uri: str

    @property
    def _parts(self):
        return urlsplit(self.uri)

    @property
    def scheme(self) -> str:
        return self._parts.scheme

    @property
    def password(self) -> str:
        return unquote(self._parts.password or "")

    @property
    def base_url(self) -> str:
        """``scheme://host:port`` without credentials (for an HTTP API)."""
        p = self._parts
        host = p.hostname or ""
        port = f":{p.port}" if p.port else ""
        return f"{p.scheme}://{host}{port}{p.path.rstrip('/')}"

    @property
    def database(self) -> str:
        return self._parts.path.lstrip("/")

    @property
    def libpq_url(self) -> str:
        """The URI as psycopg takes it (``postgres://`` and ``postgresql+driver://`` normalised)."""
        scheme, _, rest = self.uri.partition("://")
        return f"postgresql://{rest}" if scheme.startswith("postgres") else self.uri


def env_key(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def get_connection(conn_id: str, settings: Settings) -> Connection:
    """The connection ``conn_id`` from ``AIRFLOW_CONN_<ID>`` (environment first, then ``stack.env``)."""
    key = env_key(conn_id)
    uri = os.environ.get(key) or read_env_file(settings.env_file).get(key)
    if not uri:
        raise ConnectionNotConfigured(
            f"connection {conn_id!r} is not configured: set {key} to its URI "
            "(e.g. postgresql://user:password@host:5432/db or http://:token@host:port)"
        )
    return Connection(conn_id, uri)
