"""/docs draws in a real browser with no network beyond the platform (Swagger UI is vendored, no CDN)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.integration


def test_swagger_ui_draws_from_the_platform_alone(page, portal_url, screenshot):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))

    page.goto(f"{portal_url}/docs")

    # The operations list is drawn from /openapi.json: tag sections and operation rows are visible.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("govlake")
    operations = page.locator(".opblock-summary")
    expect(operations.first).to_be_visible(timeout=20_000)
    assert operations.count() >= 10
    expect(page.locator(".opblock-tag", has_text="catalog").first).to_be_visible()
    screenshot(page, "api_docs")

    # Every file came from the platform itself (an offline network reaches nothing else).
    origin = urlsplit(portal_url).netloc
    outside = [
        url
        for url in requested
        if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc != origin
    ]
    assert outside == [], outside
    assert failed == [], failed


def test_vendored_files_are_served_with_their_licences(page, portal_url):
    for path in (
        "/static/vendor/htmx/htmx.min.js",
        "/static/vendor/echarts/echarts.min.js",
        "/static/vendor/cytoscape/cytoscape.min.js",
        "/static/vendor/cytoscape-dagre/cytoscape-dagre.min.js",
        "/static/vendor/swagger-ui/LICENSE",
        "/static/vendor/VERSIONS.txt",
    ):
        response = page.request.get(f"{portal_url}{path}")
        assert response.status == 200, path
    assert "htmx.org@2.0." in page.request.get(f"{portal_url}/static/vendor/VERSIONS.txt").text()
