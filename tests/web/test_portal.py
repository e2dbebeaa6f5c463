"""The portal through the real web service (the stack's uvicorn): sign-in, CSRF, sessions, catalog
search, the resource page's preview as the person's department, and the dispatch journey from request
to revoke — with the person named in the audit trail and the access log."""

from __future__ import annotations

import re

import pytest
import requests

pytestmark = pytest.mark.integration

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "portal test password"


class Portal:
    """A browser-like session: cookies kept, CSRF token read from the last form."""

    def __init__(self, base: str):
        self.base, self.http, self.token = base, requests.Session(), None

    def get(self, path: str, **kw) -> requests.Response:
        resp = self.http.get(self.base + path, timeout=30, allow_redirects=kw.pop("follow", True), **kw)
        found = CSRF.search(resp.text)
        if found:
            self.token = found.group(1)
        return resp

    def post(self, path: str, data: dict, csrf: bool = True, **kw) -> requests.Response:
        body = {**data, **({"csrf_token": self.token} if csrf else {})}
        return self.http.post(self.base + path, data=body, timeout=30, allow_redirects=False, **kw)

    def sign_in(self, username: str, password: str = PASSWORD) -> requests.Response:
        self.get("/signin")
        resp = self.post("/signin", {"username": username, "password": password, "next": "/dispatch"})
        self.get("/")  # a signed-in page: the new session's CSRF token
        return resp


@pytest.fixture
def people(zone, platform):
    from govlake.accounts.people import add_person
    from govlake.sharing.authenticator import ensure_authenticator

    ensure_authenticator(platform, zone.settings)
    made = {
        "requester": ("zz_p_requester", zone.consumer, "requester"),
        "approver": ("zz_p_approver", zone.provider, "approver"),
        "other": ("zz_p_other", zone.other, "requester"),
        "disabled": ("zz_p_disabled", zone.consumer, "requester"),
    }
    for username, department, role in made.values():
        add_person(platform, username, username, department, role, PASSWORD, replace=True)
    platform.execute("update platform.portal_users set disabled = true where username = 'zz_p_disabled'")
    yield {k: v[0] for k, v in made.items()}
    platform.execute("delete from platform.portal_users where username like 'zz\\_p\\_%%'")
    platform.execute("delete from platform.portal_sign_ins where username like 'zz\\_p\\_%%'")


@pytest.fixture
def portal(stack):
    return Portal(stack.web_url)


