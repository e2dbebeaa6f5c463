"""The open-data catalog in DCAT-AP 3, no login: ``/catalog.jsonld``, ``/catalog.ttl`` and ``/catalog``
(content negotiation: ``Accept: text/turtle`` gives Turtle, anything else JSON-LD)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from govlake.opendata.dcat import open_catalog, to_turtle
from govlake.web.deps import Platform
from govlake.web.routers.ckan_api import _base_url, _groups

router = APIRouter(tags=["open data"])
TURTLE = "text/turtle; charset=utf-8"
JSONLD = "application/ld+json"


def _doc(request: Request, conn: Platform) -> dict:
    return open_catalog(conn, _base_url(request), _groups())


@router.get("/catalog.jsonld", summary="Open-data catalog, DCAT-AP 3 JSON-LD")
async def catalog_jsonld(request: Request, conn: Platform) -> JSONResponse:
    return JSONResponse(await run_in_threadpool(_doc, request, conn), media_type=JSONLD)


@router.get("/catalog.ttl", summary="Open-data catalog, DCAT-AP 3 Turtle")
async def catalog_turtle(request: Request, conn: Platform) -> Response:
    doc = await run_in_threadpool(_doc, request, conn)
    return Response(await run_in_threadpool(to_turtle, doc), media_type=TURTLE)


@router.get("/catalog", summary="Open-data catalog, JSON-LD or Turtle by Accept header")
async def catalog(request: Request, conn: Platform) -> Response:
    accept = request.headers.get("accept", "")
    if "text/turtle" in accept or "application/x-turtle" in accept:
        return await catalog_turtle(request, conn)
    return await catalog_jsonld(request, conn)
