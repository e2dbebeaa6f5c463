"""开放平台: the open-data platform's pages, for anyone (no sign-in).

- ``/open``: dataset search with facets by providing department and by prefecture (市州);
- ``/open/dataset/<name>`` (the IRI the DCAT-AP catalog gives each dataset) and
  ``/open/dataset/<name>/<version>``: versions, downloads (CSV/Parquet/JSON), data dictionary, preview
  (optionally of one prefecture), the CKAN API calls, the apps built on it, download and API counts;
- ``/open/stats``: open statistics per department and per prefecture (ECharts), usage per day;
- ``/open/apps``: the app showcase with the datasets each app uses;
- ``/open/resource/<id>``: a file's IRI in the DCAT-AP catalog, redirected to its download.
Data comes from the open-data tables (govlake.opendata.open_portal); every string is escaped by the
templates (autoescape), and each page states when the data it shows was published.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse

from govlake.opendata.open_portal import (
    FACET_DEPARTMENT,
    FACET_PREFECTURE,
    OpenDatasetNotFound,
    app_showcase,
    dataset_detail,
    open_statistics,
    search_datasets,
)
from govlake.warehouse import connect
from govlake.web.page_render import render

router = APIRouter(include_in_schema=False)
MAX_QUERY_CHARS = 200
MAX_FACET_VALUES, MAX_VALUE_CHARS = 20, 64
FACET_LABELS = {FACET_DEPARTMENT: "提供部门", FACET_PREFECTURE: "市州"}
SUBNAV = (("/open", "数据集"), ("/open/stats", "开放统计"), ("/open/apps", "应用展示"))


def _values(request: Request, key: str) -> list[str]:
    values = [v.strip()[:MAX_VALUE_CHARS] for v in request.query_params.getlist(key)]
    return list(dict.fromkeys(v for v in values if v))[:MAX_FACET_VALUES]


def _search_url(q: str, chosen: dict[str, list[str]], page: int = 1) -> str:
    params: list[tuple[str, str]] = [("q", q)] if q else []
    for key in (FACET_DEPARTMENT, FACET_PREFECTURE):
        params += [(key, v) for v in chosen.get(key, [])]
    if page > 1:
        params.append(("page", str(page)))
    return "/open" + (f"?{urlencode(params)}" if params else "")


def _toggle(q: str, chosen: dict[str, list[str]], key: str, value: str) -> str:
    current = chosen.get(key, [])
    current = [v for v in current if v != value] if value in current else [*current, value]
    return _search_url(q, {**chosen, key: current})


def dataset_path(name: str, version: str | None = None) -> str:
    path = f"/open/dataset/{quote(name, safe='')}"
    return f"{path}/{quote(version, safe='')}" if version else path


def download_path(name: str, version: str, file: str) -> str:
    return f"/download/{quote(name, safe='')}/{quote(version, safe='')}/{quote(file, safe='')}"


def _common(request: Request) -> dict[str, Any]:
    return {
        "subnav": SUBNAV,
        "base_url": str(request.base_url).rstrip("/"),
        "dataset_path": dataset_path,
        "download_path": download_path,
    }


def _page_number(raw: str) -> int:
    """Any ``page`` parameter gives a page: not a number or out of range means the nearest valid one."""
    try:
        return min(max(int(raw), 1), 10_000)
    except ValueError:
        return 1


@router.get("/open")
def open_search(request: Request, q: str = "", page: str = "1"):
    q = q.strip()[:MAX_QUERY_CHARS]
    page = _page_number(page[:8])
    chosen = {key: _values(request, key) for key in (FACET_DEPARTMENT, FACET_PREFECTURE)}
    with connect(autocommit=True) as conn:
        found = search_datasets(conn, q, chosen[FACET_DEPARTMENT], chosen[FACET_PREFECTURE], page)
        stats = open_statistics(conn, days=1)
    facets = [
        (
            key,
            FACET_LABELS[key],
            [
                (label, n, value in chosen[key], _toggle(q, chosen, key, value))
                for value, label, n in found.facets[key]
            ],
        )
        for key in (FACET_DEPARTMENT, FACET_PREFECTURE)
    ]
    return render(
        request,
        "opendata/search.html",
        {
            **_common(request),
            "q": q,
            "found": found,
            "facets": facets,
            "chosen": chosen,
            "any_chosen": any(chosen.values()),
            "clear_url": _search_url(q, {}),
            "prev_url": _search_url(q, chosen, page - 1) if page > 1 else None,
            "next_url": _search_url(q, chosen, page + 1) if page < found.pages else None,
            "stats": stats,
        },
    )


def _dataset_page(request: Request, name: str, version: str | None, prefecture: str):
    prefecture = prefecture.strip()[:MAX_VALUE_CHARS]
    try:
        with connect(autocommit=True) as conn:
            detail = dataset_detail(conn, name, version, prefecture or None)
    except OpenDatasetNotFound:
        raise HTTPException(status_code=404, detail="没有这个开放数据集或版本") from None
    return render(
        request,
        "opendata/dataset.html",
        {
            **_common(request),
            "d": detail,
            "card": detail.card,
            "release": detail.release,
            "labels": {e.column: e.label_zh for e in detail.dictionary},
        },
    )


@router.get("/open/dataset/{name}")
def open_dataset(request: Request, name: str, prefecture: str = ""):
    return _dataset_page(request, name, None, prefecture)


@router.get("/open/dataset/{name}/{version}")
def open_dataset_version(request: Request, name: str, version: str, prefecture: str = ""):
    return _dataset_page(request, name, version, prefecture)


@router.get("/open/resource/{resource_id}")
def open_resource(resource_id: str):
    with connect(autocommit=True) as conn:
        row = conn.execute(
            "select dataset, version, file from platform.open_resources where id = %s", (resource_id,)
        ).fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="没有这个文件")
    return RedirectResponse(download_path(*row), status_code=307)


@router.get("/open/stats")
def open_stats(request: Request):
    with connect(autocommit=True) as conn:
        stats = open_statistics(conn)
    chart = {
        "departments": [[d.title, d.datasets, d.rows, d.downloads, d.api_calls] for d in stats.departments],
        "prefectures": [[p.name, p.datasets, p.rows] for p in stats.prefectures],
        "daily": [[day.isoformat(), downloads, api] for day, downloads, api in stats.daily],
    }
    return render(request, "opendata/stats.html", {**_common(request), "stats": stats, "chart": chart})


@router.get("/open/apps")
def open_apps(request: Request):
    with connect(autocommit=True) as conn:
        apps = app_showcase(conn)
        stats = open_statistics(conn, days=1)
    return render(request, "opendata/apps.html", {**_common(request), "apps": apps, "stats": stats})
