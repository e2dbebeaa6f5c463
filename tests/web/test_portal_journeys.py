"""The portal as people use it, in Chromium (pytest-playwright; fixtures in tests/web/conftest.py).

Journeys: a 民政厅 requester searches 人口, opens 人口基础库 and files a request for masked items, which the
data office (the libraries' owner) approves; the same requester asks 公安厅 for 户籍人口登记信息's 公民身份号码,
公安厅's approver approves, the requester sees it in 预览 and in exchange.* over psql, and a revoke removes
it (on the published cycle's real data; the same journey runs on the zz_health test department of
tests/fixtures_sharing.py with a known row); a steward downloads her 纠错清单; a leader opens the quality
arena. Every page is screenshotted as a test artifact.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from support.grants import withdraw_grants

pytestmark = pytest.mark.integration

PASSWORD = "journey test password"
DAY = dt.date(1999, 1, 2)  # the test correction list's date: no real cycle runs this day


@pytest.fixture
def people(platform, stack):
    import psycopg

    from govlake.accounts.people import add_person
    from govlake.sharing.authenticator import ensure_department_logins

    for attempt in range(3):  # a concurrent GRANT elsewhere on the stack: "tuple concurrently updated"
        try:
            ensure_department_logins(platform, ["civil_affairs", "public_security"], stack)
            break
        except psycopg.errors.InternalError:
            if attempt == 2:
                raise
    made = {
        "mz": ("zz_j_mz", "civil_affairs", "requester"),
        "dsj": ("zz_j_dsj", "data_office", "data_office"),
        "leader": ("zz_j_leader", "data_office", "leader"),
        "steward": ("zz_j_steward", "civil_affairs", "steward"),
        "zz_requester": ("zz_j_zzreq", "zz_civil", "requester"),
        "zz_approver": ("zz_j_zzapp", "zz_health", "approver"),
        "ga_approver": ("zz_j_gaapp", "public_security", "approver"),
    }
    for username, department, role in made.values():
        add_person(platform, username, f"测试{role}", department, role, PASSWORD, replace=True)
    yield {k: v[0] for k, v in made.items()}
    platform.execute("delete from platform.portal_users where username like 'zz\\_j\\_%%'")
    platform.execute("delete from platform.portal_sign_ins where username like 'zz\\_j\\_%%'")


def sign_in(page: Page, portal_url: str, username: str, next_path: str = "/") -> None:
    page.context.clear_cookies()
    page.goto(f"{portal_url}/signin?next={next_path}")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator(".who-name")).to_contain_text("测试")


def requests_to_decide(page: Page, portal_url: str, approver: str, rid: int):
    """The approver's 待我审批 list, showing request ``rid``."""
    sign_in(page, portal_url, approver, "/dispatch")
    page.goto(f"{portal_url}/dispatch")
    to_decide = page.locator("section", has_text="待我审批")
    expect(to_decide).to_contain_text(f"#{rid}")
    return to_decide


def revoke_in_page(page: Page, portal_url: str, approver: str, rid: int, reason: str) -> None:
    """The provider's approver withdraws request ``rid``'s grant on its page."""
    sign_in(page, portal_url, approver, "/")
    page.goto(f"{portal_url}/dispatch/requests/{rid}")
    page.get_by_label("撤销理由（必填）").fill(reason)
    page.get_by_role("button", name="撤销").click()
    expect(page.locator(".notice")).to_contain_text("授权已撤销")


def close_request(platform, rid: int) -> None:
    """Clean-up: whatever state a failed journey left request ``rid`` in, no grant stays behind."""
    from govlake.sharing import dispatch

    state = dispatch.get_request(platform, rid).state
    if state == "approved":
        dispatch.revoke(platform, rid, "data_office", "test over")
    elif state in dispatch.OPEN_STATES:
        dispatch.reject(platform, rid, "data_office", "test over")


