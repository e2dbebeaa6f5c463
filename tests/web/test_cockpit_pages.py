"""The leader cockpit in a browser, as a leader uses it: the map draws the 9 prefectures, a click drills
into Bijie's counties, a tile click shows its sources, the Bijie answer equals the library, 吼一声 answers,
and the big screen fills 1920×1080. Screenshots are kept (tests/web/conftest.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from govlake.settings import Settings
from govlake.warehouse import connect

pytestmark = pytest.mark.integration

USERNAME, PASSWORD = "zz_ckp_browser_leader", "cockpit-browser-pass-1"


@pytest.fixture(scope="module")
def cockpit_leader(stack: Settings, published_day: str):
    from govlake.accounts.people import add_person

    day = published_day
    with connect(stack, autocommit=True) as conn:
        add_person(conn, USERNAME, "驾驶舱测试领导", "data_office", "leader", PASSWORD, replace=True)
    yield day
    with connect(stack, autocommit=True) as conn:
        conn.execute("delete from platform.portal_users where username = %s", (USERNAME,))


def _sign_in(page, portal_url: str, next_path: str = "/cockpit") -> None:
    page.goto(f"{portal_url}/signin?next={next_path}")
    page.fill("#username", USERNAME)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{next_path}*")


def _map_ready(page, layer: str, regions: int) -> None:
    page.wait_for_function(
        "([layer, n]) => { const m = document.getElementById('cockpit-map');"
        " return m && m.dataset.layer === layer && m.dataset.regions === String(n) && m.querySelector('canvas'); }",
        arg=[layer, regions],
        timeout=60_000,
    )


def test_map_draws_the_prefectures_and_drills_into_bijie(page, portal_url, cockpit_leader, screenshot):
    _sign_in(page, portal_url)
    _map_ready(page, "guizhou", 9)
    assert page.get_by_text("示意图").first.is_visible()
    names = page.evaluate("window.cockpitMap.chart.getOption().series[0].data.map(d => d.name)")
    assert len(names) == 9 and "毕节市" in names and "黔南布依族苗族自治州" in names
    screenshot(page, "cockpit_province_map")
    # a click on Bijie (where the map draws it) drills into its 8 counties
    page.locator("#cockpit-map").scroll_into_view_if_needed()
    x, y = page.evaluate("window.cockpitMap.pixelOf('520500')")
    box = page.locator("#cockpit-map").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    _map_ready(page, "bijie", 8)
    counties = page.evaluate("window.cockpitMap.chart.getOption().series[0].data.map(d => d.name)")
    assert "黔西市" in counties and "黔西县" not in counties and "威宁彝族回族苗族自治县" in counties
    page.locator("#sources-panel .sources").wait_for()  # the click also showed where the figure came from
    screenshot(page, "cockpit_bijie_counties")
    page.click("#map-back")
    _map_ready(page, "guizhou", 9)


def test_a_tile_click_shows_its_sources(page, portal_url, cockpit_leader, screenshot):
    _sign_in(page, portal_url)
    page.locator(".tile[data-indicator=registered_population]").click()
    panel = page.locator("#sources-panel .sources")
    panel.wait_for()
    text = panel.inner_text()
    assert "人口发展主题库" in text and "公安厅" in text and "批次" in text
    assert "public_security__household_registration__" in text  # a batch id with its date
    screenshot(page, "cockpit_tile_sources", full_page=False)


def test_bijie_answer_lists_the_librarys_figures(page, portal_url, cockpit_leader, stack, screenshot_dir):
    with connect(stack, autocommit=True) as conn:
        (county,) = conn.execute(
            "select county_code from base.bijie_crops_vs_corn order by county_code limit 1"
        ).fetchone()
        library = conn.execute(
            "select crop, avg_revenue_per_mu, avg_corn_revenue_per_mu, years_above_corn from base.bijie_crops_vs_corn"
            " where county_code = %s order by rank_in_county",
            (county,),
        ).fetchall()
    _sign_in(page, portal_url, f"/cockpit?county={county}")
    rows = page.locator(f".bijie-table tbody tr[data-county='{county}']")
    assert rows.count() == len(library)
    for i, (crop, revenue, corn, above) in enumerate(library):
        row = rows.nth(i)
        assert row.get_attribute("data-crop") == crop
        assert Decimal(row.locator("[data-field=avg_revenue_per_mu]").inner_text()) == revenue
        assert Decimal(row.locator("[data-field=avg_corn_revenue_per_mu]").inner_text()) == corn
        assert row.locator("[data-field=years_above_corn]").inner_text().startswith(f"{above}/")
    assert "回测" in page.locator("#bijie").inner_text() and "不知道的" in page.locator("#bijie").inner_text()
    page.locator("#bijie").screenshot(path=str(screenshot_dir / f"cockpit_bijie_{county}.png"))


def test_ask_answers_with_chart_table_and_sources(page, portal_url, cockpit_leader, screenshot):
    _sign_in(page, portal_url)
    page.fill("#ask-q", "遵义人口这五年怎么变")
    page.click("form.ask button[type=submit]")
    answer = page.locator("#answer")
    answer.locator(".answer-table").wait_for()
    page.wait_for_function("document.querySelector('#answer .answer-chart canvas') !== null")
    assert "遵义市" in answer.inner_text() and "数据来源" in answer.inner_text()
    screenshot(page, "cockpit_ask_population")
    page.goto(f"{portal_url}/cockpit/ask?q=" + "<script>window.pwned=1</script>毕节种什么")
    assert page.evaluate("window.pwned === undefined")
    assert "<script>window.pwned=1</script>" in page.locator("#ask-q").input_value()


def test_big_screen_fills_1920_by_1080(browser, portal_url, cockpit_leader, screenshot_dir):
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    page = context.new_page()
    try:
        _sign_in(page, portal_url, "/cockpit/screen")
        _map_ready(page, "guizhou", 9)
        size = page.evaluate(
            "({w: document.documentElement.scrollWidth, h: document.documentElement.scrollHeight,"
            " bg: getComputedStyle(document.body).backgroundColor,"
            " refresh: document.querySelector('meta[http-equiv=refresh]')?.content})"
        )
        assert size["w"] == 1920 and size["h"] == 1080, size
        assert size["bg"] == "rgb(7, 20, 43)" and int(size["refresh"]) > 0
        box = page.locator("#cockpit-map").bounding_box()
        assert box["width"] > 800 and box["height"] > 800, box
        page.screenshot(path=str(screenshot_dir / "cockpit_big_screen_1920x1080.png"))
    finally:
        context.close()
