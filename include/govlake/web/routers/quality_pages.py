"""质量: the province scorecard and each department's (the stored HTML/PDF reports as pages), the
departments side by side (the arena), and a steward's own open quarantine with the 纠错清单."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from govlake.lake import s3_client
from govlake.scorecards.compute import DIMENSIONS_ZH, PROVINCE
from govlake.settings import get_settings
from govlake.web.department_session import department_of
from govlake.web.page_render import render
from govlake.web.portal_db import connect
from govlake.web.portal_session import SignedIn

router = APIRouter(include_in_schema=False)
MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _s3_bytes(uri: str) -> bytes:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    resp = s3_client(get_settings()).get_object(bucket, key)
    try:
        return resp.read()
    finally:
        resp.close()
        resp.release_conn()


def latest_period(conn, kind: str | None = None) -> tuple[str, str] | None:
    return conn.execute(
        "select period_kind, period from platform.scorecards where %(k)s::text is null or period_kind = %(k)s "
        "order by period_end desc, period_kind = 'week' desc limit 1",
        {"k": kind},
    ).fetchone()


def scoreboard(conn) -> dict[str, Any]:
    period = latest_period(conn)
    if period is None:
        return {"period": None, "cards": [], "dims": {}}
    cards = conn.execute(
        "select department, department_name, overall_score, rank, previous_score, quarantine_open, "
        "late_deliveries, rows_checked from platform.scorecards where period_kind = %s and period = %s "
        "order by department = %s desc, rank nulls last, department",
        (*period, PROVINCE),
    ).fetchall()
    dims: dict[str, dict[str, float | None]] = {}
    for dept, dim, score in conn.execute(
        "select department, dimension, score from platform.scorecard_dimensions "
        "where period_kind = %s and period = %s order by department, dimension",
        period,
    ).fetchall():
        dims.setdefault(dept, {})[dim] = score
    reports = {
        (r[0], r[1])
        for r in conn.execute(
            "select department, format from platform.scorecard_reports where period_kind = %s and period = %s",
            period,
        ).fetchall()
    }
    return {"period": period, "cards": cards, "dims": dims, "reports": reports}


@router.get("/quality")
def quality_home(request: Request):
    with connect(autocommit=True) as conn:
        board = scoreboard(conn)
    return render(request, "quality/index.html", {"b": board})


@router.get("/quality/arena")
def arena(request: Request, person: SignedIn):
    with connect(autocommit=True) as conn:
        board = scoreboard(conn)
    names = {c[0]: c[1] for c in board["cards"]}
    dimensions = sorted({d for scores in board["dims"].values() for d in scores})
    series = [
        {"name": names.get(dept, dept), "value": [scores.get(d) for d in dimensions]}
        for dept, scores in board["dims"].items()
        if dept != PROVINCE
    ]
    context = {
        "b": board,
        "dimensions": [(d, DIMENSIONS_ZH.get(d, d)) for d in dimensions],
        "series": series,
        "ranking": [(c[1], c[2]) for c in board["cards"] if c[0] != PROVINCE and c[2] is not None],
    }
    return render(request, "quality/arena.html", context)


@router.get("/quality/scorecards/{department}.{fmt}")
def scorecard_report(department: str, fmt: str, period: str | None = None):
    if fmt not in MEDIA:
        raise HTTPException(404, "没有这种格式")
    with connect(autocommit=True) as conn:
        latest = latest_period(conn)
        row = conn.execute(
            "select uri from platform.scorecard_reports where department = %s and format = %s "
            "and period = coalesce(%s, %s) order by period_kind = 'week' desc limit 1",
            (department, fmt, period, latest[1] if latest else None),
        ).fetchone()
    if row is None:
        raise HTTPException(404, "没有这个评分卡")
    body = _s3_bytes(row[0])
    if fmt == "html":
        return HTMLResponse(body.decode("utf-8"), headers={"Content-Security-Policy": "script-src 'none'"})
    return Response(
        body, media_type=MEDIA[fmt], headers={"Content-Disposition": f'inline; filename="{department}.pdf"'}
    )


@router.get("/quality/scorecard/{department}")
def scorecard_page(request: Request, department: str):
    with connect(autocommit=True) as conn:
        board = scoreboard(conn)
    card = next((c for c in board["cards"] if c[0] == department), None)
    if card is None:
        raise HTTPException(404, "没有这个部门的评分卡")
    return render(request, "quality/scorecard.html", {"b": board, "card": card})


def open_quarantine(conn, department: str) -> list[tuple]:
    return conn.execute(
        "select dataset, rule, dimension, count(*), min(logical_date), max(logical_date) from platform.quarantine "
        "where department = %s and resolved_at is null group by dataset, rule, dimension "
        "order by dataset, count(*) desc",
        (department,),
    ).fetchall()


@router.get("/quality/quarantine")
def my_quarantine(request: Request, person: SignedIn, department: str | None = None):
    target = department if (department and person.is_data_office) else department_of(person)
    with connect(autocommit=True) as conn:
        rows = open_quarantine(conn, target)
        lists = conn.execute(
            "select logical_date, rows, xlsx_uri is not null, csv_uri is not null, generated_at "
            "from platform.correction_lists where department = %s order by logical_date desc limit 10",
            (target,),
        ).fetchall()
    return render(request, "quality/quarantine.html", {"department": target, "rows": rows, "lists": lists})


@router.get("/quality/corrections/{department}/{day}.{fmt}")
def correction_list(department: str, day: dt.date, fmt: str, person: SignedIn):
    if not person.is_data_office and department != department_of(person):
        raise HTTPException(404, "没有这个纠错清单")
    if fmt not in ("xlsx", "csv"):
        raise HTTPException(404, "没有这种格式")
    with connect(autocommit=True) as conn:
        row = conn.execute(
            f"select {fmt}_uri from platform.correction_lists where department = %s and logical_date = %s",
            (department, day),
        ).fetchone()
    if row is None or row[0] is None:
        raise HTTPException(404, "没有这个纠错清单")
    name = f"纠错清单_{department}_{day:%Y%m%d}.{fmt}"
    from urllib.parse import quote

    return Response(
        _s3_bytes(row[0]),
        media_type=XLSX if fmt == "xlsx" else "text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )
