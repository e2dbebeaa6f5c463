"""Rendering portal pages: one Jinja2 environment (autoescape on), the base layout's context.

Every page gets the signed-in person, the CSRF token for its forms, the navigation and the date the
data it shows was published (the latest publication in ``platform.publications``).
"""

from __future__ import annotations

import datetime as dt
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from govlake.web.portal_session import csrf_token, current_person, issue_csrf_cookie

TEMPLATES_DIR = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.autoescape = True  # every string from data is text, never markup

# (path, label): the top navigation of every page. Areas other engineers add may answer 404 until then.
NAV: tuple[tuple[str, str], ...] = (
    ("/", "首页"),
    ("/catalog/search", "目录"),
    ("/dispatch", "数据调度"),
    ("/quality", "质量"),
    ("/open", "开放平台"),
    ("/cockpit", "驾驶舱"),
    ("/lineage", "血缘/共享图谱"),
    ("/analysis", "分析"),
)


@lru_cache(maxsize=1)
def department_names() -> dict[str, str]:
    from govlake.registry import load_departments

    names = {d.code: d.name for d in load_departments()}
    names["data_office"] = "大数据局"
    return names


_published: dict[str, Any] = {"at": 0.0, "value": None}


def published_on() -> dt.date | None:
    """The latest logical date anything was published for (cached for a minute)."""
    if time.monotonic() - _published["at"] > 60:
        from govlake.web.portal_db import connect

        with connect(autocommit=True) as conn:
            row = conn.execute(
                "select max(logical_date) from platform.publications where status = 'published'"
            ).fetchone()
        _published.update(at=time.monotonic(), value=row[0] if row else None)
    return _published["value"]


def dept_name(code: str | None) -> str:
    return department_names().get(code or "", code or "")


def _fmt_dt(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")
    return "" if value is None else str(value)


templates.env.filters["dept"] = dept_name
templates.env.filters["when"] = _fmt_dt
templates.env.globals["nav"] = NAV


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    ctx = {
        "person": current_person(request),
        "csrf_token": csrf_token(request),
        "published_on": published_on(),
        "path": request.url.path,
        **(context or {}),
    }
    response = templates.TemplateResponse(request, name, ctx, status_code=status_code)
    issue_csrf_cookie(request, response)
    return response
