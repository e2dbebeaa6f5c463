"""The dispatch audit trail over HTTP: records (own requests for a department) and chain verification."""

from __future__ import annotations

from fastapi import APIRouter

from govlake.sharing import audit
from govlake.sharing.dispatch import list_requests
from govlake.web.auth import CurrentPrincipal, DataOffice
from govlake.web.deps import Platform

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", summary="Audit records (the data office sees all; a department those of its requests)")
def records(who: CurrentPrincipal, conn: Platform, subject: str | None = None):
    rows = [r.as_dict() for r in audit.records(conn, subject)]
    if who.is_data_office:
        return rows
    mine = {f"request:{r.request_id}" for r in list_requests(conn) if who.department in (r.consumer, r.owner)}
    return [r for r in rows if r["subject"] in mine]


@router.get("/verify", summary="Recompute the hash chain and compare the head with its S3 anchor")
def verify(_: DataOffice, conn: Platform):
    result = audit.verify(conn)
    return {
        "ok": result.ok,
        "records": result.records,
        "head": result.head,
        "anchor": result.anchor,
        "problems": result.problems,
    }
