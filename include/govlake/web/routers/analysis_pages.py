"""分析: the base and theme libraries as the dbt manifest describes them (description, columns, tests,
contract, exposures), and how an analyst connects with psql or a BI tool."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request

from govlake.settings import get_settings
from govlake.warehouse.analyst_roles import ANALYST_SCHEMAS, ANALYSTS_GROUP
from govlake.web.page_render import render
from govlake.web.resource_tabs import manifest

router = APIRouter(include_in_schema=False)
LIBRARY_FOLDERS = ("base", "themes")


def libraries(doc: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for uid, node in doc.get("nodes", {}).items():
        fqn = node.get("fqn") or []
        if node.get("resource_type") == "model" and len(fqn) > 1 and fqn[1] in LIBRARY_FOLDERS:
            found.append(
                {
                    "uid": uid,
                    "name": node["name"],
                    "folder": "/".join(fqn[1:-1]),
                    "description": node.get("description") or "",
                    "columns": len(node.get("columns") or {}),
                    "contract": bool((node.get("contract") or {}).get("enforced")),
                    "materialized": (node.get("config") or {}).get("materialized"),
                }
            )
    return sorted(found, key=lambda m: (m["folder"], m["name"]))


def library(doc: dict[str, Any], name: str) -> dict[str, Any] | None:
    model = next((m for m in libraries(doc) if m["name"] == name), None)
    if model is None:
        return None
    node = doc["nodes"][model["uid"]]
    tests = []
    for child in doc.get("child_map", {}).get(model["uid"], []):
        test = doc["nodes"].get(child) or {}
        if test.get("resource_type") == "test":
            meta = test.get("test_metadata") or {}
            tests.append(
                {
                    "name": meta.get("name") or test.get("name"),
                    "column": test.get("column_name"),
                    "id": test.get("name"),
                }
            )
    exposures = [
        {
            "name": e.get("name"),
            "label": e.get("label"),
            "type": e.get("type"),
            "owner": (e.get("owner") or {}).get("name"),
            "description": e.get("description"),
        }
        for e in doc.get("exposures", {}).values()
        if model["uid"] in (e.get("depends_on") or {}).get("nodes", [])
    ]
    columns = [
        {
            "name": c.get("name"),
            "type": c.get("data_type"),
            "description": c.get("description"),
            "constraints": [k.get("type") for k in c.get("constraints") or []],
        }
        for c in (node.get("columns") or {}).values()
    ]
    parents = [p.split(".")[-1] for p in doc.get("parent_map", {}).get(model["uid"], [])]
    return {
        **model,
        "columns_list": columns,
        "tests": tests,
        "exposures": exposures,
        "parents": parents,
        "relation": f"base.{name}",
    }


def _connect_info() -> dict[str, Any]:
    s = get_settings()
    return {
        "host": s.pg_host,
        "port": s.pg_port,
        "db": s.warehouse_db,
        "group": ANALYSTS_GROUP,
        "schemas": ANALYST_SCHEMAS,
    }


@router.get("/analysis")
def analysis_home(request: Request):
    doc = manifest()
    context = {"models": libraries(doc) if doc else [], "missing": doc is None, "conn": _connect_info()}
    return render(request, "analysis/index.html", context)


@router.get("/analysis/{name}")
def analysis_model(request: Request, name: str):
    doc = manifest()
    model = library(doc, name) if doc else None
    if model is None:
        raise HTTPException(404, "没有这个基础库或主题库")
    return render(request, "analysis/model.html", {"m": model, "conn": _connect_info()})
