"""What each tab of a resource page shows, read from the platform's tables (and, for the preview, the
exchange as the viewer's department). Every function returns plain data for its template."""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import psycopg
from psycopg import errors, sql

from govlake.accounts.people import Person
from govlake.catalog.model import CONDITIONAL, NOT_SHARED, CatalogEntry
from govlake.settings import get_settings
from govlake.sharing.access import record_access
from govlake.sharing.dispatch import visible_items
from govlake.sharing.zone import ZONE_SCHEMA
from govlake.warehouse.department_roles import role_name
from govlake.web.department_session import as_person, department_of
from govlake.web.portal_db import connect

PREVIEW_ROWS = 20


def last_published(conn: psycopg.Connection, entry: CatalogEntry) -> dt.datetime | None:
    if entry.kind == "library":
        row = conn.execute(
            "select max(published_at) from platform.publications where status = 'published' "
            "and target in (%s, %s)",
            (f"base.{entry.entry_key}", f"share.{entry.entry_key}"),
        ).fetchone()
    else:
        department, _, dataset = entry.entry_key.partition("__")
        row = conn.execute(
            "select max(finished_at) from platform.batches where department = %s and dataset = %s "
            "and status = 'loaded'",
            (department, dataset),
        ).fetchone()
    return row[0] if row else None


def header(entry: CatalogEntry) -> dict[str, Any]:
    with connect(autocommit=True) as conn:
        published = last_published(conn, entry)
    age = (dt.datetime.now(dt.UTC) - published) if published else None
    fresh = None
    if age is not None:
        hours = age.total_seconds() / 3600
        fresh = ("ok", "新鲜") if hours < 36 else (("warn", "稍旧") if hours < 24 * 8 else ("bad", "陈旧"))
    return {
        "published": published,
        "age_hours": None if age is None else round(age.total_seconds() / 3600, 1),
        "fresh": fresh,
    }


def panel(tab: str, entry: CatalogEntry, person: Person | None) -> dict[str, Any]:
    return {
        "items": lambda: {},
        "preview": lambda: preview(entry, person),
        "profile": lambda: profile(entry),
        "quality": lambda: quality(entry),
        "sharing": lambda: sharing(entry),
        "lineage": lambda: lineage(entry),
        "api": lambda: api(entry),
    }[tab]()


def preview(entry: CatalogEntry, person: Person | None) -> dict[str, Any]:
    """Sample rows exactly as the person's department may read them (its role, over the exchange)."""
    if person is None:
        return {"signin": True}
    department = department_of(person)
    with connect(autocommit=True) as platform:
        readable = visible_items(platform, department, entry)
    state = {}
    for item in entry.items:
        if item.name in readable:
            state[item.name] = "readable"
        elif item.sharing_type == NOT_SHARED:
            state[item.name] = "never"
        elif item.sharing_type == CONDITIONAL:
            state[item.name] = "request"
        else:
            state[item.name] = "absent"
    result: dict[str, Any] = {
        "department": department,
        "role": role_name(department),
        "state": state,
        "rows": [],
    }
    if not readable:
        result["message"] = "贵部门目前没有可读取的信息项；有条件共享的信息项需先申请。"
        return result
    query = sql.SQL("select {} from {} limit {}").format(
        sql.SQL(", ").join(map(sql.Identifier, readable)),
        sql.Identifier(ZONE_SCHEMA, entry.entry_key),
        sql.Literal(PREVIEW_ROWS),
    )
    try:
        with as_person(person) as conn:
            rows = conn.execute(query).fetchall()
    except (errors.InsufficientPrivilege, errors.UndefinedTable, errors.UndefinedColumn) as exc:
        result["message"] = f"数据库拒绝了 {role_name(department)} 的读取：{exc.diag.message_primary}"
        return result
    result.update(items=readable, rows=rows)
    with connect(autocommit=True) as platform:
        record_access(
            platform,
            department,
            "portal",
            entry.entry_key,
            readable,
            len(rows),
            {"person": person.username, "role": person.role, "page": "preview"},
        )
    return result


def profile(entry: CatalogEntry) -> dict[str, Any]:
    with connect(autocommit=True) as conn:
        rows = conn.execute(
            "select logical_date, row_count, freshness, columns, relation, profiled_at "
            "from platform.resource_profiles where resource_key = %s order by logical_date",
            (entry.entry_key,),
        ).fetchall()
    if not rows:
        return {"empty": True}
    latest = rows[-1]
    return {
        "history": [(str(r[0]), r[1]) for r in rows],
        "latest": {
            "date": latest[0],
            "rows": latest[1],
            "freshness": latest[2],
            "relation": latest[4],
            "at": latest[5],
        },
        "columns": latest[3],
    }


