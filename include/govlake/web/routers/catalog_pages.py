"""目录: catalog search with facets, and each resource's page with its tabs.

The tabs are separate URLs (``/catalog/r/<key>?tab=preview``) that answer a whole page, or just the
panel when htmx asks (``HX-Request``), so every tab works without JavaScript too.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any
from urllib.parse import quote_plus

from fastapi import APIRouter, HTTPException, Query, Request

from govlake.catalog.catalog_search import FACETS, PAGE_SIZE, search_catalog
from govlake.catalog.model import CONDITIONAL, NOT_SHARED, UNCONDITIONAL, CatalogError
from govlake.catalog.store import get_entry
from govlake.web import resource_tabs
from govlake.web.page_render import render, templates
from govlake.web.portal_db import connect
from govlake.web.portal_session import MaybePerson

router = APIRouter(include_in_schema=False)
TABS: tuple[tuple[str, str], ...] = (
    ("items", "信息项"),
    ("preview", "预览"),
    ("profile", "画像"),
    ("quality", "质量"),
    ("sharing", "共享"),
    ("lineage", "血缘"),
    ("api", "接口"),
)
MAX_QUERY_CHARS = 200


def _url(q: str, filters: dict[str, list[str]], page: int = 1, **change: Any) -> str:
    params: list[tuple[str, str]] = []
    if q:
        params.append(("q", q))
    for key, values in filters.items():
        params += [(key, v) for v in values]
    if page > 1:
        params.append(("page", str(page)))
    query = "&".join(f"{_quoted(k)}={_quoted(v)}" for k, v in params)
    return "/catalog/search" + (f"?{query}" if query else "")


@lru_cache(maxsize=4096)
def _quoted(text: str) -> str:
    """``urlencode``'s quoting of one key or value; the facet links repeat the same few on every page."""
    return quote_plus(text)


def _toggle(q: str, filters: dict[str, list[str]], key: str, value: str) -> str:
    current = list(filters.get(key, []))
    current = [v for v in current if v != value] if value in current else [*current, value]
    return _url(q, {**filters, key: current})


@router.get("/catalog/search")
def catalog(request: Request, q: str = "", page: int = Query(1, ge=1, le=10_000)):
    q = q[:MAX_QUERY_CHARS]
    filters = {k: [v[:200] for v in request.query_params.getlist(k)][:20] for k in FACETS}
    filters = {k: v for k, v in filters.items() if v}
    with connect(autocommit=True) as conn:
        results = search_catalog(conn, q, filters, page)
    pages = max(1, -(-results.total // PAGE_SIZE))
    facets = [
        (
            key,
            FACETS[key],
            [(v, n, v in filters.get(key, []), _toggle(q, filters, key, v)) for v, n in values],
        )
        for key, values in results.facets.items()
        if values
    ]
    context = {
        "q": q,
        "filters": filters,
        "results": results,
        "facets": facets,
        "page": page,
        "pages": pages,
        "prev_url": _url(q, filters, page - 1) if page > 1 else None,
        "next_url": _url(q, filters, page + 1) if page < pages else None,
        "clear_url": _url(q, {}),
        "facet_labels": FACETS,
    }
    return render(request, "catalog/search.html", context)


def _entry(key: str):
    try:
        with connect(autocommit=True) as conn:
            return get_entry(conn, key)
    except CatalogError as exc:
        raise HTTPException(404, "目录中没有这个资源") from exc


@router.get("/catalog/r/{key}")
def resource(request: Request, key: str, person: MaybePerson, tab: str = "items"):
    entry = _entry(key)
    if tab not in dict(TABS):
        tab = "items"
    panel = resource_tabs.panel(tab, entry, person)
    context = {
        "entry": entry,
        "tab": tab,
        "tabs": TABS,
        "panel": panel,
        "panel_template": f"catalog/tab_{tab}.html",
        "counts": {t: len(entry.items_of(t)) for t in (UNCONDITIONAL, CONDITIONAL, NOT_SHARED)},
        "header": resource_tabs.header(entry),
    }
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "tab-panel":
        return templates.TemplateResponse(request, f"catalog/tab_{tab}.html", {**context, "person": person})
    return render(request, "catalog/resource.html", context)


def chart_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str).replace("</", "<\\/")


templates.env.filters["chart_json"] = chart_json