def test_sign_in_needs_csrf_and_sets_a_safe_cookie(portal, people):
    portal.get("/signin")
    assert (
        portal.post(
            "/signin", {"username": people["requester"], "password": PASSWORD}, csrf=False
        ).status_code
        == 403
    )
    bad = portal.post("/signin", {"username": people["requester"], "password": "wrong password"})
    assert bad.status_code == 401 and "用户名或密码错误" in bad.text
    ok = portal.post(
        "/signin", {"username": people["requester"], "password": PASSWORD, "next": "//evil.example/"}
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/"
    cookie = next(
        c
        for c in ok.headers.get("set-cookie").split(", govlake")
        if "govlake_session" in c or c.startswith("_session")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=28800" in cookie
    page = portal.get("/dispatch")
    assert page.status_code == 200 and people["requester"] in page.text
    assert portal.post("/signout", {}, csrf=False).status_code == 403
    assert portal.post("/signout", {}).status_code == 303
    assert portal.get("/dispatch", follow=False).status_code == 303


def test_a_disabled_account_cannot_sign_in(portal, people):
    resp = portal.sign_in(people["disabled"])
    assert resp.status_code == 401 and "已停用" in resp.text
    assert "govlake_session" not in portal.http.cookies


def test_pages_need_sign_in_and_tampered_cookies_are_ignored(portal, people):
    resp = portal.get("/dispatch", follow=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/signin?next=")
    portal.http.cookies.set("govlake_session", "eyJ1IjoiemFfcF9hcHByb3ZlciJ9.forged.sig")
    assert portal.get("/dispatch", follow=False).status_code == 303


def test_a_session_expires_after_its_hours_even_with_a_valid_signature(portal, stack, people, monkeypatch):
    """A cookie the server itself signed (its secret under GOVLAKE_HOME), issued 7 h and 8 h 1 min ago."""
    import time as clock

    from itsdangerous import URLSafeTimedSerializer

    from govlake.web.portal_session import SESSION_COOKIE, SESSION_HOURS

    secret = (stack.home / "portal_secret").read_text(encoding="utf-8").strip()
    real_time = clock.time

    def cookie_issued(hours_ago: float) -> str:
        with monkeypatch.context() as m:  # itsdangerous stamps the cookie with time.time()
            m.setattr(clock, "time", lambda: real_time() - hours_ago * 3600)
            return URLSafeTimedSerializer(secret, salt="session").dumps({"u": people["requester"]})

    portal.http.cookies.set(SESSION_COOKIE, cookie_issued(SESSION_HOURS - 1))
    page = portal.get("/dispatch", follow=False)
    assert page.status_code == 200 and people["requester"] in page.text
    portal.http.cookies.set(SESSION_COOKIE, cookie_issued(SESSION_HOURS + 1 / 60))
    gone = portal.get("/dispatch", follow=False)
    assert gone.status_code == 303 and gone.headers["location"] == "/signin?next=%2Fdispatch"


def test_catalog_search_ranks_facets_and_survives_any_input(portal, zone):
    found = portal.get("/catalog/search", params={"q": "出生医学证明"})
    assert found.status_code == 200 and f"/catalog/r/{zone.resource}" in found.text
    faceted = portal.get("/catalog/search", params={"q": "出生", "department": "测试卫健委"})
    assert (
        faceted.status_code == 200 and zone.resource in faceted.text and 'aria-pressed="true"' in faceted.text
    )
    for q in (
        "<script>alert(1)</script>",
        "x" * 10_000,  # (a request line over ~64 KB is refused by the HTTP server itself)
        '=HYPERLINK("http://x")',
        "%00\x00'\";--",
        "人口" * 500,
    ):
        resp = portal.get("/catalog/search", params={"q": q, "page": "3"})
        assert resp.status_code == 200
        assert "<script>alert(1)</script>" not in resp.text
    assert portal.get("/catalog/search", params={"page": "-1"}).status_code == 422


def test_resource_page_tabs_and_escaping(portal, zone, people):
    for tab in ("items", "preview", "profile", "quality", "sharing", "lineage", "api"):
        resp = portal.get(f"/catalog/r/{zone.resource}", params={"tab": tab})
        assert resp.status_code == 200, (tab, resp.text[:300])
    assert portal.get("/catalog/r/no_such_thing").status_code == 404
    quality = portal.get(f"/catalog/r/{zone.resource}", params={"tab": "quality"}).text
    assert "weight_positive" in quality  # the open quarantine of the dataset
    partial = portal.get(
        f"/catalog/r/{zone.resource}",
        params={"tab": "api"},
        headers={"HX-Request": "true", "HX-Target": "tab-panel"},
    )
    assert "<html" not in partial.text and f"exchange.{zone.resource}" in partial.text


def test_dispatch_journey_through_the_pages(portal, stack, zone, people, platform):
    from govlake.warehouse.department_roles import connect_as

    assert portal.sign_in(people["requester"]).status_code == 303
    preview = portal.get(f"/catalog/r/{zone.resource}", params={"tab": "preview"}).text
    assert "B001" in preview and "有条件共享，需申请" in preview and "resident_id" in preview
    assert "诊断" not in preview.split("未显示的信息项")[0]  # 不予共享: never a column
    form = portal.get(f"/dispatch/new?resource={zone.resource}")
    assert form.status_code == 200 and 'name="items" value="resident_id"' in form.text
    data = {
        "resource": zone.resource,
        "items": ["resident_id"],
        "purpose": "<b>核查</b>",
        "legal_basis": "依据",
        "period_start": "2026-01-01",
        "period_end": "2099-12-31",
    }
    assert portal.post("/dispatch/requests", data, csrf=False).status_code == 403
    filed = portal.post("/dispatch/requests", data)
    assert filed.status_code == 303, filed.text[:500]
    rid = int(filed.headers["location"].split("/")[3].split("?")[0])
    page = portal.get(f"/dispatch/requests/{rid}")
    assert "&lt;b&gt;核查&lt;/b&gt;" in page.text and "待审批" in page.text

    other = Portal(stack.web_url)
    other.sign_in(people["other"])
    assert other.get(f"/dispatch/requests/{rid}").status_code == 404
    assert other.post(f"/dispatch/requests/{rid}/approve", {}).status_code == 404
    # the requester's department does not own the resource: it cannot approve its own request
    assert portal.post(f"/dispatch/requests/{rid}/approve", {}).status_code == 403

    approver = Portal(stack.web_url)
    approver.sign_in(people["approver"])
    assert f"#{rid}" in approver.get("/dispatch").text
    assert (
        approver.post(f"/dispatch/requests/{rid}/approve", {"reason": "同意"}, csrf=False).status_code == 403
    )
    assert approver.post(f"/dispatch/requests/{rid}/approve", {"reason": "同意"}).status_code == 303

    granted = portal.get(f"/catalog/r/{zone.resource}", params={"tab": "preview"}).text
    assert "520102199001011237" not in granted  # masked by grade, exactly as over SQL
    with connect_as(zone.consumer, zone.settings, password=zone.passwords[zone.consumer]) as conn:
        over_sql = conn.execute(
            f"select resident_id from exchange.{zone.resource} order by record_id"
        ).fetchall()
    assert all(v[0] and v[0] in granted for v in over_sql)

    assert approver.post(f"/dispatch/requests/{rid}/revoke", {"reason": "到期"}).status_code == 303
    after = portal.get(f"/catalog/r/{zone.resource}", params={"tab": "preview"}).text
    assert all(v[0] not in after for v in over_sql)

    trail = platform.execute(
        "select action, actor, record->'details'->>'person' from platform.audit_log where subject = %s order by seq",
        (f"request:{rid}",),
    ).fetchall()
    assert (
        "request.submitted.person",
        f"{zone.consumer}/{people['requester']}",
        people["requester"],
    ) in trail
    assert ("request.approved.person", f"{zone.provider}/{people['approver']}", people["approver"]) in trail
    assert ("grant.revoked.person", f"{zone.provider}/{people['approver']}", people["approver"]) in trail
    reads = platform.execute(
        "select detail->>'person' from platform.access_log where resource_key = %s and channel = 'portal'",
        (zone.resource,),
    ).fetchall()
    assert (people["requester"],) in reads


def test_data_office_sweep_and_department_users_cannot(portal, stack, people, platform):
    from govlake.accounts.people import add_person

    add_person(platform, "zz_p_dsj", "测试大数据局", "data_office", "data_office", PASSWORD, replace=True)
    try:
        assert portal.sign_in(people["requester"]).status_code == 303
        assert portal.post("/dispatch/sweep", {}).status_code == 403
        office = Portal(stack.web_url)
        office.sign_in("zz_p_dsj")
        assert "升级到大数据局的申请" in office.get("/dispatch").text
        done = office.post("/dispatch/sweep", {})
        assert done.status_code == 303 and "/dispatch?done=" in done.headers["location"]
    finally:
        platform.execute("delete from platform.portal_users where username = 'zz_p_dsj'")