def test_requester_searches_population_and_requests_masked_items(
    page, portal_url, screenshot, people, platform, published_day
):
    alerts: list[str] = []
    page.on("dialog", lambda d: (alerts.append(d.message), d.dismiss()))
    sign_in(page, portal_url, people["mz"])
    page.get_by_role("link", name="目录").first.click()
    page.get_by_label("搜索资源").fill("人口")
    page.get_by_role("button", name="搜索").click()
    expect(page).to_have_url(re.compile(r"/catalog/search\?q=%E4%BA%BA%E5%8F%A3"))
    expect(page.get_by_role("link", name="人口基础库", exact=True)).to_be_visible()
    screenshot(page, "portal-catalog-search-人口")
    page.get_by_role("link", name="人口基础库", exact=True).click()
    expect(page.get_by_role("heading", name="人口基础库")).to_be_visible()
    page.get_by_role("tab", name="信息项").click()
    screenshot(page, "portal-resource-人口基础库")
    page.get_by_role("link", name="申请", exact=True).click()
    boxes = page.locator("input[name=items]")
    assert boxes.count() > 0
    boxes.nth(0).check()
    page.get_by_label("用途").fill("核查低保对象身份")
    page.get_by_label("依据（法律法规或职责文件）").fill("《社会救助暂行办法》")
    screenshot(page, "portal-request-form")
    page.get_by_role("button", name="提交申请").click()
    expect(page.locator(".notice")).to_contain_text("申请已提交")
    rid = int(re.search(r"/dispatch/requests/(\d+)", page.url).group(1))
    try:
        sign_in(page, portal_url, people["dsj"], "/dispatch")
        page.goto(f"{portal_url}/dispatch")
        page.get_by_role("link", name=f"#{rid}").first.click()
        page.get_by_label("意见（可选）").fill("同意")
        page.get_by_role("button", name="批准").click()
        expect(page.locator(".notice")).to_contain_text("已批准")
        screenshot(page, "portal-request-approved-by-data-office")
        sign_in(page, portal_url, people["mz"], "/dispatch")
        page.goto(f"{portal_url}/dispatch")
        expect(page.locator("section", has_text="我的申请")).to_contain_text("已批准")
        screenshot(page, "portal-dispatch-requester")
    finally:
        close_request(platform, rid)
    assert not alerts


HOUSEHOLD = "public_security__household_registration"


def test_civil_affairs_asks_public_security_for_resident_ids(
    page, portal_url, screenshot, people, platform, published_day
):
    """The issue's journey on real data: 民政厅 → 户籍人口登记信息 → 公安厅 approves → 预览 and psql → revoke."""
    import psycopg

    from govlake.warehouse.department_roles import connect_as

    def resident_ids_over_psql(shown: list[str]) -> int:
        with connect_as("civil_affairs") as conn:
            return conn.execute(
                f"select count(*) from exchange.{HOUSEHOLD} where resident_id = any(%s)", (shown,)
            ).fetchone()[0]

    withdraw_grants(platform, "civil_affairs", HOUSEHOLD, "resident_id")
    sign_in(page, portal_url, people["mz"], "/catalog/search")
    page.goto(f"{portal_url}/catalog/search?q=户籍人口")
    page.get_by_role("link", name="户籍人口登记信息", exact=True).click()
    expect(page.get_by_role("heading", name="户籍人口登记信息")).to_be_visible()
    page.get_by_role("tab", name="预览").click()
    panel = page.locator("#tab-panel")
    expect(panel.locator("table")).to_contain_text("性别")  # 无条件共享 items are readable
    expect(panel.locator("table")).not_to_contain_text("公民身份号码")
    screenshot(page, "portal-household-preview-before-grant")
    with connect_as("civil_affairs") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(f"select resident_id from exchange.{HOUSEHOLD} limit 1")
    panel.locator("li", has_text="resident_id").get_by_role("link", name="申请").click()
    expect(page.locator("input[name=items][value=resident_id]")).to_be_checked()
    page.get_by_label("用途").fill("核对低保对象户籍")
    page.get_by_label("依据（法律法规或职责文件）").fill("《社会救助暂行办法》第十一条")
    page.get_by_role("button", name="提交申请").click()
    expect(page.locator(".notice")).to_contain_text("申请已提交")
    rid = int(re.search(r"/dispatch/requests/(\d+)", page.url).group(1))
    try:
        to_decide = requests_to_decide(page, portal_url, people["ga_approver"], rid)
        to_decide.get_by_role("link", name=f"#{rid}").click()
        expect(page.locator("main")).to_contain_text("户籍人口登记信息")
        page.get_by_label("意见（可选）").fill("同意，限低保核对使用")
        page.get_by_role("button", name="批准").click()
        expect(page.locator(".notice")).to_contain_text("已批准")
        screenshot(page, "portal-household-approved-by-public-security")

        sign_in(page, portal_url, people["mz"], "/")
        page.goto(f"{portal_url}/catalog/r/{HOUSEHOLD}?tab=preview")
        table = page.locator("#tab-panel table")
        expect(table).to_contain_text("公民身份号码")
        screenshot(page, "portal-household-preview-after-grant")
        headers = table.locator("thead th").all_inner_texts()
        column = next(n for n, h in enumerate(headers, 1) if h.startswith("公民身份号码"))
        shown = [v.strip() for v in table.locator(f"tbody td:nth-child({column})").all_inner_texts()]
        assert shown and all(shown)
        assert resident_ids_over_psql(shown) == len(set(shown))  # the page shows what SQL gives the role

        revoke_in_page(page, portal_url, people["ga_approver"], rid, "核对完毕")
        sign_in(page, portal_url, people["mz"], "/")
        page.goto(f"{portal_url}/catalog/r/{HOUSEHOLD}?tab=preview")
        expect(page.locator("#tab-panel table")).not_to_contain_text("公民身份号码")
        assert all(v not in page.locator("#tab-panel").inner_text() for v in shown)
        with connect_as("civil_affairs") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"select resident_id from exchange.{HOUSEHOLD} limit 1")
    finally:
        close_request(platform, rid)


