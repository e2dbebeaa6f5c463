"""The portal's pages in the web service: routers, static files and the sign-in redirect.

``install_portal(app)`` is all ``govlake.web.app`` calls; the JSON APIs are untouched (machines keep
HTTP Basic), the pages use personal accounts (govlake.web.portal_session).
"""

from __future__ import annotations

import logging
import threading

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from govlake.web.api_docs import mount_static
from govlake.web.page_render import render
from govlake.web.portal_session import SignInRequired, sign_in_url
from govlake.web.routers import (
    account_pages,
    analysis_pages,
    catalog_pages,
    cockpit_pages,
    dispatch_pages,
    home_pages,
    open_pages,
    quality_pages,
)

# Paths that answer machines: their errors stay JSON.
MACHINE_PREFIXES = ("/api", "/download", "/catalog.", "/openapi", "/docs", "/static", "/healthz")
PAGE_ROUTERS = (
    account_pages,
    home_pages,
    catalog_pages,
    dispatch_pages,
    quality_pages,
    analysis_pages,
    cockpit_pages,
    open_pages,
)


def _warm_up() -> None:
    """Load jieba's dictionary and build the catalog's search index before the first search asks for them
    (a second or two; each web worker has its own index)."""
    from govlake.catalog.catalog_search import catalog_index
    from govlake.search import query_terms
    from govlake.web.portal_db import connect

    query_terms("人口基础库")
    try:
        with connect() as conn:
            catalog_index(conn)
    except Exception as exc:  # a stack still being set up has no catalog yet: the first search builds it
        logging.getLogger(__name__).info("catalog index not built ahead: %s", exc)


def install_portal(app: FastAPI) -> None:
    mount_static(app)
    threading.Thread(target=_warm_up, name="portal-warm-up", daemon=True).start()
    for module in PAGE_ROUTERS:
        app.include_router(module.router)

    @app.exception_handler(SignInRequired)
    async def _sign_in_first(request: Request, exc: SignInRequired):
        if request.headers.get("hx-request"):
            return RedirectResponse(
                sign_in_url(exc.next_url), status_code=303, headers={"HX-Redirect": sign_in_url(exc.next_url)}
            )
        return RedirectResponse(sign_in_url(exc.next_url), status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _error_page(request: Request, exc: StarletteHTTPException):
        wants_html = "text/html" in request.headers.get("accept", "")
        if (
            wants_html
            and not request.url.path.startswith(MACHINE_PREFIXES)
            and request.url.path != "/catalog"
        ):
            context = {"status": exc.status_code, "message": exc.detail}
            return render(request, "error.html", context, status_code=exc.status_code)
        return await http_exception_handler(request, exc)
