"""Shared dependencies of the routers: the platform's own database connection per request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import psycopg
from fastapi import Depends

from govlake.warehouse import connect


def platform_connection() -> Iterator[psycopg.Connection]:
    """The service's connection for catalog and workflow records (departments' reads use their own role)."""
    with connect(autocommit=True) as conn:
        yield conn


Platform = Annotated[psycopg.Connection, Depends(platform_connection)]
