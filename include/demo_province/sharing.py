"""The demo province's data sharing: a few requests between departments, approved and then read.

A fresh platform has published data but nobody has asked for any of it yet, so the 共享图谱 (sharing
graph), the 数据调度 lists and the cockpit's sharing figures would stay empty on the demo. This files the
kind of requests a provincial data office sees every week, through the platform's own dispatch
(``govlake.sharing.dispatch``: request → the owner approves → the consumer's database role gets the
columns), and has each consumer read what it was granted over its own role, logged in the access log as
the data API logs it. Nothing is written around the platform: the graph shows these because they
happened. Idempotent: a consumer that already holds an active grant on a resource is not asked again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg

from govlake.settings import Settings, get_settings
from govlake.sharing import dispatch
from govlake.sharing.access import read_rows, record_access
from govlake.warehouse.department_roles import role_name


@dataclass(frozen=True)
class DemoRequest:
    consumer: str
    resource: str
    items: tuple[str, ...]
    purpose: str
    legal_basis: str
    reads: int  # reads of READ_ROWS rows each, once approved


READ_ROWS = 200
REQUESTS: tuple[DemoRequest, ...] = (
    DemoRequest(
        "civil_affairs",
        "public_security__household_registration",
        ("resident_id", "name", "death_date"),
        "低保对象身份与死亡状态核对",
        "《社会救助暂行办法》第十一条",
        4,
    ),
    DemoRequest(
        "health",
        "population",
        ("resident_id", "name", "birth_date"),
        "出生医学证明签发时核对父母身份",
        "《中华人民共和国母婴保健法》第二十三条",
        2,
    ),
    DemoRequest(
        "human_resources",
        "population",
        ("resident_id", "name", "death_date"),
        "养老保险待遇领取资格认证",
        "《中华人民共和国社会保险法》第十六条",
        3,
    ),
    DemoRequest(
        "finance",
        "civil_affairs__subsistence_allowance",
        ("recipient_id", "recipient_name", "monthly_amount"),
        "惠民惠农补贴“一卡通”发放对象核对",
        "《关于进一步加强惠民惠农财政补贴资金“一卡通”管理的指导意见》",
        2,
    ),
    DemoRequest(
        "human_resources",
        "legal_entities",
        ("legal_rep_name", "legal_rep_id"),
        "参保单位登记信息核对",
        "《社会保险费征缴暂行条例》第七条",
        1,
    ),
)


def _holds_grant(conn: psycopg.Connection, request: DemoRequest) -> bool:
    row = conn.execute(
        "select 1 from platform.share_grants where grantee = %s and resource_key = %s "
        "and revoked_at is null and now() < valid_until limit 1",
        (role_name(request.consumer), request.resource),
    ).fetchone()
    return row is not None


def seed_sharing(
    conn: psycopg.Connection, day: dt.date, settings: Settings | None = None
) -> list[dispatch.Request]:
    """File, approve and read the demo's requests (those not granted already); the approved requests."""
    settings = settings or get_settings()
    approved = []
    for request in REQUESTS:
        if _holds_grant(conn, request):
            continue
        filed = dispatch.submit_request(
            conn,
            request.consumer,
            request.resource,
            list(request.items),
            request.purpose,
            request.legal_basis,
            day,
            day + dt.timedelta(days=365),
            settings=settings,
        )
        decided = dispatch.approve(
            conn, filed.request_id, filed.owner, "同意，限申请用途使用", settings=settings
        )
        for _ in range(request.reads):
            rows = read_rows(request.consumer, request.resource, list(request.items), {}, READ_ROWS, settings)
            record_access(
                conn,
                request.consumer,
                "api",
                request.resource,
                list(request.items),
                len(rows),
                {"limit": READ_ROWS, "by": "demo"},
            )
        approved.append(decided)
    return approved
