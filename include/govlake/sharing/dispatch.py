"""数据调度: a consumer department requests items of a resource; the owner answers within an SLA.

States::

    pending ──approve──▶ approved ──(period over)──▶ expired
       │  └──reject───▶ rejected         └──revoke──▶ revoked
       └─(SLA passed)─▶ escalated ──approve/reject (owner or data office)──▶ …

The owner of a department dataset is its department; libraries belong to the data office, which may
also decide any escalated request. Approval provisions a grant (``platform.share_grants``) and the
column privileges of ``exchange.<resource>`` in the same transaction; every state change appends a
hash-chained audit record in that transaction too.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from govlake.catalog.model import CONDITIONAL, NOT_SHARED, UNCONDITIONAL, CatalogEntry
from govlake.catalog.store import get_entry
from govlake.settings import Settings, get_settings
from govlake.sharing import audit
from govlake.sharing.zone import sync_privileges
from govlake.warehouse.department_roles import DATA_OFFICE, ensure_department_role, role_name

log = logging.getLogger(__name__)

DEFAULT_SLA_HOURS = 120  # five days for the owner to answer before the data office steps in
TIMEZONE = "Asia/Shanghai"  # periods are calendar days in China
OPEN_STATES = ("pending", "escalated")


class DispatchError(ValueError):
    """A request cannot be filed or changed as asked; the message says why and what to do instead."""


@dataclass(frozen=True)
class Request:
    request_id: int
    consumer: str
    resource_key: str
    resource_code: str
    owner: str
    items: list[str]
    purpose: str
    legal_basis: str
    period_start: dt.date
    period_end: dt.date
    state: str
    requested_at: dt.datetime
    due_at: dt.datetime
    escalated_at: dt.datetime | None
    decided_at: dt.datetime | None
    decided_by: str | None
    reason: str | None
    subscription: dict | None

    def sla_remaining(self, now: dt.datetime | None = None) -> dt.timedelta | None:
        """Time left for the owner to answer (negative when overdue); None once decided."""
        if self.state not in OPEN_STATES:
            return None
        return self.due_at - (now or dt.datetime.now(dt.UTC))

    def as_dict(self) -> dict[str, Any]:
        doc = dict(self.__dict__)
        remaining = self.sla_remaining()
        doc["sla_remaining_hours"] = None if remaining is None else round(remaining.total_seconds() / 3600, 2)
        return doc


def _row_to_request(row: dict) -> Request:
    return Request(**{k: row[k] for k in Request.__dataclass_fields__})


def get_request(conn: psycopg.Connection, request_id: int) -> Request:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "select * from platform.share_requests where request_id = %s", (request_id,)
        ).fetchone()
    if row is None:
        raise DispatchError(f"no request #{request_id}; list them with `govlake request list`")
    return _row_to_request(row)


def list_requests(
    conn: psycopg.Connection, consumer: str | None = None, owner: str | None = None, state: str | None = None
) -> list[Request]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            """
            select * from platform.share_requests
            where (%(c)s::text is null or consumer = %(c)s) and (%(o)s::text is null or owner = %(o)s)
              and (%(s)s::text is null or state = %(s)s)
            order by request_id
            """,
            {"c": consumer, "o": owner, "s": state},
        ).fetchall()
    return [_row_to_request(r) for r in rows]


def _check_items(entry: CatalogEntry, items: Sequence[str]) -> list[str]:
    if not items:
        raise DispatchError(
            f"name the items of {entry.entry_key} you need (its 有条件共享 items: "
            f"{', '.join(entry.items_of(CONDITIONAL)) or 'none'})"
        )
    known = {i.name: i for i in entry.items}
    unknown = [i for i in items if i not in known]
    if unknown:
        raise DispatchError(
            f"{entry.entry_key} has no item(s) {', '.join(unknown)}; its items: {', '.join(known)}"
        )
    never = [i for i in items if known[i].sharing_type == NOT_SHARED]
    if never:
        raise DispatchError(
            f"{entry.entry_key}: item(s) {', '.join(never)} are 不予共享 and are never shared"
        )
    free = [i for i in items if known[i].sharing_type == UNCONDITIONAL]
    if free:
        raise DispatchError(
            f"{entry.entry_key}: item(s) {', '.join(free)} are 无条件共享 and readable without a request; "
            "request only 有条件共享 items"
        )
    return sorted(set(items), key=list(known).index)


def submit_request(
    conn: psycopg.Connection,
    consumer: str,
    resource: str,
    items: Sequence[str],
    purpose: str,
    legal_basis: str,
    period_start: dt.date,
    period_end: dt.date,
    *,
    sla_hours: float = DEFAULT_SLA_HOURS,
    subscription: dict | None = None,
    settings: Settings | None = None,
) -> Request:
    """File a request (state pending, due within ``sla_hours``)."""
    role_name(consumer)  # validates the department code
    entry = get_entry(conn, resource)
    if entry.department == consumer:
        raise DispatchError(f"{consumer} owns {entry.entry_key}; it does not need to request it")
    if not purpose.strip() or not legal_basis.strip():
        raise DispatchError("a request needs a purpose (用途) and a legal basis (依据)")
    if period_end < period_start:
        raise DispatchError(f"the period ends ({period_end}) before it starts ({period_start})")
    chosen = _check_items(entry, items)
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            """
            insert into platform.share_requests (consumer, resource_key, resource_code, owner, items, purpose,
                legal_basis, period_start, period_end, state, due_at, subscription)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'pending', now() + make_interval(secs => %s), %s)
            returning *
            """,
            (
                consumer,
                entry.entry_key,
                entry.resource_code,
                entry.department,
                chosen,
                purpose,
                legal_basis,
                period_start,
                period_end,
                sla_hours * 3600,
                Jsonb(subscription) if subscription else None,
            ),
        ).fetchone()
        request = _row_to_request(row)
        audit.append(conn, consumer, "request.submitted", f"request:{request.request_id}", _summary(request))
    audit.write_anchor(conn, settings)
    return request


def _summary(r: Request) -> dict[str, Any]:
    return {
        "request_id": r.request_id,
        "consumer": r.consumer,
        "resource": r.resource_key,
        "resource_code": r.resource_code,
        "items": r.items,
        "period": [str(r.period_start), str(r.period_end)],
        "state": r.state,
        "due_at": r.due_at.isoformat(),
    }


def _may_decide(request: Request, actor: str) -> None:
    if actor == request.owner:
        return
    if actor == DATA_OFFICE:
        return
    raise DispatchError(
        f"{actor} may not decide request #{request.request_id}: its owner {request.owner} decides "
        "(or the data office, e.g. once it is escalated)"
    )


def _set_state(
    conn: psycopg.Connection, request_id: int, state: str, actor: str, reason: str | None
) -> Request:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "update platform.share_requests set state = %s, decided_at = now(), decided_by = %s, "
            "reason = coalesce(%s, reason) where request_id = %s returning *",
            (state, actor, reason, request_id),
        ).fetchone()
    return _row_to_request(row)


# The work a transition does once the state is set (grants, column privileges), returning the audit
# records (action, detail) that describe it. It runs in the transition's transaction: raising undoes it.
Effect = Callable[[Request], list[tuple[str, dict[str, Any]]]]


def _transition(
    conn: psycopg.Connection,
    request_id: int,
    actor: str,
    to_state: str,
    from_states: Sequence[str],
    effect: Effect,
    *,
    reason: str | None = None,
    settings: Settings | None = None,
    by_system: bool = False,
) -> Request:
    """Every decision on a request goes through here, in one transaction: lock the row, check who may
    decide (unless the system's own clock decides) and from which state, set the new state, run the
    effect and append its audit records; then copy the audit head out (:func:`audit.write_anchor`)."""
    with conn.transaction():
        conn.execute("select 1 from platform.share_requests where request_id = %s for update", (request_id,))
        request = get_request(conn, request_id)
        if not by_system:
            _may_decide(request, actor)
        if request.state not in from_states:
            raise DispatchError(
                f"request #{request_id} is {request.state}; only {' or '.join(from_states)} requests "
                f"can become {to_state}"
            )
        request = _set_state(conn, request_id, to_state, actor, reason)
        for action, detail in effect(request):
            audit.append(conn, actor, action, f"request:{request_id}", detail)
    audit.write_anchor(conn, settings)
    return request


def _columns_now(conn: psycopg.Connection, request: Request) -> list[str]:
    """Re-derive the consumer's column privileges from its active grants; the columns it keeps."""
    role = role_name(request.consumer)
    return sync_privileges(conn, request.resource_key, [role]).get(role, [])


def approve(
    conn: psycopg.Connection,
    request_id: int,
    actor: str,
    reason: str | None = None,
    settings: Settings | None = None,
) -> Request:
    """Approve: record the grant and give the consumer's role the approved columns, in one transaction."""
    settings = settings or get_settings()

    def provision(request: Request) -> list[tuple[str, dict[str, Any]]]:
        if request.period_end < dt.datetime.now(dt.UTC).date():
            raise DispatchError(
                f"request #{request_id}'s period ended on {request.period_end}; ask for a new period"
            )
        ensure_department_role(conn, request.consumer, settings)
        grant_id = conn.execute(
            """
            insert into platform.share_grants (request_id, grantee, consumer, resource_key, items, valid_from, valid_until)
            values (%(r)s, %(g)s, %(c)s, %(k)s, %(i)s,
                    (%(s)s::date)::timestamp at time zone %(tz)s, (%(e)s::date + 1)::timestamp at time zone %(tz)s)
            returning grant_id
            """,
            {
                "r": request_id,
                "g": role_name(request.consumer),
                "c": request.consumer,
                "k": request.resource_key,
                "i": request.items,
                "s": request.period_start,
                "e": request.period_end,
                "tz": TIMEZONE,
            },
        ).fetchone()[0]
        provisioned = {
            "grant_id": grant_id,
            "role": role_name(request.consumer),
            "resource": request.resource_key,
            "items": request.items,
            "columns_now": _columns_now(conn, request),
        }
        return [
            ("request.approved", {**_summary(request), "reason": reason}),
            ("grant.provisioned", provisioned),
        ]

    request = _transition(
        conn, request_id, actor, "approved", OPEN_STATES, provision, reason=reason, settings=settings
    )
    if request.subscription:
        from govlake.sharing.subscriptions import write_request_subscription

        write_request_subscription(request, settings)
    return request


def reject(
    conn: psycopg.Connection, request_id: int, actor: str, reason: str, settings: Settings | None = None
) -> Request:
    """Reject with a reason (mandatory: the consumer must learn why)."""
    if not (reason or "").strip():
        raise DispatchError(f"rejecting request #{request_id} needs a reason")
    return _transition(
        conn,
        request_id,
        actor,
        "rejected",
        OPEN_STATES,
        lambda r: [("request.rejected", {**_summary(r), "reason": reason})],
        reason=reason,
        settings=settings,
    )


def escalate_overdue(
    conn: psycopg.Connection,
    now: dt.datetime | None = None,
    actor: str = "system",
    settings: Settings | None = None,
) -> list[Request]:
    """Pending requests past their SLA go to the data office (state escalated)."""
    now = now or dt.datetime.now(dt.UTC)
    escalated = []
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "update platform.share_requests set state = 'escalated', escalated_at = %s "
            "where state = 'pending' and due_at <= %s returning *",
            (now, now),
        ).fetchall()
        for row in sorted(rows, key=lambda r: r["request_id"]):
            request = _row_to_request(row)
            overdue = (now - request.due_at).total_seconds() / 3600
            audit.append(
                conn,
                actor,
                "request.escalated",
                f"request:{request.request_id}",
                {**_summary(request), "escalated_to": DATA_OFFICE, "overdue_hours": round(overdue, 2)},
            )
            escalated.append(request)
    if escalated:
        audit.write_anchor(conn, settings)
        log.warning(
            "escalated %d overdue request(s) to the data office: %s",
            len(escalated),
            ", ".join(f"#{r.request_id}" for r in escalated),
        )
    return escalated


