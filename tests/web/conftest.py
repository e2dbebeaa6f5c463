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
