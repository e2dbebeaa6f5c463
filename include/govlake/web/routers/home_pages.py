"""首页: the platform at a glance (departments, resources, sharing and open counts, the latest daily
cycle per department, the province quality score, requests waiting)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request

from govlake.registry import load_departments
from govlake.web.page_render import render
from govlake.web.portal_db import connect

router = APIRouter(include_in_schema=False)
# A department's daily delivery counts as late when its batch landed after this hour (Beijing time)
# of the day after the logical date.
LATE_AFTER_HOUR = 6
CST = dt.timezone(dt.timedelta(hours=8))


def cycle_status(conn, departments) -> tuple[dt.date | None, list[dict[str, Any]]]:
    """The latest cycle date and, per department: 按时 (on time), 延迟 (late or missing), 暂缓 (held)."""
    latest = conn.execute("select max(logical_date) from platform.batches").fetchone()[0]
    if latest is None:
        return None, []
    batches = conn.execute(
        "select department, dataset, status, finished_at from platform.batches where logical_date = %s",
        (latest,),
    ).fetchall()
    held = dict(
        conn.execute(
            "select department, sum(rows_held) from platform.reconciliation where logical_date = %s "
            "group by department",
            (latest,),
        ).fetchall()
    )
    cutoff = dt.datetime.combine(latest + dt.timedelta(days=1), dt.time(LATE_AFTER_HOUR), CST)
    rows = []
    for d in departments:
        daily = [ds.code for ds in d.datasets if ds.is_daily]
        mine = {b[1]: b for b in batches if b[0] == d.code}
        missing = [ds for ds in daily if ds not in mine or mine[ds][2] != "loaded"]
        late = [b[1] for b in mine.values() if b[3] and b[3] > cutoff]
        if held.get(d.code):
            state, css = "暂缓", "warn"
        elif missing or late:
            state, css = "延迟", "bad"
        else:
            state, css = "按时", "ok"
        rows.append(
            {
                "code": d.code,
                "name": d.name,
                "state": state,
                "css": css,
                "missing": missing,
                "late": late,
                "batches": len(mine),
                "held": held.get(d.code) or 0,
            }
        )
    return latest, rows


def at_a_glance(conn) -> dict[str, Any]:
    departments = load_departments()
    counts = conn.execute(
        """
        select count(*), count(*) filter (where sharing_type <> '不予共享'),
               count(*) filter (where kind = 'library')
        from platform.catalog_entries
        """
    ).fetchone()
    open_count = conn.execute(
        "select count(distinct dataset) from platform.open_releases where status = 'published'"
    ).fetchone()[0]
    waiting = conn.execute(
        "select count(*) filter (where state = 'pending'), count(*) filter (where state = 'escalated') "
        "from platform.share_requests"
    ).fetchone()
    score = conn.execute(
        "select period, overall_score, computed_at from platform.scorecards where department = '_province' "
        "order by period_end desc, period_kind limit 1"
    ).fetchone()
    cycle_date, cycle = cycle_status(conn, departments)
    return {
        "departments": len(departments),
        "resources": counts[0],
        "shared": counts[1],
        "libraries": counts[2],
        "open": open_count,
        "pending": waiting[0],
        "escalated": waiting[1],
        "score": score,
        "cycle_date": cycle_date,
        "cycle": cycle,
    }


@router.get("/")
def home(request: Request):
    with connect(autocommit=True) as conn:
        glance = at_a_glance(conn)
    return render(request, "home/index.html", {"g": glance})
