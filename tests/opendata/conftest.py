"""Scratch libraries in od_test_* schemas and clean zz-* open datasets around every test."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from support.opendata_scratch import create_scratch, drop_scratch

from govlake.settings import Settings
from govlake.warehouse import connect, ensure_platform_schema


@pytest.fixture
def od(stack: Settings) -> Iterator[psycopg.Connection]:
    """An autocommit connection with fresh scratch libraries; everything zz-* is removed afterwards."""
    with connect(stack, autocommit=True) as conn:
        ensure_platform_schema(conn)
        drop_scratch(conn, stack)
        create_scratch(conn)
        yield conn
        drop_scratch(conn, stack)
