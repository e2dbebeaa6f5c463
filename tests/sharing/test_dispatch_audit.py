"""Dispatch workflow rules, SLA escalation, and the hash-chained audit log (tampered as superuser)."""

from __future__ import annotations

import datetime as dt

import pytest

from govlake.sharing import audit, dispatch

pytestmark = pytest.mark.integration
TODAY = dt.date.today()


def _submit(zone, platform, sla_hours=120.0, items=("resident_id",)):
    return zone.submit(platform, items, days=7, sla_hours=sla_hours)


def test_request_rules_name_the_problem(zone, platform):
    with pytest.raises(dispatch.DispatchError, match="不予共享"):
        _submit(zone, platform, items=("diagnosis",))
    with pytest.raises(dispatch.DispatchError, match="无条件共享"):
        _submit(zone, platform, items=("record_id",))
    with pytest.raises(dispatch.DispatchError, match="no item"):
        _submit(zone, platform, items=("nope",))
    request = _submit(zone, platform)
    with pytest.raises(dispatch.DispatchError, match="may not decide"):
        dispatch.approve(platform, request.request_id, zone.other, settings=zone.settings)
    with pytest.raises(dispatch.DispatchError, match="needs a reason"):
        dispatch.reject(platform, request.request_id, zone.provider, " ")
    rejected = dispatch.reject(platform, request.request_id, zone.provider, "用途不明确")
    assert rejected.state == "rejected" and rejected.reason == "用途不明确"


def test_overdue_request_escalates_to_data_office_who_may_decide(zone, platform):
    on_time = _submit(zone, platform, sla_hours=48)
    late = _submit(zone, platform, sla_hours=0.0001)
    assert late.sla_remaining().total_seconds() < 1
    escalated = dispatch.escalate_overdue(platform, now=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2))
    assert [r.request_id for r in escalated] == [late.request_id]
    assert dispatch.get_request(platform, on_time.request_id).state == "pending"
    assert dispatch.get_request(platform, late.request_id).state == "escalated"
    decided = dispatch.approve(
        platform, late.request_id, "data_office", "逾期由数据管理机构调度", zone.settings
    )
    assert decided.state == "approved" and decided.decided_by == "data_office"
    actions = [r.action for r in audit.records(platform, f"request:{late.request_id}")]
    assert actions == ["request.submitted", "request.escalated", "request.approved", "grant.provisioned"]


def test_audit_log_verifies_and_refuses_updates(zone, platform):
    _submit(zone, platform)
    assert audit.verify(platform, zone.settings).ok
    import psycopg

    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        platform.execute("update platform.audit_log set actor = 'x' where seq = 1")
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        platform.execute("delete from platform.audit_log where seq = 1")


@pytest.mark.parametrize(
    "tamper, problem",
    [
        (
            "update platform.audit_log set record = jsonb_set(record, '{actor}', '\"evil\"'), actor = 'evil' "
            "where seq = (select max(seq) - 1 from platform.audit_log)",
            "hash does not match",
        ),
        (
            "update platform.audit_log set actor = 'evil' where seq = (select max(seq) from platform.audit_log)",
            "differ from the hashed record",
        ),
        (
            "delete from platform.audit_log where seq = (select max(seq) - 1 from platform.audit_log)",
            "missing",
        ),
        (
            "delete from platform.audit_log where seq = (select max(seq) from platform.audit_log)",
            "tail was deleted",
        ),
    ],
)
def test_tampering_as_superuser_fails_verification(zone, platform, tamper, problem):
    _submit(zone, platform)
    _submit(zone, platform)
    # A superuser can bypass the trigger; do it in a transaction that is rolled back afterwards.
    with pytest.raises(RuntimeError, match="rollback"), platform.transaction():
        platform.execute("set local session_replication_role = replica")
        platform.execute(tamper)
        result = audit.verify(platform, zone.settings)
        assert not result.ok
        assert any(problem in p for p in result.problems), result.problems
        raise RuntimeError("rollback")
    assert audit.verify(platform, zone.settings).ok
