"""The platform's web service (``govlake.web.app:app``) as a managed process of the stack.

uvicorn on ``settings.web_port`` (``settings.web_workers`` processes) serves the catalog, data dispatch and sharing API (and later
the open-data API); it needs PostgreSQL and S3, so the stack starts it after them. Health is
``GET /healthz``, which also checks that the warehouse answers.
"""

from __future__ import annotations

import sys

import requests

from govlake.settings import Settings

NAME = "web"
APP = "govlake.web.app:app"


def argv(settings: Settings) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        APP,
        "--host",
        settings.web_host,
        "--port",
        str(settings.web_port),
        "--workers",
        str(max(1, settings.web_workers)),
        "--no-access-log",
    ]


def health(settings: Settings, timeout: float = 3) -> tuple[bool, str]:
    try:
        resp = requests.get(f"{settings.web_url}/healthz", timeout=timeout)
    except requests.RequestException as exc:
        return False, f"not answering /healthz: {type(exc).__name__}"
    return resp.status_code == 200, f"/healthz HTTP {resp.status_code}"
