"""The 血缘 graph and the 共享图谱 in the browser, as a person uses them: a click on a node expands it, a
chosen column lights up its whole path from the department's own column to the exchange."""

from __future__ import annotations

import re

import pytest

from govlake.registry import get_dataset, iter_datasets

HOUSEHOLD = "public_security__household_registration"
START = f"raw.{HOUSEHOLD}"


@pytest.fixture
def ingest_lineage(stack):
    """Every registry dataset's ingest as OpenLineage events (cheap: no dbt needed for these pages)."""
    from govlake.lineage.event_store import store_events
    from govlake.lineage.events import ingest_event, to_json
    from govlake.warehouse import connect, ensure_platform_schema

    with connect(stack, autocommit=True) as conn:
        ensure_platform_schema(conn)
        store_events(conn, [to_json(ingest_event(d, stack)) for d in iter_datasets()])


def _node_center(page, node: str) -> tuple[float, float]:
    box = page.locator(".lineage-canvas").bounding_box()
    pos = page.evaluate(
        "id => { const p = document.querySelector('[data-lineage-node]').__lineage.cy.getElementById(id)"
        ".renderedPosition(); return [p.x, p.y]; }",
        node,
    )
    return box["x"] + pos[0], box["y"] + pos[1]


def _drawn(page) -> set[str]:
    return set(
        page.evaluate(
            "() => document.querySelector('[data-lineage-node]').__lineage.cy.nodes().map(n => n.id())"
        )
    )


def test_click_expands_a_node_and_a_column_path_lights_up(page, portal_url, ingest_lineage, screenshot):
    page.goto(f"{portal_url}/lineage/node/{START}")
    root = page.locator("[data-lineage-node]")
    root.and_(page.locator("[data-ready=true]")).wait_for(timeout=30_000)
    first = _drawn(page)
    lake, landing = f"lake.{HOUSEHOLD}", f"landing.{HOUSEHOLD}"
    assert lake in first and landing not in first  # one hop up by default
    page.mouse.click(*_node_center(page, lake))
    page.wait_for_function(
        "id => !document.querySelector('[data-lineage-node]').__lineage.cy.getElementById(id).empty()",
        arg=landing,
        timeout=15_000,
    )
    assert landing in _drawn(page)
    assert page.locator(".lineage-selected").inner_text() == lake
    # back on the raw table: its columns; choose gender and follow it to the department's own column
    page.mouse.click(*_node_center(page, START))
    page.locator(".lineage-columns option", has_text=re.compile("^gender$")).wait_for(state="attached")
    page.select_option(".lineage-columns", f"{START}.gender")
    source_name = get_dataset(HOUSEHOLD).column("gender").source_name
    page.wait_for_function(
        "col => (document.querySelector('[data-lineage-node]').getAttribute('data-path') || '').split(' ').includes(col)",
        arg=f"source.{HOUSEHOLD}.{source_name}",
        timeout=15_000,
    )
    lit = set(
        page.evaluate(
            "() => document.querySelector('[data-lineage-node]').__lineage.cy.nodes('.on-path').map(n => n.id())"
        )
    )
    assert {f"source.{HOUSEHOLD}", landing, lake, START} <= lit
    assert page.locator(".lineage-path li", has_text=f"source.{HOUSEHOLD}.{source_name}").count() == 1
    screenshot(page, "lineage-column-path")
    # collapse returns to the first view
    page.get_by_role("button", name="收起").click()
    page.wait_for_function(
        "n => Number(document.querySelector('[data-lineage-node]').getAttribute('data-nodes')) === n",
        arg=len(first),
        timeout=15_000,
    )


def test_resource_tab_partial_loads_with_htmx(page, portal_url, ingest_lineage):
    response = page.request.get(f"{portal_url}/lineage/resource/{HOUSEHOLD}/graph")
    assert response.ok and 'data-lineage-node="dataset:' in response.text()


PASSWORD = "lineage test passw0rd"


def test_sharing_graph_shows_a_departments_flow_with_its_rows(page, portal_url, zone, platform, screenshot):
    """A grant and reads of the zz dataset appear as the provider → consumer flow, filtered by department."""
    from govlake.accounts.people import add_person
    from govlake.sharing import dispatch
    from govlake.sharing.access import record_access

    add_person(
        platform, "zz_lineage_viewer", "测试血缘", "data_office", "data_office", PASSWORD, replace=True
    )
    try:
        request = zone.submit(platform)
        dispatch.approve(platform, request.request_id, zone.provider, settings=zone.settings)
        record_access(platform, zone.consumer, "api", zone.resource, ["resident_id"], 7)
        page.context.clear_cookies()
        page.goto(f"{portal_url}/signin?next=/lineage?department={zone.consumer}")
        page.get_by_label("用户名").fill("zz_lineage_viewer")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(re.compile(r"/lineage\?department="))
        uses = page.locator("h2", has_text="我使用了谁的").locator("xpath=..").locator("tbody tr")
        assert uses.count() >= 1
        assert "7" in uses.first.inner_text() and zone.resource in uses.first.inner_text()
        page.wait_for_function("() => window.govlakeSharing && window.govlakeSharing.edges().length > 0")
        screenshot(page, "lineage-sharing-graph")
    finally:
        platform.execute("delete from platform.portal_users where username = 'zz_lineage_viewer'")
