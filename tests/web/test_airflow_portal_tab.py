"""From Airflow to the portal, in the browser: the plugin's 门户数据资源 tab on an ingest DAG's page links
its dataset's resource page and 质量 tab, and Airflow's navigation has a 数据门户 entry."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.integration

INGEST_DAG = "ingest__civil_affairs__marriage_registrations"
INGEST_KEY = "civil_affairs__marriage_registrations"


def test_an_engineer_goes_from_a_dag_to_its_resource_page(page, stack, portal_url, screenshot):
    from govlake.cycle.airflow_client import AirflowClient

    AirflowClient(stack).wait_for_dags([INGEST_DAG])
    page.set_default_timeout(90_000)  # Airflow's UI is a large single-page app: slow on a busy machine
    page.goto(f"{stack.airflow_url}/auth/login", wait_until="domcontentloaded")
    page.locator("input[name=username]").fill(stack.airflow_user)
    page.locator("input[name=password]").fill(stack.airflow_password)
    page.keyboard.press("Enter")
    expect(page).not_to_have_url(re.compile(r"/auth/login"), timeout=90_000)

    page.goto(f"{stack.airflow_url}/dags/{INGEST_DAG}/plugin/govlake-portal", wait_until="domcontentloaded")
    expect(
        page.get_by_role("tab", name="门户数据资源").or_(page.get_by_text("门户数据资源")).first
    ).to_be_visible(timeout=90_000)
    frame = page.frame_locator("iframe[title='门户数据资源']")
    resource = frame.get_by_role("link", name=re.compile("民政厅"))
    expect(resource).to_have_attribute("href", f"{portal_url}/catalog/r/{INGEST_KEY}", timeout=90_000)
    expect(frame.get_by_role("link", name="质量")).to_have_attribute(
        "href", f"{portal_url}/catalog/r/{INGEST_KEY}?tab=quality"
    )
    expect(page.get_by_text("数据门户", exact=True).first).to_be_visible()  # the navigation entry
    screenshot(page, "airflow_dag_portal_tab")
