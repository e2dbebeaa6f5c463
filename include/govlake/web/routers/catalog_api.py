"""政务信息资源目录 over HTTP: search, one entry, GB-style JSON and DCAT-AP 3 JSON-LD."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse

from govlake.catalog.export import dcat_catalog, gb_catalog, gb_document
from govlake.catalog.model import CatalogError
from govlake.catalog.store import get_entry, list_entries
from govlake.settings import get_settings
from govlake.web.auth import CurrentPrincipal
from govlake.web.deps import Platform

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"])


def _summary(entry) -> dict[str, Any]:
    return {
        "resource_code": entry.resource_code,
        "entry_key": entry.entry_key,
        "name": entry.name,
        "provider": entry.provider,
        "sharing_type": entry.sharing_type,
        "open_type": entry.open_type,
        "update_cycle": entry.update_cycle,
        "relation": entry.relation,
    }


@router.get("", summary="Search the catalog (substring in any field or item; Chinese works, e.g. 人口)")
def search(
    _: CurrentPrincipal,
    conn: Platform,
    q: str | None = None,
    kind: str | None = Query(None, pattern="^(dataset|library)$"),
):
    return [_summary(e) for e in list_entries(conn, q, kind)]


@router.get("/export/gb", summary="The whole catalog with the field names of the national guide")
def export_gb(_: CurrentPrincipal, conn: Platform):
    return gb_catalog(list_entries(conn))


@router.get("/export/dcat", summary="The whole catalog as DCAT-AP 3 JSON-LD", response_class=JSONResponse)
def export_dcat(_: CurrentPrincipal, conn: Platform):
    doc = dcat_catalog(list_entries(conn), f"{get_settings().web_url}/api/v1")
    return JSONResponse(doc, media_type="application/ld+json")


@router.get("/entries/{code:path}", summary="One entry by resource code (e.g. 101001001/000001) or key")
def entry(code: str, _: CurrentPrincipal, conn: Platform):
    try:
        found = get_entry(conn, code)
    except CatalogError as exc:
        raise HTTPException(404, str(exc)) from exc
    return {**gb_document(found), "entry": found.as_dict()}
