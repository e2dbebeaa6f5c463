"""数据调度 pages: file a request, my requests, to decide (SLA clock), approve/reject with a reason,
the data office's escalations, grants with revoke. The same govlake.sharing.dispatch functions as the
CLI and the JSON API; the person is named in the audit trail (govlake.sharing.person_audit)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse

from govlake.accounts.people import Person
from govlake.catalog.model import CONDITIONAL, CatalogError
from govlake.catalog.store import get_entry
from govlake.settings import get_settings
from govlake.sharing import dispatch
from govlake.sharing.person_audit import acting
from govlake.web.department_session import department_of
from govlake.web.page_render import render
from govlake.web.portal_db import connect
from govlake.web.portal_session import CsrfChecked, SignedIn

router = APIRouter(include_in_schema=False)
DECIDERS = ("approver", "steward", "data_office")
STATE_LABELS = {
    "pending": ("待审批", "warn"),
    "escalated": ("已升级至大数据局", "bad"),
    "approved": ("已批准", "ok"),
    "rejected": ("已驳回", ""),
    "revoked": ("已撤销", ""),
    "expired": ("已到期", ""),
}


def _may_see(request: dispatch.Request, person: Person) -> bool:
    return person.is_data_office or department_of(person) in (request.consumer, request.owner)


def _may_decide(request: dispatch.Request, person: Person) -> bool:
    if person.is_data_office:
        return True
    return person.role in DECIDERS and department_of(person) == request.owner


def _sla(request: dispatch.Request) -> tuple[str, str] | None:
    left = request.sla_remaining()
    if left is None:
        return None
    hours = left.total_seconds() / 3600
    if hours < 0:
        return f"已超时 {-hours:.0f} 小时", "bad"
    return f"剩余 {hours:.0f} 小时", ("warn" if hours < 24 else "ok")


@router.get("/dispatch")
def overview(request: Request, person: SignedIn, done: str | None = None):
    me = department_of(person)
    with connect(autocommit=True) as conn:
        everything = dispatch.list_requests(conn)
    mine = [r for r in everything if r.consumer == me]
    to_decide = [r for r in everything if r.state in dispatch.OPEN_STATES and r.owner == me]
    escalated = [r for r in everything if r.state == "escalated"] if person.is_data_office else []
    if person.is_data_office:
        to_decide = [r for r in everything if r.state in dispatch.OPEN_STATES and r.owner == "data_office"]
    grants = [
        r
        for r in everything
        if r.state == "approved" and (person.is_data_office or me in (r.owner, r.consumer))
    ]
    context = {
        "mine": mine,
        "to_decide": to_decide,
        "escalated": escalated,
        "grants": grants,
        "states": STATE_LABELS,
        "sla": _sla,
        "may_decide": lambda r: _may_decide(r, person),
        "done": done,
    }
    return render(request, "dispatch/overview.html", context)


@router.get("/dispatch/new")
def new_request(request: Request, person: SignedIn, resource: str = "", items: str = ""):
    entry = None
    if resource:
        try:
            with connect(autocommit=True) as conn:
                entry = get_entry(conn, resource[:200])
        except CatalogError as exc:
            raise HTTPException(404, "目录中没有这个资源") from exc
    today = dt.date.today()
    context = {
        "entry": entry,
        "conditional": [i for i in entry.items if i.sharing_type == CONDITIONAL] if entry else [],
        "chosen": set(items.split(",")) if items else set(),
        "start": today,
        "end": today + dt.timedelta(days=90),
        "error": None,
        "form": {},
    }
    return render(request, "dispatch/new.html", context)


@router.post("/dispatch/requests", dependencies=[CsrfChecked])
def submit(
    request: Request,
    person: SignedIn,
    resource: Annotated[str, Form(max_length=200)],
    purpose: Annotated[str, Form(max_length=2000)] = "",
    legal_basis: Annotated[str, Form(max_length=2000)] = "",
    period_start: Annotated[dt.date | None, Form()] = None,
    period_end: Annotated[dt.date | None, Form()] = None,
    items: Annotated[list[str] | None, Form()] = None,
):
    me = department_of(person)
    chosen = [i[:100] for i in (items or [])][:200]
    with connect(autocommit=True) as conn:
        try:
            entry = get_entry(conn, resource)
        except CatalogError as exc:
            raise HTTPException(404, "目录中没有这个资源") from exc
        try:
            if person.is_data_office:
                raise dispatch.DispatchError("大数据局负责审批，申请由部门提出")
            created = acting(
                conn,
                person.username,
                person.role,
                me,
                "request.submitted",
                lambda: dispatch.submit_request(
                    conn,
                    me,
                    entry.entry_key,
                    chosen,
                    purpose,
                    legal_basis,
                    period_start or dt.date.today(),
                    period_end or dt.date.today(),
                    settings=get_settings(),
                ),
                lambda r: f"request:{r.request_id}",
            )
        except (dispatch.DispatchError, CatalogError) as exc:
            context = {
                "entry": entry,
                "conditional": [i for i in entry.items if i.sharing_type == CONDITIONAL],
                "chosen": set(chosen),
                "start": period_start or dt.date.today(),
                "end": period_end or dt.date.today(),
                "error": str(exc),
                "form": {"purpose": purpose, "legal_basis": legal_basis},
            }
            return render(request, "dispatch/new.html", context, status_code=400)
    return RedirectResponse(f"/dispatch/requests/{created.request_id}?done=submitted", status_code=303)


def _visible_request(conn, request_id: int, person: Person) -> dispatch.Request:
    try:
        found = dispatch.get_request(conn, request_id)
    except dispatch.DispatchError as exc:
        raise HTTPException(404, "没有这个申请") from exc
    if not _may_see(found, person):
        raise HTTPException(404, "没有这个申请")  # another department's request does not exist for you
    return found


@router.get("/dispatch/requests/{request_id}")
def show(request: Request, request_id: int, person: SignedIn, done: str | None = None):
    with connect(autocommit=True) as conn:
        found = _visible_request(conn, request_id, person)
        entry = get_entry(conn, found.resource_key)
    context = {
        "r": found,
        "entry": entry,
        "states": STATE_LABELS,
        "sla": _sla(found),
        "may_decide": _may_decide(found, person) and found.state in dispatch.OPEN_STATES,
        "may_revoke": _may_decide(found, person) and found.state == "approved",
        "done": done,
        "error": None,
    }
    return render(request, "dispatch/request.html", context)


ACTIONS = {
    "approve": (dispatch.approve, "request.approved"),
    "reject": (dispatch.reject, "request.rejected"),
    "revoke": (dispatch.revoke, "grant.revoked"),
}


@router.post("/dispatch/requests/{request_id}/{action}", dependencies=[CsrfChecked])
def decide(
    request: Request,
    request_id: int,
    action: str,
    person: SignedIn,
    reason: Annotated[str, Form(max_length=2000)] = "",
):
    if action not in ACTIONS:
        raise HTTPException(404, "没有这个操作")
    step, label = ACTIONS[action]
    with connect(autocommit=True) as conn:
        found = _visible_request(conn, request_id, person)
        if not _may_decide(found, person):
            raise HTTPException(403, "只有资源提供部门的审批人或大数据局可以处理此申请")
        actor = "data_office" if person.is_data_office else department_of(person)
        try:
            acting(
                conn,
                person.username,
                person.role,
                actor,
                label,
                lambda: (
                    step(conn, request_id, actor, reason.strip() or None, settings=get_settings())
                    if action == "approve"
                    else step(conn, request_id, actor, reason, settings=get_settings())
                ),
                lambda r: f"request:{r.request_id}",
            )
        except dispatch.DispatchError as exc:
            entry = get_entry(conn, found.resource_key)
            context = {
                "r": found,
                "entry": entry,
                "states": STATE_LABELS,
                "sla": _sla(found),
                "may_decide": found.state in dispatch.OPEN_STATES,
                "may_revoke": found.state == "approved",
                "done": None,
                "error": str(exc),
            }
            return render(request, "dispatch/request.html", context, status_code=409)
    return RedirectResponse(f"/dispatch/requests/{request_id}?done={action}", status_code=303)


@router.post("/dispatch/sweep", dependencies=[CsrfChecked])
def sweep(person: SignedIn):
    """The data office's clock: overdue requests escalate, grants whose period ended expire."""
    if not person.is_data_office:
        raise HTTPException(403, "只有大数据局可以执行")
    with connect(autocommit=True) as conn:
        escalated = dispatch.escalate_overdue(
            conn, actor=f"data_office/{person.username}", settings=get_settings()
        )
        expired = dispatch.expire_grants(
            conn, actor=f"data_office/{person.username}", settings=get_settings()
        )
    message = f"升级 {len(escalated)} 个超时申请，收回 {len(expired)} 个到期授权"
    return RedirectResponse(f"/dispatch?done={quote(message)}", status_code=303)
