"""数据调度 over HTTP: file, list, approve, reject, revoke requests; escalate and expire (data office)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from govlake.catalog.model import CatalogError
from govlake.settings import get_settings
from govlake.sharing import dispatch
from govlake.warehouse.department_roles import DATA_OFFICE
from govlake.web.auth import CurrentPrincipal, DataOffice, Principal
from govlake.web.deps import Platform

router = APIRouter(prefix="/api/v1", tags=["dispatch"])


class NewRequest(BaseModel):
    resource: str = Field(description="entry key or resource code of the catalog entry")
    items: list[str] = Field(description="有条件共享 items wanted")
    purpose: str
    legal_basis: str
    period_start: dt.date
    period_end: dt.date
    subscription: dict | None = Field(None, description="optional export: {format, schedule, filter}")


class Decision(BaseModel):
    reason: str | None = None


def _fail(exc: Exception) -> HTTPException:
    return HTTPException(400 if isinstance(exc, dispatch.DispatchError | CatalogError) else 500, str(exc))


def _visible(request: dispatch.Request, who: Principal) -> bool:
    return who.is_data_office or who.department in (request.consumer, request.owner)


@router.post("/requests", status_code=201, summary="File a request as the calling department")
def submit(body: NewRequest, who: CurrentPrincipal, conn: Platform):
    if who.is_data_office:
        raise HTTPException(400, "the data office decides requests; departments file them")
    try:
        request = dispatch.submit_request(
            conn,
            who.department,
            body.resource,
            body.items,
            body.purpose,
            body.legal_basis,
            body.period_start,
            body.period_end,
            subscription=body.subscription,
        )
    except (dispatch.DispatchError, CatalogError) as exc:
        raise _fail(exc) from exc
    return request.as_dict()


@router.get("/requests", summary="Requests the caller filed or must decide (all, for the data office)")
def list_(who: CurrentPrincipal, conn: Platform, state: str | None = None):
    return [r.as_dict() for r in dispatch.list_requests(conn, state=state) if _visible(r, who)]


@router.get("/requests/{request_id}", summary="One request with its state and SLA clock")
def get(request_id: int, who: CurrentPrincipal, conn: Platform):
    try:
        request = dispatch.get_request(conn, request_id)
    except dispatch.DispatchError as exc:
        raise HTTPException(404, str(exc)) from exc
    if not _visible(request, who):
        raise HTTPException(404, f"no request #{request_id} for {who.department}")
    return request.as_dict()


def _decide(action, request_id: int, who: Principal, conn, reason: str | None):
    try:
        return action(conn, request_id, who.department, reason, settings=get_settings()).as_dict()
    except dispatch.DispatchError as exc:
        raise HTTPException(403 if "may not decide" in str(exc) else 409, str(exc)) from exc


@router.post("/requests/{request_id}/approve", summary="Approve (owner, or the data office)")
def approve(request_id: int, body: Decision, who: CurrentPrincipal, conn: Platform):
    return _decide(dispatch.approve, request_id, who, conn, body.reason)


@router.post("/requests/{request_id}/reject", summary="Reject with a reason (owner, or the data office)")
def reject(request_id: int, body: Decision, who: CurrentPrincipal, conn: Platform):
    return _decide(dispatch.reject, request_id, who, conn, body.reason or "")


@router.post("/requests/{request_id}/revoke", summary="Revoke an approved request's grant now")
def revoke(request_id: int, body: Decision, who: CurrentPrincipal, conn: Platform):
    return _decide(dispatch.revoke, request_id, who, conn, body.reason or "")


@router.post("/dispatch/escalate", summary="Escalate overdue requests to the data office")
def escalate(_: DataOffice, conn: Platform):
    return [r.as_dict() for r in dispatch.escalate_overdue(conn, actor=DATA_OFFICE)]


@router.post("/dispatch/expire", summary="Expire grants whose period is over")
def expire(_: DataOffice, conn: Platform):
    return [r.as_dict() for r in dispatch.expire_grants(conn, actor=DATA_OFFICE)]
