"""Browser fixtures for the portal's tests: pytest-playwright driving Debian's Chromium.

`playwright install` cannot download a browser here (nor on an offline government network), so the
session's browser is /usr/bin/chromium, which `make system-deps` (part of `make test`) installs when it
is missing. On a developer's machine without it the browser tests are skipped, with the reason.

Fixtures (pytest-playwright's, configured here):
- ``browser``: one headless Chromium for the whole session;
- ``page``: a fresh context and page per test, 1366×768, zh-CN, Asia/Shanghai;
- ``portal_url``: the running stack's web service (``Settings.web_url``);
- ``screenshot(page, name)``: saves ``<name>.png`` under the screenshots folder (kept as test artifacts:
  ``$GOVLAKE_TEST_ARTIFACTS`` or ``test-artifacts/`` at the repository root, ignored by git).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

CHROMIUM = Path(os.environ.get("GOVLAKE_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--no-sandbox",  # runs as root in CI
    "--disable-gpu",
    "--disable-background-networking",  # no calls home: the machine is offline
    "--disable-component-update",
    "--no-first-run",
]
VIEWPORT = {"width": 1366, "height": 768}
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("GOVLAKE_TEST_ARTIFACTS", REPO / "test-artifacts"))
SCREENSHOTS = ARTIFACTS / "screenshots"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """pytest-playwright's launch options, pointed at Debian's Chromium (skip if it is absent)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: run `make system-deps` (as root) to install Debian's chromium")
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": LAUNCH_ARGS,
        "headless": browser_type_launch_args.get("headless", True),
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {
        **browser_context_args,
        "viewport": VIEWPORT,
        "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai",
        "accept_downloads": True,
    }


# Patience for a 2-core CI machine running the whole stack beside the browser: waits end as soon as the
# page is ready, so they cost nothing when it is fast.
expect.set_options(timeout=15_000)


@pytest.fixture
def page(page):
    """pytest-playwright's page, with navigation and action timeouts for a busy machine."""
    page.set_default_timeout(60_000)
    page.set_default_navigation_timeout(90_000)
    return page


@pytest.fixture(scope="session")
def portal_url(stack) -> str:
    """The stack's web service base URL (no trailing slash)."""
    return stack.web_url.rstrip("/")


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def screenshot(screenshot_dir: Path) -> Callable[..., Path]:
    """``screenshot(page, name, full_page=True)`` → the saved PNG's path."""

    def take(page, name: str, *, full_page: bool = True) -> Path:
        safe = re.sub(r"[^\w.-]+", "_", name).strip("_") or "page"
        path = screenshot_dir / f"{safe}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


def _opendata_scratch():
    """The zz-* open datasets' scratch libraries (tests/support/opendata_scratch.py)."""
    from support import opendata_scratch

    return opendata_scratch


# Strings a department delivered that must show as text on every page (never markup, never a formula).
HOSTILE_NAME = "<script>alert(1)</script>贵州测试公司"
HOSTILE_FORMULA = '=HYPERLINK("http://evil.example","点我")'


@pytest.fixture(scope="module")
def open_published(stack):
    """The three zz-* open datasets published from scratch libraries, for the open-data pages.

    Besides tests/opendata's rows (贵阳市, and one 盘州市 company that is suppressed), 12 companies in
    盘州市 make 六盘水市 a second prefecture with published data in the two market-entity datasets (not
    in the population one); two of them carry hostile names. An app built on two datasets is registered.
    Everything zz-* is removed afterwards."""
    import datetime as dt

    from govlake.opendata.release import publish_open_dataset
    from govlake.warehouse import connect, ensure_platform_schema

    scratch = _opendata_scratch()
    with connect(stack, autocommit=True) as conn:
        ensure_platform_schema(conn)
        scratch.drop_scratch(conn, stack)
        scratch.create_scratch(conn)
        names = [HOSTILE_NAME, HOSTILE_FORMULA] + [f"盘州测试实业有限公司{i}" for i in range(10)]
        for i, name in enumerate(names):
            conn.execute(
                "insert into od_test_base.legal_entities values "
                "(%s, %s, '有限责任公司', '李四', %s, 'C', 200, %s, '520281', '盘州市某路2号', '存续')",
                (
                    f"91520281MA6PZ{i:05d}",
                    name,
                    scratch.resident_id("520281", dt.date(1981, 2, 3), i),
                    dt.date(1997, 6, 1 + i),
                ),
            )
        releases = {
            name: publish_open_dataset(
                scratch.definition(name, **changes), scratch.DATE, stack, reference_schema=scratch.REFERENCE
            )
            for name, changes in (
                (scratch.POPULATION, {}),
                (scratch.ENTITIES, {}),
                (scratch.RECORDS, {"max_suppressed_share": 0.1}),
            )
        }
        conn.execute(
            "insert into platform.open_apps (name, url, description, datasets, client) values (%s, %s, %s, %s, 'tests')",
            (
                f"zz {HOSTILE_NAME}",
                "https://apps.example.org/entities-map",
                HOSTILE_FORMULA,
                [scratch.PREFIX + scratch.ENTITIES, scratch.PREFIX + scratch.RECORDS],
            ),
        )
        yield {
            "releases": releases,
            "prefix": scratch.PREFIX,
            "population": scratch.PREFIX + scratch.POPULATION,
            "entities": scratch.PREFIX + scratch.ENTITIES,
            "records": scratch.PREFIX + scratch.RECORDS,
            "date": scratch.DATE,
        }
        scratch.drop_scratch(conn, stack)
