"""血缘 and 共享图谱 pages: the resource page's lineage tab (an htmx partial), a node's lineage page and
the province's sharing graph. The pages' data comes from the same functions as the CLI and the JSON API
(govlake.lineage.queries, sharing_flows), served here under the portal's session."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from govlake.lineage import queries
from govlake.lineage.graph import LineageGraph, load_graph
from govlake.lineage.sharing_flows import sharing_flows
from govlake.registry import load_departments
from govlake.warehouse import connect
from govlake.web.page_render import render, templates
from govlake.web.portal_session import MaybePerson, SignedIn

router = APIRouter(include_in_schema=False)


def _graph() -> LineageGraph:
    with connect(autocommit=True) as conn:
        return load_graph(conn)


def resource_node(graph: LineageGraph, key: str) -> str:
    """The node a catalog resource's lineage centres on: its library, its registry dataset, else any node."""
    if "/" in key:  # a resource code
        with connect(autocommit=True) as conn:
            row = conn.execute(
                "select entry_key from platform.catalog_entries where resource_code = %s", (key,)
            ).fetchone()
        key = row[0] if row else key
    for candidate in (f"base.{key}", f"themes.{key}", f"dataset:{key}"):
        if candidate in graph.g:
            return candidate
    return graph.resolve(key)


def _or_404(fn, *args, **kwargs) -> Any:
    try:
        return fn(*args, **kwargs)
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0]) if exc.args else "not found") from exc


@router.get("/lineage/resource/{key:path}/graph")
def resource_graph(request: Request, key: str, person: MaybePerson):
    """The 血缘 tab's content (htmx partial): a layered graph one hop up and down from the resource."""
    try:
        node = resource_node(_graph(), key)
    except KeyError:  # an htmx tab swaps 200s only: say so instead of leaving the placeholder
        return HTMLResponse('<p class="muted">血缘中还没有这个资源：下一次构建收集血缘后出现。</p>')
    return templates.TemplateResponse(request, "lineage/graph_partial.html", {"node": node, "person": person})


@router.get("/lineage/node/{node:path}")
def node_page(request: Request, node: str, person: MaybePerson):
    graph = _graph()
    resolved = _or_404(graph.resolve, node)
    return render(request, "lineage/node.html", {"node": resolved, "info": graph.describe(resolved)})


@router.get("/lineage/data/graph/{node:path}")
def graph_data(
    node: str, person: MaybePerson, up: int = Query(1, ge=0, le=10), down: int = Query(1, ge=0, le=10)
) -> dict[str, Any]:
    graph = _graph()
    data = _or_404(queries.neighbourhood, graph, node, up, down)
    keep = {n["id"] for n in data["nodes"] if n.get("type") != "column"}
    data["nodes"] = [n for n in data["nodes"] if n["id"] in keep]
    data["edges"] = [e for e in data["edges"] if e["source"] in keep and e["target"] in keep]
    return data


@router.get("/lineage/data/columns/{node:path}")
def columns_data(node: str, person: MaybePerson) -> list[str]:
    return _or_404(queries.relation_columns, _graph(), node)


@router.get("/lineage/data/column-path/{column:path}")
def column_path_data(column: str, person: MaybePerson) -> dict[str, Any]:
    graph = _graph()
    data = _or_404(queries.column_path, graph, column)
    columns = [n["id"] for n in data["nodes"] if n.get("type") == "column"]
    relations = sorted(
        {graph.columns[c] for c in columns if c in graph.columns}
        | {n["id"] for n in data["nodes"] if n.get("type") != "column"}
    )
    return {
        "focus": data["focus"],
        "columns": sorted(columns),
        "relations": relations,
        "edges": [e for e in data["edges"] if e.get("level") == "column"],
    }


@router.get("/lineage/data/search")
def search_nodes(
    person: MaybePerson, q: str = Query(..., min_length=1, max_length=200)
) -> list[dict[str, str]]:
    graph = _graph()
    q_low = q.lower()
    hits = [
        {"id": n, "label": str(d.get("label", n))}
        for n, d in graph.g.nodes(data=True)
        if d.get("type") != "column" and (q_low in n.lower() or q in str(d.get("label", "")))
    ]
    return sorted(hits, key=lambda h: (len(h["id"]), h["id"]))[:20]


@router.get("/lineage")
def sharing_page(
    request: Request,
    person: SignedIn,
    department: str | None = None,
    sensitivity: str | None = None,
    sharing_type: str | None = None,
):
    """共享图谱: per department what it provides to whom and uses of others; the province-wide picture."""
    flows = sharing_flows(
        _graph(),
        department=department or None,
        sensitivity=sensitivity or None,
        sharing_type=sharing_type or None,
    )
    return render(
        request,
        "lineage/sharing.html",
        {
            "flows": flows,
            "departments": [(d.code, d.name) for d in load_departments()],
            "selected": {
                "department": department or "",
                "sensitivity": sensitivity or "",
                "sharing_type": sharing_type or "",
            },
        },
    )
