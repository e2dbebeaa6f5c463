"""The simulated 人社厅 REST API as a managed process of the stack.

The server itself lives in ``govlake.province.department_api`` (a department system outside the platform);
the stack only starts it with the stack's settings in its environment, after PostgreSQL, and checks
``GET /healthz``. If that module is not installed yet the component is reported as missing, not as an
error, so the rest of the stack still comes up.
"""

from __future__ import annotations

import importlib.util
import sys

import requests

from govlake.settings import Settings

NAME = "department-api"
MODULE = "govlake.province.department_api"


def module_available(module: str = MODULE) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def argv(module: str = MODULE) -> list[str]:
    return [sys.executable, "-m", module]


def health(settings: Settings, timeout: float = 3) -> tuple[bool, str]:
    try:
        resp = requests.get(f"{settings.department_api_url}/healthz", timeout=timeout)
    except requests.RequestException as exc:
        return False, f"not answering /healthz: {type(exc).__name__}"
    return resp.status_code == 200, f"/healthz HTTP {resp.status_code}"
