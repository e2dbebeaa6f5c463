"""Libraries in the sharing zone: a department reads a library only through exchange.<library>, which
gives it exactly the 无条件共享 items before any request — never the masked share.* layer below it.

The legacy design granted share.* to a group ``govlake_consumers`` holding the demo department role:
every item, conditional ones included, with no request. These tests set that leak up for real, then run
what publish runs (retire the group, restrict share, create the library's exchange view) and connect
as the department roles.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors

from govlake.catalog.model import CONDITIONAL, NOT_SHARED, UNCONDITIONAL
from govlake.catalog.store import sync_catalog
from govlake.publish.share import restrict_share, retire_consumer_group
from govlake.sharing import dispatch
from govlake.sharing.zone import ensure_library_views
from govlake.warehouse.department_roles import DATA_OFFICE, connect_as, role_name

pytestmark = pytest.mark.integration

LIBRARY = "zz_lib"
# The masked layer as publish builds it (masking by grade; the patterns themselves are tested in publish).
SHARE_VIEW = """
create view share.zz_lib with (security_barrier) as
select record_id, left(resident_id, 6) || '********' || right(resident_id, 4) as resident_id,
       left(name, 1) || '*' as name, '********' as phone, birth_date, division_code, weight_grams, diagnosis
from raw.zz_health__zz_births where record_id <> 'B999'  -- a library holds no quarantined row
"""


@pytest.fixture
def library(zone, platform: psycopg.Connection) -> Iterator:
    """A library ``zz_lib`` with the zz items' sharing types, its share view, and the legacy leak."""
    platform.execute("create schema if not exists share")
    platform.execute("drop view if exists share.zz_lib cascade")
    platform.execute(SHARE_VIEW)
    platform.execute(
        "do $$ begin if not exists (select from pg_roles where rolname = 'govlake_consumers') then "
        "create role govlake_consumers nologin; end if; end $$"
    )
    platform.execute("grant usage on schema share to govlake_consumers")
    platform.execute("grant select on share.zz_lib to govlake_consumers")
    platform.execute(f"grant govlake_consumers to {role_name(zone.consumer)}")
    entry = dataclasses.replace(
        zone.entry,
        entry_key=LIBRARY,
        kind="library",
        department=DATA_OFFICE,
        resource_code=None,
        relation=f"exchange.{LIBRARY}",
        related_keys=(),
    )
    yield sync_catalog(platform, [entry], prune=False)[0]
    platform.execute("drop view if exists share.zz_lib cascade")  # and exchange.zz_lib with it


def _publish_steps(platform: psycopg.Connection) -> list[str]:
    """What publish_libraries does for the sharing zone, on the real share schema."""
    retire_consumer_group(platform)
    with platform.transaction():
        restrict_share(platform, [LIBRARY])
        return ensure_library_views(platform, [LIBRARY])


def _select(zone, department: str, relation: str, columns: str) -> list[tuple]:
    with connect_as(department, zone.settings, password=zone.passwords[department]) as conn:
        return conn.execute(f"select {columns} from {relation} order by record_id").fetchall()


def test_the_legacy_grant_leaked_conditional_items(zone, library):
    """The set-up reproduces the leak, so the test below can fail: before the fix the demo department
    read a 有条件共享 item without any request."""
    rows = _select(zone, zone.consumer, "share.zz_lib", "record_id, resident_id")
    assert rows[0] == ("B001", "520102********1237")


def test_a_department_reads_exactly_the_unconditional_items_before_approval(zone, library, platform):
    assert _publish_steps(platform) == [LIBRARY]
    unconditional = library.items_of(UNCONDITIONAL)
    assert unconditional and library.items_of(CONDITIONAL) and library.items_of(NOT_SHARED)
    view_columns = [
        r[0]
        for r in platform.execute(
            "select column_name from information_schema.columns where table_schema = 'exchange' "
            "and table_name = %s order by ordinal_position",
            (LIBRARY,),
        ).fetchall()
    ]
    assert set(library.items_of(NOT_SHARED)).isdisjoint(view_columns)
    for department in (zone.consumer, zone.other):
        role = role_name(department)
        readable = [
            c
            for c in view_columns
            if platform.execute(
                "select has_column_privilege(%s, %s, %s, 'SELECT')", (role, f"exchange.{LIBRARY}", c)
            ).fetchone()[0]
        ]
        assert readable == unconditional, department
        rows = _select(zone, department, f"exchange.{LIBRARY}", ", ".join(unconditional))
        assert [r[0] for r in rows] == ["B001", "B002", "B003"]
        for relation, columns in (
            ("share.zz_lib", "record_id"),
            (f"exchange.{LIBRARY}", "record_id, resident_id"),
            (f"exchange.{LIBRARY}", "*"),
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                _select(zone, department, relation, columns)
    member = platform.execute("select count(*) from pg_roles where rolname = 'govlake_consumers'").fetchone()
    assert member == (0,), "publish must retire the legacy group"


def test_conditional_items_only_through_an_approved_grant(zone, library, platform):
    _publish_steps(platform)
    today = dt.date.today()
    request = dispatch.submit_request(
        platform, zone.consumer, LIBRARY, ["resident_id"], "核查", "依据", today, today + dt.timedelta(days=5)
    )
    with pytest.raises(errors.InsufficientPrivilege):
        _select(zone, zone.consumer, f"exchange.{LIBRARY}", "resident_id")
    dispatch.approve(platform, request.request_id, DATA_OFFICE, settings=zone.settings)
    rows = _select(zone, zone.consumer, f"exchange.{LIBRARY}", "record_id, resident_id")
    assert rows[0] == ("B001", "520102********1237")  # masked by grade, through the grant
    with pytest.raises(errors.InsufficientPrivilege):
        _select(zone, zone.other, f"exchange.{LIBRARY}", "resident_id")
    with pytest.raises(errors.InsufficientPrivilege):
        _select(zone, zone.consumer, "share.zz_lib", "resident_id")
