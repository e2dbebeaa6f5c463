"""领导驾驶舱: the province map, KPI tiles, rankings, the Bijie crop answer and 吼一声 — leaders and the
data office only. Every query reads the small ``cockpit`` tables the publish step builds
(govlake.cockpit.aggregates); no page view touches a library.

Routes: ``/cockpit`` (the portal page), ``/cockpit/screen`` (1920×1080 big screen, dark, refreshes itself),
``/cockpit/ask?q=`` (吼一声), ``/cockpit/sources/{key}`` (where a figure came from: htmx partial),
``/cockpit/data/overview`` (JSON for the map, tiles and rankings; aggregates only).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from psycopg.rows import dict_row

from govlake.cockpit import vocabulary
from govlake.cockpit.aggregates import INDICATORS, MAP_INDICATORS
from govlake.cockpit.answers import Answer, bijie_crop_rows, crop_evidence, sources, transport_rows
from govlake.cockpit.question_kinds import KINDS, ask
from govlake.cockpit.suppression import display
from govlake.web.page_render import render, templates
from govlake.web.portal_db import connect
from govlake.web.portal_session import signed_in

router = APIRouter(include_in_schema=False)
COCKPIT_ROLES = ("leader", "data_office")
REFRESH_SECONDS = 300
TILES = (
    "resident_population",
    "registered_population",
    "market_births",
    "market_closures",
    "insurance_coverage",
    "subsidy_findings",
    "subsidy_amount",
    "open_datasets",
    "shared_reads",
    "quality_score",
)


def cockpit_viewer(request: Request):
    """Signed in (else to the sign-in page) as a leader (领导) or data-office staff (大数据局); else 403."""
    person = signed_in(request)
    if person.role not in COCKPIT_ROLES and not person.is_data_office:
        raise HTTPException(403, "领导驾驶舱仅向领导和大数据局开放")
    return person


Viewer = Annotated[Any, Depends(cockpit_viewer)]


def _conn():
    with connect(autocommit=True) as conn:
        yield conn


Conn = Annotated[psycopg.Connection, Depends(_conn)]


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _rows(conn: psycopg.Connection, query: str, params: Any = None) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


def _build(conn: psycopg.Connection) -> dict | None:
    if conn.execute("select to_regclass('cockpit.builds')").fetchone()[0] is None:
        return None
    rows = _rows(conn, "select * from cockpit.builds order by logical_date desc limit 1")
    return rows[0] if rows else None


def _digits(indicator: str) -> int:
    return 2 if indicator in ("insurance_coverage", "resident_population", "subsidy_amount") else 0


def overview(conn: psycopg.Connection, region: str = vocabulary.PROVINCE_CODE) -> dict:
    """Map values (prefectures and Bijie's counties), the region's tiles and the rankings."""
    build = _build(conn)
    if build is None:
        return {"built_for_date": None, "map": {}, "tiles": [], "prefectures": [], "departments": []}
    values = _rows(
        conn,
        """
        select region_code, region_name, level, parent_code, indicator, value, previous_value, suppressed, k,
               period, note
        from cockpit.region_indicators
        where indicator = any(%s) and (level in ('province', 'prefecture') or parent_code = %s)
        """,
        (list(MAP_INDICATORS), vocabulary.BIJIE_CODE),
    )
    map_values: dict[str, dict[str, list]] = {}
    for r in values:
        if r["level"] == "province":
            continue
        layer = "bijie" if r["level"] == "county" else "guizhou"
        map_values.setdefault(r["indicator"], {}).setdefault(layer, []).append(
            {
                "name": r["region_name"],
                "code": r["region_code"],
                "value": None if r["suppressed"] else _jsonable(r["value"]),
                "label": display(
                    r["value"], suppressed=r["suppressed"], k=r["k"], digits=_digits(r["indicator"])
                ),
            }
        )
    tiles = []
    for r in _rows(
        conn,
        "select * from cockpit.region_indicators where region_code = %s and indicator = any(%s)",
        (region, list(TILES)),
    ):
        label, unit, source_key, _ = INDICATORS[r["indicator"]]
        change = None
        if r["previous_value"] is not None and r["value"] is not None and not r["suppressed"]:
            change = float(r["value"]) - float(r["previous_value"])
        tiles.append(
            {
                "indicator": r["indicator"],
                "label": label,
                "unit": unit,
                "value": display(
                    r["value"], suppressed=r["suppressed"], k=r["k"], digits=_digits(r["indicator"])
                ),
                "change": None if change is None else round(change, 2),
                "period": r["period"],
                "note": r["note"],
                "source": source_key,
            }
        )
    tiles.sort(key=lambda t: TILES.index(t["indicator"]))
    trend = _rows(
        conn,
        "select year, value from cockpit.region_series where region_code = %s and indicator = '常住人口'"
        " order by year desc limit 10",
        (region,),
    )
    departments = _rows(
        conn,
        "select department, department_name, quality_score, quality_rank, max_days_behind, overdue_datasets,"
        " open_datasets, reads_of_its_data, grants_given from cockpit.department_stats"
        " order by quality_score desc nulls last, department",
    )
    prefectures = [
        {**r, "display": display(r["value"], digits=2)}
        for r in _rows(
            conn,
            "select region_code, region_name, value from cockpit.region_indicators"
            " where level = 'prefecture' and indicator = 'resident_population' order by value desc nulls last",
        )
    ]
    return _jsonable(
        {
            "built_for_date": build["logical_date"],
            "published_at": build["published_at"],
            "region": region,
            "region_name": vocabulary.region_name(region),
            "map": map_values,
            "indicators": {k: INDICATORS[k][0] for k in MAP_INDICATORS},
            "tiles": tiles,
            "trend": list(reversed(trend)),
            "prefectures": prefectures,
            "departments": departments,
        }
    )


def bijie_answer(conn: psycopg.Connection, county: str | None) -> dict:
    rows = bijie_crop_rows(conn, county) if _build(conn) else []
    if not rows:
        return {"rows": [], "counties": [], "evidence": [], "unknowns": [], "transport": []}
    evidence, unknowns = crop_evidence(rows, conn)
    counties = sorted({(r["county_code"], r["county_name"]) for r in bijie_crop_rows(conn)})
    transport = transport_rows(conn, vocabulary.BIJIE_CODE)
    latest = max((t["year"] for t in transport), default=None)
    return {
        "rows": rows,
        "county": county,
        "counties": counties,
        "evidence": evidence,
        "unknowns": unknowns,
        "transport": [t for t in transport if t["year"] == latest],
        "transport_year": latest,
        "method": next((r["forecast_method"] for r in rows if r["forecast_method"]), None),
        "sources": sources(conn, "bijie_crops_vs_corn", "transport"),
    }


@router.get("/cockpit")
def cockpit_page(
    request: Request,
    person: Viewer,
    conn: Conn,
    county: Annotated[str | None, Query(max_length=12)] = None,
    region: Annotated[str, Query(max_length=12)] = vocabulary.PROVINCE_CODE,
):
    if region not in vocabulary.divisions():
        region = vocabulary.PROVINCE_CODE
    if county and vocabulary.divisions().get(county, None) is None:
        county = None
    data = overview(conn, region)
    return render(
        request,
        "cockpit/index.html",
        {"data": data, "bijie": bijie_answer(conn, county), "kinds": KINDS, "refresh": None},
    )


@router.get("/cockpit/screen")
def cockpit_screen(request: Request, person: Viewer, conn: Conn):
    data = overview(conn)
    return render(
        request,
        "cockpit/screen.html",
        {"data": data, "bijie": bijie_answer(conn, None), "refresh": REFRESH_SECONDS},
    )


@router.get("/cockpit/data/overview")
def cockpit_overview(person: Viewer, conn: Conn, region: Annotated[str, Query(max_length=12)] = "520000"):
    if region not in vocabulary.divisions():
        raise HTTPException(404, "unknown region")
    return JSONResponse(overview(conn, region))


@router.get("/cockpit/ask")
def cockpit_ask(request: Request, person: Viewer, conn: Conn, q: str = ""):
    question = q[:10_000]
    parsed, answer = ask(conn, question) if question.strip() else (None, None)
    context = {
        "question": question,
        "parsed": parsed,
        "answer": answer,
        "kinds": KINDS,
        "region_name": vocabulary.region_name(parsed.region) if parsed and parsed.region else None,
    }
    if request.headers.get("hx-request"):
        return templates.TemplateResponse(request, "cockpit/_answer.html", context)
    return render(request, "cockpit/ask.html", context)


@router.get("/cockpit/sources/{key}")
def cockpit_sources(request: Request, person: Viewer, conn: Conn, key: str):
    """Where a figure came from: the library, its catalog entry, departments, batches and dates."""
    if key not in {
        *(INDICATORS[i][2] for i in INDICATORS),
        "bijie_crops_vs_corn",
        "crop_performance",
        "transport",
    }:
        raise HTTPException(404, "unknown source")
    found = sources(conn, key) if _build(conn) else []
    indicator = request.query_params.get("indicator")
    label = INDICATORS[indicator][0] if indicator in INDICATORS else None
    region = request.query_params.get("region")
    region = region if region in vocabulary.divisions() else None
    return templates.TemplateResponse(
        request,
        "cockpit/_sources.html",
        {
            "sources": found,
            "label": label,
            "person": person,
            "region": region,
            "region_name": vocabulary.region_name(region) if region else None,
        },
    )


def answer_json(answer: Answer) -> dict:
    return _jsonable(answer.as_dict())
