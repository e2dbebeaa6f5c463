"""The web service as the stack runs it (uvicorn on settings.web_port): OpenAPI, per-department auth,
reads enforced by the database, the dispatch workflow over HTTP, and start/stop by the stack."""

from __future__ import annotations

import datetime as dt

import pytest
import requests

from govlake.stack import manager, web
from govlake.stack.process import read_pid, stop_managed
from govlake.warehouse.department_roles import ensure_department_role

pytestmark = pytest.mark.integration


@pytest.fixture
def api(stack):
    return stack.web_url


def _auth(zone, dept):
    return (dept, zone.passwords[dept])


def test_openapi_and_docs_are_served_without_auth(api):
    doc = requests.get(f"{api}/openapi.json", timeout=10).json()
    assert {"/api/v1/catalog", "/api/v1/requests", "/api/v1/data/{resource}", "/api/v1/audit/verify"} <= set(
        doc["paths"]
    )
    assert "HTTPBasic" in doc["components"]["securitySchemes"]
    assert requests.get(f"{api}/docs", timeout=10).status_code == 200


def test_authentication_per_department(api, zone):
    assert requests.get(f"{api}/api/v1/catalog", timeout=10).status_code == 401
    assert requests.get(f"{api}/api/v1/catalog", auth=(zone.consumer, "wrong"), timeout=10).status_code == 401
    assert requests.get(f"{api}/api/v1/catalog", auth=("nobody", "x"), timeout=10).status_code == 401
    found = requests.get(
        f"{api}/api/v1/catalog", params={"q": "出生医学"}, auth=_auth(zone, zone.consumer), timeout=10
    )
    assert found.status_code == 200 and zone.resource in [e["entry_key"] for e in found.json()]
    # a department is not the data office
    assert (
        requests.get(f"{api}/api/v1/audit/verify", auth=_auth(zone, zone.consumer), timeout=10).status_code
        == 403
    )


def test_dispatch_over_http_and_reads_enforced_by_the_database(api, zone, platform):
    consumer, owner = _auth(zone, zone.consumer), _auth(zone, zone.provider)
    before = requests.get(
        f"{api}/api/v1/data/{zone.resource}",
        params={"items": "record_id,resident_id"},
        auth=consumer,
        timeout=10,
    )
    assert before.status_code == 403 and "permission denied" in before.json()["detail"]
    default = requests.get(f"{api}/api/v1/data/{zone.resource}", auth=consumer, timeout=10).json()
    assert default["items"] == ["record_id", "birth_date", "division_code"]
    body = {
        "resource": zone.resource,
        "items": ["resident_id"],
        "purpose": "核查",
        "legal_basis": "依据",
        "period_start": str(dt.date.today()),
        "period_end": str(dt.date.today() + dt.timedelta(days=1)),
    }
    created = requests.post(f"{api}/api/v1/requests", json=body, auth=consumer, timeout=10)
    assert created.status_code == 201, created.text
    rid = created.json()["request_id"]
    assert created.json()["state"] == "pending" and created.json()["sla_remaining_hours"] > 100
    assert (
        requests.post(
            f"{api}/api/v1/requests/{rid}/approve", json={}, auth=_auth(zone, zone.other), timeout=10
        ).status_code
        == 403
    )
    assert (
        requests.post(
            f"{api}/api/v1/requests/{rid}/approve", json={"reason": "ok"}, auth=owner, timeout=10
        ).json()["state"]
        == "approved"
    )
    after = requests.get(
        f"{api}/api/v1/data/{zone.resource}",
        params={"items": "record_id,resident_id", "filter": "record_id:B002"},
        auth=consumer,
        timeout=10,
    ).json()
    assert after["rows"] == [{"record_id": "B002", "resident_id": "520325********462X"}]
    assert (
        requests.get(
            f"{api}/api/v1/data/{zone.resource}",
            params={"items": "resident_id"},
            auth=_auth(zone, zone.other),
            timeout=10,
        ).status_code
        == 403
    )
    logged = platform.execute(
        "select count(*) from platform.access_log where department = %s and channel = 'api'", (zone.consumer,)
    ).fetchone()[0]
    assert logged == 2
    trail = requests.get(
        f"{api}/api/v1/audit", params={"subject": f"request:{rid}"}, auth=consumer, timeout=10
    ).json()
    assert [r["action"] for r in trail] == ["request.submitted", "request.approved", "grant.provisioned"]


def test_data_office_verifies_the_audit_log(api, zone, platform, stack):
    password = ensure_department_role(platform, "data_office", stack)
    result = requests.get(f"{api}/api/v1/audit/verify", auth=("data_office", password), timeout=10).json()
    assert result["ok"], result["problems"]
    dcat = requests.get(f"{api}/api/v1/catalog/export/dcat", auth=("data_office", password), timeout=10)
    assert (
        dcat.headers["content-type"].startswith("application/ld+json")
        and dcat.json()["@type"] == "dcat:Catalog"
    )


def test_the_stack_starts_and_stops_the_web_service(stack):
    assert manager.status(stack)[[c.name for c in manager.status(stack)].index(web.NAME)].healthy
    stop_managed(stack, web.NAME, 10)
    assert read_pid(stack, web.NAME) is None and not web.health(stack)[0]
    result = manager.up(stack)
    assert web.NAME in result.started and web.health(stack)[0]
