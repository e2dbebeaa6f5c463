"""开放平台 in the browser, no sign-in: search with department and prefecture facets, dataset pages,
open statistics (ECharts), the app showcase; hostile strings stay text; bad input gets a page."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

pytestmark = pytest.mark.integration

HOSTILE_NAME = "<script>alert(1)</script>贵州测试公司"
HOSTILE_FORMULA = '=HYPERLINK("http://evil.example","点我")'


@pytest.fixture
def no_dialogs(page):
    """Fails the test if any page opens a JavaScript dialog (an injected script would)."""
    opened: list[str] = []
    page.on("dialog", lambda dialog: (opened.append(dialog.message), dialog.dismiss()))
    yield page
    assert opened == [], f"a script ran: {opened}"


def test_search_facets_by_department_and_prefecture(no_dialogs, portal_url, open_published, screenshot):
    page = no_dialogs
    page.goto(f"{portal_url}/open?q=zz")
    expect(page.get_by_role("heading", name="公共数据开放平台")).to_be_visible()
    expect(page.locator(".published-note")).to_contain_text("开放数据截至")
    department = page.locator("a[data-facet=department]", has_text="市场监管局")
    prefecture = page.locator("a[data-facet=prefecture]", has_text="六盘水市")
    expect(department).to_contain_text("2")
    expect(prefecture).to_contain_text("2")
    screenshot(page, "open_search")

    prefecture.click()
    expect(page).to_have_url(re.compile(r"prefecture=520200"))
    titles = page.locator("article.open-dataset h2")
    expect(titles).to_have_count(2)
    expect(page.locator("article.open-dataset")).not_to_contain_text(["人口数"])

    page.locator("a[data-facet=department]", has_text="市场监管局").click()
    expect(titles).to_have_count(2)
    page.get_by_label("搜索开放数据集").fill("去标识化")
    page.get_by_role("button", name="搜索").click()
    expect(page).to_have_url(re.compile(r"q=%E5%8E%BB"))  # the new query's page
    # ranked by relevance (one engine for every search, words OR-ed): the exact title comes first
    expect(titles.first).to_contain_text("去标识化")
    assert "prefecture=520200" in page.url and "department=market_regulation" in page.url


def test_dataset_page_versions_downloads_dictionary_preview_api(
    no_dialogs, portal_url, open_published, screenshot
):
    page = no_dialogs
    name = open_published["records"]
    page.goto(f"{portal_url}/open/dataset/{name}")
    expect(page.locator(".published-note")).to_contain_text(f"数据日期 {open_published['date']}")
    for file in ("data.csv", "data.parquet", "data.json", "dictionary.csv", "metadata.json"):
        expect(page.locator(f"a[data-file='{file}']")).to_have_count(1)
    expect(page.locator("#dictionary-h + .table-wrap")).to_contain_text("市州名称")
    expect(page.locator("#versions-h + .table-wrap")).to_contain_text(str(open_published["date"]))
    expect(page.locator("#api-h ~ ul")).to_contain_text("package_show")
    screenshot(page, "open_dataset")

    page.get_by_label("市州").select_option("520200")
    page.get_by_role("button", name="筛选").click()
    preview = page.locator("table.preview")
    expect(preview).to_contain_text("盘州市")
    expect(preview).not_to_contain_text("南明区")
    # a delivered name and a spreadsheet formula are shown as the text they are
    expect(preview).to_contain_text(HOSTILE_NAME)
    expect(preview).to_contain_text(HOSTILE_FORMULA)
    assert page.locator("table.preview script").count() == 0
    screenshot(page, "open_dataset_prefecture")

    # the CKAN call the page shows answers
    api = page.locator("#api-h ~ ul a", has_text="package_show").get_attribute("href")
    result = requests.get(f"{portal_url}{api}", timeout=30).json()["result"]
    assert result["name"] == name


def test_open_statistics_draw_per_department_and_prefecture(
    no_dialogs, portal_url, open_published, screenshot
):
    page = no_dialogs
    page.goto(f"{portal_url}/open/stats")
    expect(page.locator("body")).to_have_attribute("data-charts-drawn", "3", timeout=20_000)
    for chart in ("chart-departments", "chart-prefectures", "chart-daily"):
        expect(page.locator(f"#{chart} canvas").first).to_be_visible()
    expect(page.locator("#pref-h ~ .table-wrap")).to_contain_text("六盘水市")
    expect(page.locator("#dept-h ~ .table-wrap")).to_contain_text("市场监管局")
    screenshot(page, "open_stats")


def test_app_showcase_lists_apps_with_their_datasets(no_dialogs, portal_url, open_published, screenshot):
    page = no_dialogs
    page.goto(f"{portal_url}/open/apps")
    app = page.locator("article.app", has_text=HOSTILE_NAME)
    expect(app).to_have_count(1)
    expect(app).to_contain_text(HOSTILE_FORMULA)
    expect(app.get_by_role("link", name=re.compile("去标识化"))).to_be_visible()
    screenshot(page, "open_apps")
    app.get_by_role("link", name=re.compile("去标识化")).click()
    expect(page).to_have_url(re.compile(f"/open/dataset/{open_published['records']}$"))


def test_bad_input_gets_a_page_never_a_500(portal_url, open_published):
    long_query = "人口<script>alert(1)</script>" * 500
    for params in (
        {"q": long_query},
        {"q": "'; drop table platform.open_datasets; --", "department": "<b>x</b>", "prefecture": "9" * 300},
        {"page": "10000"},
        {"page": "0"},
        {"page": "abc"},
    ):
        response = requests.get(f"{portal_url}/open", params=params, timeout=30)
        assert response.status_code == 200, params
        assert "<script>alert(1)</script>" not in response.text
    assert requests.get(f"{portal_url}/open/dataset/zz-nothing", timeout=30).status_code == 404
    assert (
        requests.get(
            f"{portal_url}/open/dataset/{open_published['records']}/1900-01-01", timeout=30
        ).status_code
        == 404
    )
    odd = requests.get(
        f"{portal_url}/open/dataset/{open_published['records']}",
        params={"prefecture": "<svg onload=x>"},
        timeout=30,
    )
    assert odd.status_code == 200 and "<svg onload=x>" not in odd.text


def test_pages_fit_a_phone(page, portal_url, open_published, screenshot):
    """At a phone's width nothing but the wide tables (which scroll inside their frame) overflows."""
    page.set_viewport_size({"width": 390, "height": 844})
    for path, shot in (
        ("/open?q=zz", "open_search_phone"),
        (f"/open/dataset/{open_published['records']}", "open_dataset_phone"),
        ("/open/stats", "open_stats_phone"),
        ("/open/apps", "open_apps_phone"),
    ):
        page.goto(f"{portal_url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        screenshot(page, shot, full_page=False)


def test_dcat_iris_of_datasets_and_files_dereference(portal_url, open_published):
    """The DCAT-AP catalog's IRIs (/open/dataset/<name>, /open/resource/<id>) answer with the page and file."""
    catalog = requests.get(f"{portal_url}/catalog.jsonld", timeout=30).text
    name = open_published["records"]
    assert f"/open/dataset/{name}" in catalog
    page = requests.get(f"{portal_url}/open/dataset/{name}", timeout=30)
    assert page.status_code == 200 and "数据字典" in page.text
    pkg = requests.get(f"{portal_url}/api/3/action/package_show", params={"id": name}, timeout=30).json()
    csv_id = next(r["id"] for r in pkg["result"]["resources"] if r["file"] == "data.csv")
    moved = requests.get(f"{portal_url}/open/resource/{csv_id}", allow_redirects=False, timeout=30)
    assert moved.status_code == 307
    assert moved.headers["location"].endswith(f"/download/{name}/{open_published['date']}/data.csv")
