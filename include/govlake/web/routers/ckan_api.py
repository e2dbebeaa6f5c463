"""Open data over HTTP, no login: the CKAN Action API, downloads of every release file, registered apps.

``/api/3/action/<action>`` (and ``/api/action/<action>``, the path ckanapi calls) answers GET with query
parameters and POST with a JSON body, in CKAN's envelope ``{"help", "success", "result"}``; errors are
``{"__type", "message"}`` objects with CKAN's status codes (404 not found, 409 validation/search query,
400 bad request). Every call that concerns a dataset or organization, and every download, is counted in
``platform.open_usage``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from govlake.opendata.ckan_actions import ACTIONS, Ckan, CkanError
from govlake.opendata.usage import AppRejected, client_hash, list_apps, record_usage, register_app
from govlake.web.deps import Platform

router = APIRouter(tags=["open data"])


@lru_cache(maxsize=1)
def _groups() -> dict[str, dict]:
    from govlake.opendata.definitions import load_open_registry

    return load_open_registry().groups


@lru_cache(maxsize=1)
def _organizations() -> dict[str, str]:
    from govlake.registry import load_departments

    return {d.code: d.name for d in load_departments(errors=[])}


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _client(request: Request) -> str:
    return client_hash(request.client.host if request.client else None)


async def _params(request: Request) -> dict[str, Any]:
    """Query parameters, then a JSON (or form) body on top, as CKAN merges them."""
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        body = await request.body()
        if body.strip():
            if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                params.update(dict(await request.form()))
            else:
                try:
                    doc = json.loads(body)
                except ValueError as exc:
                    raise CkanError(
                        400, "Bad request - JSON Error", f"Could not read request body: {exc}"
                    ) from exc
                if not isinstance(doc, dict):
                    raise CkanError(400, "Bad request - JSON Error", "Request body must be a JSON object")
                params.update(doc)
    return params


def _envelope(request: Request, action: str, **body: Any) -> dict[str, Any]:
    return {"help": f"{_base_url(request)}/api/3/action/help_show?name={action}", **body}


def _run(action: str, params: dict[str, Any], request: Request, conn: Platform) -> JSONResponse:
    """The action itself (blocking database work, so it runs in the thread pool)."""
    ckan = Ckan(conn, _base_url(request), _groups(), _organizations())
    try:
        result = getattr(ckan, action)(params)
    except CkanError as exc:
        return JSONResponse(
            _envelope(request, action, success=False, error=exc.as_error()), status_code=exc.status
        )
    if ckan.touched or action == "package_search":
        record_usage(conn, "api", action, client=_client(request), **ckan.touched)
    return JSONResponse(_envelope(request, action, success=True, result=result))


async def _action(action: str, request: Request, conn: Platform) -> JSONResponse:
    if action not in ACTIONS:
        error = {
            "__type": "Bad request - Action Error",
            "message": f"Bad request - Action name not known: {action}",
        }
        return JSONResponse(_envelope(request, action, success=False, error=error), status_code=400)
    try:
        params = await _params(request)
    except CkanError as exc:
        return JSONResponse(
            _envelope(request, action, success=False, error=exc.as_error()), status_code=exc.status
        )
    return await run_in_threadpool(_run, action, params, request, conn)


@router.api_route("/api/3/action/{action}", methods=["GET", "POST"], summary="CKAN Action API (no login)")
async def action_v3(action: str, request: Request, conn: Platform) -> JSONResponse:
    return await _action(action, request, conn)


@router.api_route("/api/action/{action}", methods=["GET", "POST"], include_in_schema=False)
async def action_unversioned(action: str, request: Request, conn: Platform) -> JSONResponse:
    return await _action(action, request, conn)


@router.get("/download/{dataset}/{version}/{file}", summary="Download a file of any published release")
def download(dataset: str, version: str, file: str, request: Request, conn: Platform):
    """Streams from S3; ``version`` may be ``latest``. Only files of published releases are served."""
    from govlake.lake import s3_client
    from govlake.opendata.release import OPEN_BUCKET

    if version == "latest":
        row = conn.execute(
            "select version from platform.open_releases where dataset = %s and status = 'published' "
            "order by logical_date desc, revision desc limit 1",
            (dataset,),
        ).fetchone()
        version = row[0] if row else version
    row = conn.execute(
        "select id, s3_key, media_type, sha256, bytes from platform.open_resources "
        "where dataset = %s and version = %s and file = %s",
        (dataset, version, file),
    ).fetchone()
    if row is None:
        return JSONResponse(
            {"error": f"no published file {dataset}/{version}/{file}; see package_show for the versions"},
            status_code=404,
        )
    rid, key, media_type, sha, size = row
    obj = s3_client().get_object(OPEN_BUCKET, key)
    record_usage(
        conn, "download", file, dataset=dataset, version=version, resource_id=rid, client=_client(request)
    )

    def chunks():
        try:
            yield from obj.stream(256 * 1024)
        finally:
            obj.close()
            obj.release_conn()

    charset = "; charset=utf-8" if media_type.startswith(("text/", "application/json")) else ""
    headers = {
        "Content-Disposition": f'attachment; filename="{dataset}-{version}-{file}"',
        "ETag": f'"{sha}"',
        "Content-Length": str(size),
    }
    return StreamingResponse(chunks(), media_type=media_type + charset, headers=headers)


@router.post(
    "/api/apps", status_code=201, summary="Register an app built on open data (no login; rate-limited)"
)
async def post_app(request: Request, conn: Platform):
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return JSONResponse({"success": False, "errors": {"body": ["not JSON"]}}, status_code=400)
    return await run_in_threadpool(_register, body, request, conn)


def _register(body: Any, request: Request, conn: Platform) -> JSONResponse:
    try:
        app = register_app(conn, body, _client(request))
    except AppRejected as exc:
        headers = {"Retry-After": "3600"} if exc.status == 429 else None
        return JSONResponse({"success": False, "errors": exc.errors}, status_code=exc.status, headers=headers)
    return JSONResponse({"success": True, "result": app.as_dict()}, status_code=201)


@router.get("/api/apps", summary="Apps built on open data, with the datasets they use")
def get_apps(request: Request, conn: Platform, dataset: str | None = None):
    titles = dict(conn.execute("select name, title_zh from platform.open_datasets").fetchall())
    base = _base_url(request)
    return {
        "success": True,
        "result": [
            {
                **a.as_dict(),
                "datasets": [
                    {"name": d, "title": titles.get(d), "url": f"{base}/api/3/action/package_show?id={d}"}
                    for d in a.datasets
                ],
            }
            for a in list_apps(conn, dataset)
        ],
    }
