"""Shared dependencies of the routers: the platform's own database connection for a request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import psycopg
from fastapi import Depends

from govlake.web.portal_db import connect


def platform_connection() -> Iterator[psycopg.Connection]:
    """The service's connection for catalog and workflow records (departments' reads use their own role),
    from the web service's pool: the lineage receiver and the APIs do not open one per request."""
    with connect() as conn:
        yield conn


Platform = Annotated[psycopg.Connection, Depends(platform_connection)]