def quality(entry: CatalogEntry) -> dict[str, Any]:
    department, _, dataset = entry.entry_key.partition("__")
    with connect(autocommit=True) as conn:
        runs = conn.execute(
            """
            select r.logical_date, v.expectation, v.dimension, v.severity, v.success,
                   coalesce(100 - v.unexpected_percent, case when v.success then 100 else 0 end)
            from platform.validation_runs r join platform.validation_results v using (validation_id)
            where r.target = any(%s) or r.suite = %s
            order by r.logical_date, v.expectation
            """,
            (
                [
                    f"raw.{entry.entry_key}",
                    f"base.{entry.entry_key}",
                    f"audit.{entry.entry_key}",
                    f"staging.{entry.entry_key}",
                ],
                entry.entry_key,
            ),
        ).fetchall()
        quarantine = (
            conn.execute(
                "select rule, dimension, count(*), min(logical_date), max(logical_date) from platform.quarantine "
                "where department = %s and dataset = %s and resolved_at is null group by rule, dimension "
                "order by count(*) desc",
                (department, dataset),
            ).fetchall()
            if dataset
            else []
        )
    rules: dict[str, dict[str, Any]] = {}
    by_date: dict[str, list[float]] = {}
    for day, rule, dimension, severity, success, rate in runs:
        rules[rule] = {
            "rule": rule,
            "dimension": dimension,
            "severity": severity,
            "success": success,
            "rate": rate,
            "date": day,
        }
        by_date.setdefault(str(day), []).append(float(rate or 0))
    trend = [(d, round(sum(v) / len(v), 2)) for d, v in by_date.items()]
    return {"rules": list(rules.values()), "trend": trend, "quarantine": quarantine}


def sharing(entry: CatalogEntry) -> dict[str, Any]:
    with connect(autocommit=True) as conn:
        grants = conn.execute(
            "select consumer, items, valid_from, valid_until, revoked_at, request_id from platform.share_grants "
            "where resource_key = %s order by granted_at desc",
            (entry.entry_key,),
        ).fetchall()
        exports = conn.execute(
            "select consumer, count(*), min(exported_at), max(exported_at), sum(row_count) from platform.export_runs "
            "where resource_key = %s group by consumer order by consumer",
            (entry.entry_key,),
        ).fetchall()
        reads = conn.execute(
            "select department, channel, count(*), min(accessed_at), max(accessed_at) from platform.access_log "
            "where resource_key = %s group by department, channel order by department, channel",
            (entry.entry_key,),
        ).fetchall()
    return {"grants": grants, "exports": exports, "reads": reads}


@lru_cache(maxsize=2)
def _manifest(path: str, mtime: float) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def manifest() -> dict[str, Any] | None:
    from govlake.transform.manifest import MANIFEST_PATH

    if not MANIFEST_PATH.exists():
        return None
    return _manifest(str(MANIFEST_PATH), MANIFEST_PATH.stat().st_mtime)


def dbt_node(doc: dict[str, Any], entry: CatalogEntry) -> str | None:
    department, _, dataset = entry.entry_key.partition("__")
    for uid, node in {**doc.get("nodes", {}), **doc.get("sources", {})}.items():
        if (
            entry.kind == "library"
            and node.get("resource_type") == "model"
            and node.get("name") == entry.entry_key
        ):
            return uid
        if (
            dataset
            and node.get("resource_type") == "source"
            and node.get("name") == dataset
            and department in node.get("source_name", "")
        ):
            return uid
    return None


def lineage(entry: CatalogEntry) -> dict[str, Any]:
    doc = manifest()
    if doc is None:
        return {"missing": True}
    uid = dbt_node(doc, entry)
    if uid is None:
        return {"node": None}

    def label(node_id: str) -> tuple[str, str]:
        node = (
            doc.get("nodes", {}).get(node_id)
            or doc.get("sources", {}).get(node_id)
            or doc.get("exposures", {}).get(node_id)
            or {}
        )
        return node_id.split(".")[0], node.get("name", node_id)

    parents = [label(p) for p in doc.get("parent_map", {}).get(uid, [])]
    children = [label(c) for c in doc.get("child_map", {}).get(uid, [])]
    return {"node": uid, "parents": parents, "children": children}


def api(entry: CatalogEntry) -> dict[str, Any]:
    settings = get_settings()
    with connect(autocommit=True) as conn:
        open_sets = [
            r[0]
            for r in conn.execute(
                "select name from platform.open_datasets where organization = %s or definition::text like %s order by name",
                (entry.department, f"%{entry.entry_key}%"),
            ).fetchall()
        ]
    base = settings.web_url
    readable = entry.items_of("无条件共享")[:3] or [i.name for i in entry.items[:2]]
    return {
        "view": f"{ZONE_SCHEMA}.{entry.entry_key}",
        "endpoint": f"{base}/api/v1/data/{entry.entry_key}",
        "curl": f"curl -u <部门代码>:<口令> '{base}/api/v1/data/{entry.entry_key}?items={','.join(readable)}&limit=10'",
        "psql": f'psql "host={settings.pg_host} port={settings.pg_port} dbname={settings.warehouse_db} user=dept_<部门代码>" '
        f"-c 'select {', '.join(readable)} from {ZONE_SCHEMA}.{entry.entry_key} limit 10'",
        "ckan": [f"ckanapi action package_show id={name} -r {base}" for name in open_sets[:3]]
        or [f"ckanapi action package_search q={entry.name} -r {base}"],
    }
