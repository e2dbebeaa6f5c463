"""Services that start and stop with the local stack but are not the platform.

A package installed beside govlake (the synthetic province's simulated department systems, or a
department's own test double) declares its service in the entry-point group ``govlake.stack_services``::

    [project.entry-points."govlake.stack_services"]
    department-api = "demo_province.stack_service:SERVICE"

The stack starts each one after PostgreSQL and the warehouse, and stops it with the rest. A service may
also record values in ``stack.env`` — typically the ``AIRFLOW_CONN_<ID>`` connections the registry's
sources name (:mod:`govlake.connections`) — so the platform reaches it the way it reaches any real
department system: through a named connection, never through an import or a setting of its own.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Protocol

from govlake.settings import Settings

GROUP = "govlake.stack_services"


class StackService(Protocol):
    name: str

    def address(self, settings: Settings) -> str: ...

    def ports(self, settings: Settings) -> dict[str, int]:
        """``purpose -> port`` (checked against the stack's other ports)."""
        ...

    def configure(self, settings: Settings) -> dict[str, str]:
        """Prepare what the service needs (PostgreSQL is up) and return values to keep in stack.env."""
        ...

    def argv(self, settings: Settings) -> list[str]: ...

    def health(self, settings: Settings) -> tuple[bool, str]: ...


def discover() -> list[StackService]:
    """Every installed service, in name order."""
    found = [ep.load() for ep in entry_points(group=GROUP)]
    return sorted(found, key=lambda s: s.name)
