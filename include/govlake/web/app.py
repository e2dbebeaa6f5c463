"""``govlake.web.app:app`` — the platform's web service (started by ``govlake stack up``).

Routers live in ``govlake.web.routers`` (catalog, dispatch, data, audit; the open-data CKAN API is
added the same way). Each router declares its authentication with the shared dependencies of
``govlake.web.auth``: HTTP Basic per department (its database role), ``data_office`` for the data office.
OpenAPI: ``/openapi.json``, interactive docs ``/docs``.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from govlake.web.api_docs import install_api_docs
from govlake.web.portal_routes import install_portal
from govlake.web.routers import (
    audit_api,
    catalog_api,
    ckan_api,
    data_api,
    dcat_api,
    dispatch_api,
    lineage_api,
)

DESCRIPTION = """
The catalog of government information resources (政务信息资源目录), data dispatch (数据调度: request →
owner decides within an SLA → escalation to the data office → grant → expiry/revocation), reads from
the sharing exchange, and the hash-chained audit trail.

**Authentication**: HTTP Basic. User = department code (e.g. `civil_affairs`), password = that
department's database role password (in `<GOVLAKE_HOME>/departments.env`). The data office signs in as
`data_office`. Data is read over the department's own database login, so PostgreSQL enforces exactly
what it may see — the same as a direct SQL connection.
"""

app = FastAPI(
    title="govlake",
    version="0.1.0",
    description=DESCRIPTION,
    docs_url=None,  # served from the vendored swagger-ui files (govlake.web.api_docs), no CDN
    redoc_url=None,
    openapi_tags=[
        {"name": "catalog", "description": "政务信息资源目录: search, entries, GB JSON, DCAT-AP 3 JSON-LD"},
        {"name": "dispatch", "description": "数据调度: requests, decisions, escalation, expiry"},
        {"name": "data", "description": "Reads from the sharing exchange as the calling department"},
        {"name": "audit", "description": "The append-only, hash-chained audit trail"},
        {"name": "open data", "description": "No login: CKAN Action API, downloads, apps, DCAT-AP 3 catalog"},
        {
            "name": "lineage",
            "description": "血缘与共享图谱: OpenLineage receiver, upstream/downstream, impact, sharing flows",
        },
    ],
)
for module in (catalog_api, dispatch_api, data_api, audit_api, ckan_api, dcat_api, lineage_api):
    app.include_router(module.router)
install_api_docs(app)
install_portal(app)


@app.get("/healthz", include_in_schema=False)
def healthz() -> JSONResponse:
    """Up, and the warehouse answers (the stack's health check)."""
    from govlake.warehouse import connect

    try:
        with connect(connect_timeout=3) as conn:
            conn.execute("select 1")
    except Exception as exc:  # report, don't crash: the stack shows the reason
        return JSONResponse({"ok": False, "warehouse": type(exc).__name__}, status_code=503)
    return JSONResponse({"ok": True})
