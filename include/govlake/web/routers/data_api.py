"""Reading the sharing exchange over HTTP, as the calling department's own database role."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from govlake.catalog.model import CatalogError
from govlake.catalog.store import get_entry
from govlake.sharing.access import AccessDenied, read_rows, record_access
from govlake.sharing.dispatch import visible_items
from govlake.web.auth import CurrentPrincipal
from govlake.web.deps import Platform

router = APIRouter(prefix="/api/v1/data", tags=["data"])


@router.get("/{resource}", summary="Rows of a resource: only items the caller may read, masked")
def read(
    resource: str,
    who: CurrentPrincipal,
    conn: Platform,
    items: str | None = Query(None, description="comma-separated items (default: all the caller may read)"),
    filter: Annotated[list[str] | None, Query(description="item:value, repeatable")] = None,  # noqa: A002
    limit: int = Query(100, ge=1, le=10_000),
):
    try:
        entry = get_entry(conn, resource)
    except CatalogError as exc:
        raise HTTPException(404, str(exc)) from exc
    wanted = [i for i in (items.split(",") if items else visible_items(conn, who.department, entry)) if i]
    filters: dict[str, list[str]] = {}
    for spec in filter or []:
        column, sep, value = spec.partition(":")
        if not sep:
            raise HTTPException(400, f"filter {spec!r} must look like item:value")
        filters.setdefault(column, []).append(value)
    try:
        rows = read_rows(who.department, entry.entry_key, wanted, filters, limit, password=who.password)
    except AccessDenied as exc:
        raise HTTPException(403, str(exc)) from exc
    record_access(
        conn, who.department, "api", entry.entry_key, wanted, len(rows), {"filters": filters, "limit": limit}
    )
    return {"resource": entry.entry_key, "resource_code": entry.resource_code, "items": wanted, "rows": rows}