def test_grant_appears_in_preview_and_psql_and_revoke_removes_it(page, portal_url, screenshot, zone, people):
    from govlake.warehouse.department_roles import connect_as

    sign_in(page, portal_url, people["zz_requester"], f"/catalog/r/{zone.resource}")
    page.goto(f"{portal_url}/catalog/r/{zone.resource}?tab=preview")
    panel = page.locator("#tab-panel")
    expect(panel).to_contain_text("B001")
    expect(panel.locator("table")).not_to_contain_text("身份证号")
    expect(panel).to_contain_text("有条件共享，需申请")
    screenshot(page, "portal-preview-before-grant")
    panel.locator("li", has_text="resident_id").get_by_role("link", name="申请").click()
    expect(page.locator("input[name=items][value=resident_id]")).to_be_checked()
    page.get_by_label("用途").fill("核查新生儿母亲身份")
    page.get_by_label("依据（法律法规或职责文件）").fill("《社会救助暂行办法》第十条")
    page.get_by_role("button", name="提交申请").click()
    rid = int(re.search(r"/dispatch/requests/(\d+)", page.url).group(1))

    to_decide = requests_to_decide(page, portal_url, people["zz_approver"], rid)
    expect(to_decide).to_contain_text("剩余")  # the SLA clock
    screenshot(page, "portal-dispatch-to-decide")
    to_decide.get_by_role("link", name=f"#{rid}").click()
    page.get_by_role("button", name="批准").click()
    expect(page.locator(".notice")).to_contain_text("已批准")

    sign_in(page, portal_url, people["zz_requester"], "/")
    page.goto(f"{portal_url}/catalog/r/{zone.resource}?tab=preview")
    expect(page.locator("#tab-panel table")).to_contain_text("母亲身份证号")
    shown = page.locator("#tab-panel table").inner_text()
    screenshot(page, "portal-preview-after-grant")
    with connect_as(zone.consumer, zone.settings, password=zone.passwords[zone.consumer]) as conn:
        over_sql = [
            r[0] for r in conn.execute(f"select resident_id from exchange.{zone.resource}").fetchall()
        ]
    assert over_sql and all(v in shown for v in over_sql)
    assert "520102199001011237" not in shown  # masked, as in SQL

    revoke_in_page(page, portal_url, people["zz_approver"], rid, "核查完毕")
    sign_in(page, portal_url, people["zz_requester"], "/")
    page.goto(f"{portal_url}/catalog/r/{zone.resource}?tab=preview")
    expect(page.locator("#tab-panel table")).not_to_contain_text("母亲身份证号")
    assert all(v not in page.locator("#tab-panel").inner_text() for v in over_sql)