def revoke(
    conn: psycopg.Connection, request_id: int, actor: str, reason: str, settings: Settings | None = None
) -> Request:
    """Withdraw an approved request's grant now; the role loses the columns in the same transaction."""
    if not (reason or "").strip():
        raise DispatchError(f"revoking request #{request_id} needs a reason")

    def withdraw(request: Request) -> list[tuple[str, dict[str, Any]]]:
        conn.execute(
            "update platform.share_grants set revoked_at = now(), revoke_reason = %s "
            "where request_id = %s and revoked_at is null",
            (reason, request_id),
        )
        detail = {**_summary(request), "reason": reason, "columns_now": _columns_now(conn, request)}
        return [("grant.revoked", detail)]

    return _transition(
        conn, request_id, actor, "revoked", ("approved",), withdraw, reason=reason, settings=settings
    )


def expire_grants(
    conn: psycopg.Connection,
    now: dt.datetime | None = None,
    actor: str = "system",
    settings: Settings | None = None,
) -> list[Request]:
    """Approved requests whose period is over become expired and their column privileges are revoked.

    The views already hide the values once the period ends (they check the time); this sweep also takes
    the privileges back, so reading the columns then fails outright. Each expiry is its own transaction.
    """
    now = now or dt.datetime.now(dt.UTC)
    ids = [
        r[0]
        for r in conn.execute(
            "select distinct g.request_id from platform.share_grants g join platform.share_requests r using (request_id) "
            "where r.state = 'approved' and g.revoked_at is null and g.valid_until <= %s order by 1",
            (now,),
        ).fetchall()
    ]
    expired = []
    for request_id in ids:
        try:
            expired.append(
                _transition(
                    conn,
                    request_id,
                    actor,
                    "expired",
                    ("approved",),
                    lambda r: [("grant.expired", {**_summary(r), "columns_now": _columns_now(conn, r)})],
                    settings=settings,
                    by_system=True,
                )
            )
        except DispatchError as exc:  # revoked by its owner since the query: nothing left to expire
            log.info("not expired: %s", exc)
    return expired


def visible_items(conn: psycopg.Connection, consumer: str, entry: CatalogEntry) -> list[str]:
    """The items a department may read now: 无条件共享 ones and those of its active grants."""
    granted = {
        i
        for (i,) in conn.execute(
            "select distinct unnest(items) from platform.share_grants where grantee = %s and resource_key = %s "
            "and revoked_at is null and now() >= valid_from and now() < valid_until",
            (role_name(consumer), entry.entry_key),
        ).fetchall()
    }
    return [
        i.name
        for i in entry.items
        if i.sharing_type == UNCONDITIONAL or (i.sharing_type == CONDITIONAL and i.name in granted)
    ]
