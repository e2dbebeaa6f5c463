"""The sharing exchange enforced by PostgreSQL: direct SQL connections as real department roles."""

from __future__ import annotations

import datetime as dt

import pytest
from psycopg import errors

from govlake.sharing import dispatch
from govlake.warehouse.department_roles import connect_as

pytestmark = pytest.mark.integration

OPEN_ITEMS = ["record_id", "birth_date", "division_code"]
TODAY = dt.date.today()


def _read(zone, department: str, columns: str) -> list[tuple]:
    with connect_as(department, zone.settings, password=zone.passwords[department]) as conn:
        return conn.execute(f"select {columns} from exchange.{zone.resource} order by record_id").fetchall()


def _denied(zone, department: str, columns: str) -> bool:
    try:
        _read(zone, department, columns)
    except errors.InsufficientPrivilege:
        return True
    return False


def test_catalog_decides_the_view(zone):
    entry = zone.entry
    assert entry.item("diagnosis").sharing_type == "不予共享"
    assert entry.item("resident_id").sharing_type == "有条件共享"
    assert entry.item("weight_grams").sharing_type == "有条件共享"
    assert entry.item("record_id").sharing_type == "无条件共享"


def test_unconditional_items_readable_by_every_department_without_quarantined_rows(zone):
    for dept in (zone.consumer, zone.other):
        rows = _read(zone, dept, ", ".join(OPEN_ITEMS))
        assert [r[0] for r in rows] == ["B001", "B002", "B003"]  # B999 is quarantined


def test_conditional_items_denied_before_approval(zone):
    assert _denied(zone, zone.consumer, "record_id, resident_id")
    assert _denied(zone, zone.consumer, "weight_grams")
    assert _denied(zone, zone.consumer, "*")


def test_not_shared_item_is_not_in_the_view_at_all(zone, platform):
    columns = {
        r[0]
        for r in platform.execute(
            "select column_name from information_schema.columns where table_schema = 'exchange' and table_name = %s",
            (zone.resource,),
        ).fetchall()
    }
    assert "diagnosis" not in columns and "resident_id" in columns
    with pytest.raises(errors.UndefinedColumn):
        _read(zone, zone.consumer, "diagnosis")


def test_no_direct_access_to_raw_or_platform_data(zone):
    with connect_as(zone.consumer, zone.settings, password=zone.passwords[zone.consumer]) as conn:
        for table in (f"raw.{zone.resource}", "platform.share_requests", "base.population"):
            with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
                conn.execute(f"select * from {table} limit 1")


def test_after_approval_only_the_approved_items_and_masked(zone, platform):
    request = zone.submit(platform)
    assert _denied(zone, zone.consumer, "resident_id")
    dispatch.approve(platform, request.request_id, zone.provider, "依法核查", settings=zone.settings)
    rows = _read(zone, zone.consumer, "record_id, resident_id, name")
    assert rows[0] == ("B001", "520102********1237", "张*")  # masked by grade: resident_id and name patterns
    assert rows[1][1] == "520325********462X"
    assert _denied(zone, zone.consumer, "phone")  # not approved
    assert _denied(zone, zone.consumer, "weight_grams")
    assert _denied(zone, zone.other, "resident_id")  # another department's grant is not yours


def test_revocation_takes_the_items_back(zone, platform):
    request = zone.submit(platform)
    dispatch.approve(platform, request.request_id, zone.provider, settings=zone.settings)
    assert _read(zone, zone.consumer, "resident_id")[0][0] == "520102********1237"
    revoked = dispatch.revoke(
        platform, request.request_id, zone.provider, "用途已完成", settings=zone.settings
    )
    assert revoked.state == "revoked"
    assert _denied(zone, zone.consumer, "resident_id")


def test_expired_period_hides_values_at_once_and_sweep_revokes(zone, platform):
    request = zone.submit(platform)
    dispatch.approve(platform, request.request_id, zone.provider, settings=zone.settings)
    # Let the period run out (the clock is the database's): the guard reads NULL before any sweep ...
    platform.execute(
        "update platform.share_grants set valid_until = now() - interval '1 second' where request_id = %s",
        (request.request_id,),
    )
    assert [r[0] for r in _read(zone, zone.consumer, "resident_id")] == [None, None, None]
    # ... and the sweep then takes the privilege back.
    expired = dispatch.expire_grants(platform, settings=zone.settings)
    assert [r.request_id for r in expired] == [request.request_id]
    assert dispatch.get_request(platform, request.request_id).state == "expired"
    assert _denied(zone, zone.consumer, "resident_id")


def test_future_period_is_not_yet_readable(zone, platform):
    request = zone.submit(platform, start=TODAY + dt.timedelta(days=10), days=10)
    dispatch.approve(platform, request.request_id, zone.provider, settings=zone.settings)
    assert _denied(zone, zone.consumer, "resident_id")


def test_own_grants_visible_through_rls_and_nobody_elses(zone, platform):
    request = zone.submit(platform)
    dispatch.approve(platform, request.request_id, zone.provider, settings=zone.settings)
    with connect_as(zone.consumer, zone.settings, password=zone.passwords[zone.consumer]) as conn:
        mine = conn.execute("select request_id, items from exchange.my_grants").fetchall()
    with connect_as(zone.other, zone.settings, password=zone.passwords[zone.other]) as conn:
        theirs = conn.execute("select request_id from exchange.my_grants").fetchall()
        direct = conn.execute("select count(*) from platform.share_grants").fetchone()[0]
    assert mine == [(request.request_id, ["resident_id", "name"])]
    assert theirs == [] and direct == 0


def test_department_roles_log_their_statements(zone, platform):
    setting = platform.execute(
        "select setconfig from pg_db_role_setting s join pg_roles r on r.oid = s.setrole where r.rolname = %s",
        (f"dept_{zone.consumer}",),
    ).fetchone()[0]
    assert "log_statement=all" in setting