@pytest.fixture
def correction_list(platform, stack):
    """A quarantined civil_affairs row on DAY and its 纠错清单, made by the real list writer."""
    from govlake.quality.corrections import publish_correction_lists

    batch = f"civil_affairs__marriage_registrations__{DAY}"
    platform.execute("delete from platform.quarantine where batch_id = %s", (batch,))
    platform.execute(
        "insert into platform.quarantine (batch_id, department, dataset, logical_date, stage, source_file, "
        "source_row, rule, dimension, message, record) values (%s, 'civil_affairs', 'marriage_registrations', "
        "%s, 'ingest', 'marriage.csv', 7, 'required', 'completeness', 'registration_no is empty', "
        """'{"registration_no": null, "remarks": "=HYPERLINK(\\"x\\")"}')""",
        (batch, DAY),
    )
    publish_correction_lists(DAY, stack)
    yield
    platform.execute("delete from platform.quarantine where batch_id = %s", (batch,))
    publish_correction_lists(DAY, stack)  # removes the list of a day without quarantine


def test_steward_downloads_her_correction_list(page, portal_url, screenshot, people, correction_list):
    sign_in(page, portal_url, people["steward"], "/quality/quarantine")
    page.goto(f"{portal_url}/quality/quarantine")
    expect(page.get_by_role("heading", level=1)).to_contain_text("民政厅")
    screenshot(page, "portal-steward-quarantine")
    with page.expect_download() as info:
        page.locator("li", has_text=str(DAY)).get_by_role("link", name="下载纠错清单 (Excel)").click()
    download = info.value
    assert download.suggested_filename == "纠错清单_civil_affairs_19990102.xlsx"
    assert Path(download.path()).read_bytes()[:2] == b"PK"
    # another department's list is not hers
    other = page.request.get(f"{portal_url}/quality/corrections/public_security/{DAY}.xlsx")
    assert other.status == 404


@pytest.fixture
def scorecards(platform):
    """This week's scorecards (computed from the platform's records), unless the stack has some."""
    from govlake.registry import load_departments
    from govlake.scorecards.compute import compute_scorecards
    from govlake.scorecards.periods import period_containing
    from govlake.scorecards.scorecard_store import store_scorecards

    period = period_containing("week", dt.date.today())
    existing = platform.execute("select count(*) from platform.scorecards").fetchone()[0]
    if not existing:
        departments = [d.code for d in load_departments()]
        store_scorecards(platform, period, compute_scorecards(platform, period, departments))
    yield
    if not existing:
        platform.execute("delete from platform.scorecards where period = %s", (period.label,))


def test_leader_opens_the_quality_arena(page, portal_url, screenshot, people, scorecards):
    sign_in(page, portal_url, people["leader"], "/quality")
    page.goto(f"{portal_url}/quality")
    page.get_by_role("link", name="部门擂台").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("部门擂台")
    expect(page.locator("#radar canvas")).to_be_visible()
    expect(page.locator("#ranking canvas")).to_be_visible()
    screenshot(page, "portal-quality-arena")


@pytest.fixture
def rendered_scorecard(platform, stack):
    """This month's scorecard of 民政厅, computed, rendered (HTML + PDF) and delivered by the real run."""
    from govlake.scorecards import run_scorecards

    cards = run_scorecards("month", dt.date.today(), stack, departments=["civil_affairs"])
    return next(c for c in cards if c["department"] == "civil_affairs")


def test_steward_reads_her_scorecard_and_its_pdf(page, portal_url, screenshot, people, rendered_scorecard):
    sign_in(page, portal_url, people["steward"], "/quality")
    page.goto(f"{portal_url}/quality")
    page.locator("tr", has_text="民政厅").get_by_role("link", name="查看").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("民政厅 质量评分卡")
    overall = rendered_scorecard["overall"]
    expect(page.locator("main p b").first).to_have_text("—" if overall is None else f"{overall:.1f}")
    # the delivered report, sandboxed in the page, is the department's own
    expect(page.frame_locator("iframe").locator("body")).to_contain_text("民政厅")
    screenshot(page, "portal-quality-scorecard")
    href = page.get_by_role("link", name="下载 PDF").get_attribute("href")
    pdf = page.request.get(f"{portal_url}{href}")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body()[:5] == b"%PDF-"


def test_pages_fit_a_phone_and_work_by_keyboard(page, portal_url, screenshot, people):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, portal_url, people["mz"], "/")
    page.goto(f"{portal_url}/catalog/search?q=人口")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "portal-catalog-phone")
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{portal_url}/catalog/search")
    page.keyboard.press("Tab")
    expect(page.locator(".skip")).to_be_focused()
    page.get_by_label("搜索资源").focus()
    page.keyboard.type("<script>alert(1)</script>")
    page.keyboard.press("Enter")
    expect(page.locator("section[aria-live]")).to_contain_text("<script>alert(1)</script>")
