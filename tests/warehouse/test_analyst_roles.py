"""Read-only analysts, as a real login role: base (libraries and themes) and open, never the layers below."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors

from govlake.settings import Settings
from govlake.warehouse import connect
from govlake.warehouse.analyst_roles import (
    analyst_role,
    drop_analyst_role,
    ensure_analyst_role,
    grant_analysts,
)

pytestmark = pytest.mark.integration

NAME = "zz_wang"
READABLE = ("base", "open")
FORBIDDEN = ("raw", "staging", "audit", "platform", "share")


@pytest.fixture
def probes(stack: Settings) -> Iterator[psycopg.Connection]:
    """A table zz_analyst_probe in each schema (created if missing), dropped with the analyst role after."""
    with connect(stack, autocommit=True) as conn:

        def drop() -> None:
            for schema in (*READABLE, *FORBIDDEN):
                conn.execute(f"drop table if exists {schema}.zz_analyst_probe, {schema}.zz_analyst_later")
            drop_analyst_role(conn, NAME, stack)

        drop()
        for schema in (*READABLE, *FORBIDDEN):
            conn.execute(f"create schema if not exists {schema}")
            conn.execute(f"create table {schema}.zz_analyst_probe as select 1 as n")
        yield conn
        drop()


def _reads(stack: Settings, password: str, relation: str) -> bool:
    url = stack.pg_url(user=analyst_role(NAME), password=password)
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            return conn.execute(f"select n from {relation}").fetchone() == (1,)
        except errors.InsufficientPrivilege:
            return False


def test_analyst_reads_base_and_open_and_nothing_below(stack, probes):
    password = ensure_analyst_role(probes, NAME, stack)
    assert {s: _reads(stack, password, f"{s}.zz_analyst_probe") for s in (*READABLE, *FORBIDDEN)} == {
        **dict.fromkeys(READABLE, True),
        **dict.fromkeys(FORBIDDEN, False),
    }
    # Not even by a grant someone made by hand: the next publication takes it back.
    probes.execute("grant usage on schema audit to govlake_analysts")
    probes.execute("grant select on audit.zz_analyst_probe to govlake_analysts")
    assert _reads(stack, password, "audit.zz_analyst_probe")
    grant_analysts(probes)
    assert not _reads(stack, password, "audit.zz_analyst_probe")


def test_tables_published_later_become_readable(stack, probes):
    password = ensure_analyst_role(probes, NAME, stack)
    # An open release is created in `open` by the platform: default privileges cover it at once.
    probes.execute("create table open.zz_analyst_later as select 1 as n")
    assert _reads(stack, password, "open.zz_analyst_later")
    # A library is moved from audit into base by the swap, keeping audit's (empty) privileges ...
    probes.execute("create table audit.zz_analyst_later as select 1 as n")
    probes.execute("alter table audit.zz_analyst_later set schema base")
    assert not _reads(stack, password, "base.zz_analyst_later")
    # ... so publishing grants it in the same transaction.
    grant_analysts(probes)
    assert _reads(stack, password, "base.zz_analyst_later")
