"""Lineage JSON API, and the OpenLineage receiver (``POST /api/v1/lineage``, the HTTP transport's path).

Emitters (Airflow's OpenLineage provider, ``govlake lineage collect``) send one RunEvent per request with
``Authorization: Bearer <token>`` (``govlake lineage token``); the same emitters can point at Marquez
instead. Queries need a department login (HTTP Basic), like the rest of the JSON API.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Query

from govlake.lineage import queries
from govlake.lineage.event_store import InvalidEvent, ingest_token, store_event
from govlake.lineage.graph import load_graph
from govlake.lineage.sharing_flows import sharing_flows
from govlake.settings import get_settings
from govlake.web.auth import Principal, current_principal
from govlake.web.deps import Platform
from govlake.web.routers import lineage_pages

router = APIRouter(tags=["lineage"])
router.include_router(lineage_pages.router)  # the pages ride along: app.py registers one lineage router
Caller = Annotated[Principal, Depends(current_principal)]


def _bearer_ok(authorization: str | None) -> bool:
    expected = f"Bearer {ingest_token(get_settings())}"
    return bool(authorization) and hmac.compare_digest(authorization.encode(), expected.encode())


@router.post("/api/v1/lineage", status_code=201, summary="Receive one OpenLineage RunEvent")
def receive_event(
    conn: Platform,
    event: Annotated[dict[str, Any], Body(description="An OpenLineage RunEvent (spec 2-0-2)")],
    authorization: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Store the event and the dataset and column edges it states. Sending the same event again changes
    nothing (``stored: false``); a re-run is a new runId and adds a run, never an edge twice."""
    if not _bearer_ok(authorization):
        raise HTTPException(401, "send Authorization: Bearer <token> (`govlake lineage token`)")
    try:
        stored = store_event(conn, event)
    except InvalidEvent as exc:
        raise HTTPException(422, str(exc)) from exc
    return {"stored": stored, "runId": event["run"]["runId"]}


def _lookup(fn, *args):
    try:
        return fn(*args)
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0]) if exc.args else "not found") from exc


@router.get(
    "/api/v1/lineage/upstream/{node:path}", summary="Everything a relation, column or node comes from"
)
def upstream(
    node: str, conn: Platform, _caller: Caller, depth: Annotated[int | None, Query(ge=1, le=50)] = None
) -> dict[str, Any]:
    return _lookup(queries.trace, load_graph(conn), node, queries.UP, depth)


@router.get("/api/v1/lineage/downstream/{node:path}", summary="Everything made from or fed by a node")
def downstream(
    node: str, conn: Platform, _caller: Caller, depth: Annotated[int | None, Query(ge=1, le=50)] = None
) -> dict[str, Any]:
    return _lookup(queries.trace, load_graph(conn), node, queries.DOWN, depth)


@router.get("/api/v1/lineage/impact/{node:path}", summary="If this is late or wrong today, what is affected")
def impact(node: str, conn: Platform, _caller: Caller) -> dict[str, Any]:
    """Libraries, exchange views, exports, open releases, apps, consumer departments and cockpit numbers."""
    return _lookup(queries.impact, load_graph(conn), node)


@router.get("/api/v1/lineage/graph/{node:path}", summary="A node's neighbourhood as nodes and edges")
def neighbourhood(
    node: str,
    conn: Platform,
    _caller: Caller,
    up: Annotated[int, Query(ge=0, le=10)] = 1,
    down: Annotated[int, Query(ge=0, le=10)] = 1,
) -> dict[str, Any]:
    return _lookup(queries.neighbourhood, load_graph(conn), node, up, down)


@router.get("/api/v1/lineage/column-path/{column:path}", summary="One column's whole path, up and down")
def column_path(column: str, conn: Platform, _caller: Caller) -> dict[str, Any]:
    return _lookup(queries.column_path, load_graph(conn), column)


@router.get("/api/v1/lineage/columns/{relation:path}", summary="The columns of a relation known to lineage")
def columns(relation: str, conn: Platform, _caller: Caller) -> list[str]:
    return _lookup(queries.relation_columns, load_graph(conn), relation)


@router.get("/api/v1/sharing-graph", summary="共享图谱: who provides what to whom, last 30 days")
def sharing_graph(
    conn: Platform,
    _caller: Caller,
    department: str | None = None,
    sensitivity: str | None = None,
    sharing_type: str | None = None,
) -> dict[str, Any]:
    """Flows provider → consumer weighted by rows read or exported in the last 30 days, plus grants and
    open downloads; filter by a department (its 'I provide' and 'I use'), sensitivity, sharing type."""
    return sharing_flows(
        load_graph(conn), department=department, sensitivity=sensitivity, sharing_type=sharing_type
    )
