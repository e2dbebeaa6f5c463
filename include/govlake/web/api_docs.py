"""The interactive API docs (``/docs``) and the static files, served by the platform itself.

FastAPI's default Swagger UI page loads its script and stylesheet from a public CDN, which an offline
government network cannot reach (the page renders blank). Here the page loads the vendored
``swagger-ui-dist`` files from ``/static/vendor/swagger-ui/`` (see ``scripts/vendor_frontend.sh``), and
``/redoc`` is not offered (it would need another CDN script). Swagger UI's online validator badge is
turned off for the same reason.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, swagger_ui_default_parameters
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
STATIC_URL = "/static"
SWAGGER_UI = f"{STATIC_URL}/vendor/swagger-ui"


def mount_static(app: FastAPI) -> None:
    """Serve ``govlake/web/static`` (vendored front-end files, the portal's own CSS/JS) at ``/static``."""
    if not any(getattr(route, "path", None) == STATIC_URL for route in app.routes):
        app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="static")


def install_api_docs(app: FastAPI, docs_url: str = "/docs") -> None:
    """Add the offline Swagger UI page at ``docs_url`` (the app is built with ``docs_url=None``)."""
    mount_static(app)
    parameters = {**swagger_ui_default_parameters, "validatorUrl": None}

    @app.get(docs_url, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — API",
            swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_UI}/favicon-32x32.png",
            swagger_ui_parameters=parameters,
        )
