"""The CKAN Action API (2.10 shapes) over the open-data platform tables, so CKAN clients work unchanged.

Packages are the open datasets with at least one published release; a package's ``resources`` are the
files of its latest release, and ``releases`` lists every version with its own resources (earlier
versions stay downloadable and their resource ids stay valid). Organizations are the registry's
departments (providers), groups the YAML's groups. ``datastore_search`` reads the release's table in
schema ``open``. Errors raise CkanError, which the router turns into CKAN's error object and status.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
from psycopg import sql

from govlake.opendata.package_search import DEFAULT_SORT, SearchQueryError, search_packages
from govlake.opendata.usage import list_apps

CKAN_VERSION = "2.10.4"
SITE_TITLE = "贵州省公共数据开放平台 (govlake)"
MAX_ROWS, MAX_LIMIT = 1000, 32000
DATASTORE_TYPES = {
    "text": "text",
    "bigint": "int8",
    "double precision": "float8",
    "boolean": "bool",
    "integer": "int4",
}


class CkanError(Exception):
    """An action error: HTTP status, CKAN ``__type`` and message or per-field messages."""

    def __init__(
        self, status: int, type_: str, message: str | None = None, fields: dict[str, list[str]] | None = None
    ):
        self.status, self.type, self.message, self.fields = status, type_, message, fields or {}
        super().__init__(message or json.dumps(fields, ensure_ascii=False))

    def as_error(self) -> dict[str, Any]:
        body: dict[str, Any] = {"__type": self.type}
        if self.message:
            body["message"] = self.message
        body.update(self.fields)
        return body


def not_found(what: str) -> CkanError:
    return CkanError(404, "Not Found Error", f"Not found: {what}")


def validation(field: str, message: str) -> CkanError:
    return CkanError(409, "Validation Error", fields={field: [message]})


def _require(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    if value in (None, ""):
        raise validation(name, "Missing value")
    return str(value)


def _int(params: dict[str, Any], name: str, default: int, maximum: int) -> int:
    value = params.get(name, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise validation(name, f"Invalid integer: {value!r}") from None
    if number < 0:
        raise validation(name, "Must be a natural number")
    return min(number, maximum)


def _bool(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1", "yes")


def _json_param(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if isinstance(value, str) and value.strip().startswith(("{", "[")):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise validation(name, "Invalid JSON") from None
    return value


# -- reading the platform tables ---------------------------------------------------------------------


def package_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"govlake:open:{name}"))


def _rows(conn: psycopg.Connection, query: str, params: Any = None) -> list[dict[str, Any]]:
    with conn.cursor() as cur:
        cur.execute(query, params)
        names = [c.name for c in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _datasets(conn: psycopg.Connection) -> list[dict[str, Any]]:
    return _rows(
        conn,
        "select d.*, (select min(released_at) from platform.open_releases r where r.dataset = d.name and r.status = 'published') as first_release, "
        "(select max(released_at) from platform.open_releases r where r.dataset = d.name and r.status = 'published') as last_release "
        "from platform.open_datasets d where exists (select 1 from platform.open_releases r "
        "where r.dataset = d.name and r.status = 'published') order by d.name",
    )


def _releases(conn: psycopg.Connection, dataset: str) -> list[dict[str, Any]]:
    return _rows(
        conn,
        "select * from platform.open_releases where dataset = %s and status = 'published' "
        "order by logical_date desc, revision desc",
        (dataset,),
    )


def _resources(conn: psycopg.Connection, dataset: str) -> dict[str, list[dict[str, Any]]]:
    by_version: dict[str, list[dict[str, Any]]] = {}
    for r in _rows(
        conn, "select * from platform.open_resources where dataset = %s order by version, file", (dataset,)
    ):
        by_version.setdefault(r["version"], []).append(r)
    return by_version


FILE_ORDER = ("data.csv", "data.parquet", "data.json", "dictionary.csv", "metadata.json")
FILE_TITLES = {
    "data.csv": ("数据（CSV）", "Data (CSV, UTF-8 with BOM)"),
    "data.parquet": ("数据（Parquet）", "Data (Parquet)"),
    "data.json": ("数据（JSON）", "Data (JSON)"),
    "dictionary.csv": ("数据字典", "Data dictionary"),
    "metadata.json": ("元数据", "Metadata and disclosure control"),
}


def resource_dict(r: dict[str, Any], base_url: str, position: int = 0) -> dict[str, Any]:
    zh, en = FILE_TITLES.get(r["file"], (r["file"], r["file"]))
    return {
        "id": r["id"],
        "package_id": package_id(r["dataset"]),
        "name": f"{zh} {r['version']}",
        "description": f"{en}, release {r['version']}",
        "format": r["format"],
        "mimetype": r["media_type"],
        "url": f"{base_url}/download/{r['dataset']}/{r['version']}/{r['file']}",
        "url_type": None,
        "resource_type": "file",
        "size": r["bytes"],
        "hash": f"sha256:{r['sha256']}",
        "created": r["created_at"].isoformat(),
        "last_modified": r["created_at"].isoformat(),
        "metadata_modified": r["created_at"].isoformat(),
        "datastore_active": r["datastore_table"] is not None,
        "position": position,
        "state": "active",
        "version": r["version"],
        "file": r["file"],
    }


def _ordered(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(resources, key=lambda r: FILE_ORDER.index(r["file"]) if r["file"] in FILE_ORDER else 99)


def organization_dict(code: str, title: str, count: int | None = None) -> dict[str, Any]:
    doc = {
        "id": code,
        "name": code,
        "title": title,
        "display_name": title,
        "type": "organization",
        "is_organization": True,
        "state": "active",
        "approval_status": "approved",
        "description": f"{title}（数据提供部门）",
        "image_url": "",
    }
    if count is not None:
        doc["package_count"] = count
    return doc


def group_dict(name: str, spec: dict[str, Any], count: int | None = None) -> dict[str, Any]:
    title = f"{spec.get('zh', name)} {spec.get('en', '')}".strip()
    doc = {
        "id": name,
        "name": name,
        "title": title,
        "display_name": title,
        "type": "group",
        "is_organization": False,
        "state": "active",
        "approval_status": "approved",
        "description": spec.get("en", ""),
        "image_url": "",
    }
    if count is not None:
        doc["package_count"] = count
    return doc


def package_dict(
    conn: psycopg.Connection, d: dict[str, Any], base_url: str, groups: dict[str, dict]
) -> dict[str, Any]:
    releases = _releases(conn, d["name"])
    resources = _resources(conn, d["name"])
    latest = releases[0] if releases else None
    current = (
        [resource_dict(r, base_url, i) for i, r in enumerate(_ordered(resources.get(latest["version"], [])))]
        if latest
        else []
    )
    extras = {
        "kind": d["kind"],
        "open_type": d["open_type"],
        "update_cycle": d["update_cycle"],
        "k_required": latest and latest["k_required"],
        "k_achieved": latest and latest["k_achieved"],
        "title_en": d["title_en"],
        "latest_version": latest and latest["version"],
        "dcat_catalog": f"{base_url}/catalog.jsonld",
    }
    return {
        "id": package_id(d["name"]),
        "name": d["name"],
        "title": d["title_zh"],
        "title_translated": {"zh": d["title_zh"], "en": d["title_en"]},
        "notes": d["description_zh"],
        "notes_translated": {"zh": d["description_zh"], "en": d["description_en"]},
        "type": "dataset",
        "state": "active",
        "private": False,
        "isopen": True,
        "license_id": d["license_id"],
        "license_title": d["license_title"] or d["license_id"],
        "license_url": d["license_url"],
        "author": d["definition"].get("publisher", {}).get("zh"),
        "maintainer": d["organization_title"],
        "version": latest and latest["version"],
        "url": f"{base_url}/api/3/action/package_show?id={d['name']}",
        "metadata_created": (d["first_release"] or d["created_at"]).isoformat(),
        "metadata_modified": (d["last_release"] or d["updated_at"]).isoformat(),
        "owner_org": d["organization"],
        "organization": organization_dict(d["organization"], d["organization_title"]),
        "groups": [group_dict(g, groups.get(g, {})) for g in d["groups"]],
        "tags": [
            {"id": t, "name": t, "display_name": t, "state": "active", "vocabulary_id": None}
            for t in d["tags"]
        ],
        "num_tags": len(d["tags"]),
        "resources": current,
        "num_resources": len(current),
        "extras": [{"key": k, "value": "" if v is None else str(v)} for k, v in extras.items()],
        "releases": [
            {
                "version": r["version"],
                "logical_date": r["logical_date"].isoformat(),
                "revision": r["revision"],
                "rows": r["rows"],
                "k_required": r["k_required"],
                "k_achieved": r["k_achieved"],
                "suppressed": r["suppressed"],
                "generalisation": r["generalisation"],
                "checksums": r["checksums"],
                "released_at": r["released_at"].isoformat(),
                "resources": [
                    resource_dict(x, base_url, i)
                    for i, x in enumerate(_ordered(resources.get(r["version"], [])))
                ],
            }
            for r in releases
        ],
        "apps": [a.as_dict() for a in list_apps(conn, d["name"])],
    }


class Ckan:
    """The actions, bound to a connection, the public base URL and the YAML's groups."""

    def __init__(
        self, conn: psycopg.Connection, base_url: str, groups: dict[str, dict], organizations: dict[str, str]
    ):
        self.conn, self.base_url, self.groups, self.organizations = (
            conn,
            base_url.rstrip("/"),
            groups,
            organizations,
        )
        self.touched: dict[str, str | None] = {}  # what the call concerned, for usage counting

    def _packages(self) -> list[dict[str, Any]]:
        return [package_dict(self.conn, d, self.base_url, self.groups) for d in _datasets(self.conn)]

    def _dataset_row(self, key: str) -> dict[str, Any]:
        for d in _datasets(self.conn):
            if key in (d["name"], package_id(d["name"])):
                return d
        raise not_found(f"dataset {key!r}")

    # -- actions ---------------------------------------------------------------------------------------

    def package_list(self, params: dict[str, Any]) -> list[str]:
        names = [d["name"] for d in _datasets(self.conn)]
        offset = _int(params, "offset", 0, 10**9)
        limit = params.get("limit")
        return (
            names[offset : offset + _int(params, "limit", len(names), 10**9)]
            if limit is not None
            else names[offset:]
        )

    def package_show(self, params: dict[str, Any]) -> dict[str, Any]:
        d = self._dataset_row(_require(params, "id"))
        self.touched = {"dataset": d["name"], "organization": d["organization"]}
        return package_dict(self.conn, d, self.base_url, self.groups)

    def package_search(self, params: dict[str, Any]) -> dict[str, Any]:
        q = str(params.get("q") or "").strip()
        fq = params.get("fq") or ""
        fq_list = params.get("fq_list") or []
        rows = _int(params, "rows", 10, MAX_ROWS)
        start = _int(params, "start", 0, 10**9)
        facet_fields = _json_param(params, "facet.field") or []
        try:
            results, facets, search_facets = search_packages(
                self._packages(),
                q,
                [str(fq), *map(str, fq_list)],
                str(params.get("sort") or ""),
                facet_fields if isinstance(facet_fields, list) else [],
            )
        except SearchQueryError as exc:
            raise CkanError(409, "Search Query Error", str(exc)) from None
        return {
            "count": len(results),
            "results": results[start : start + rows],
            "sort": params.get("sort") or DEFAULT_SORT,
            "facets": facets,
            "search_facets": search_facets,
        }

    def organization_list(self, params: dict[str, Any]) -> list[Any]:
        counts: dict[str, int] = {}
        for d in _datasets(self.conn):
            counts[d["organization"]] = counts.get(d["organization"], 0) + 1
        orgs = dict(self.organizations)
        orgs.update({d["organization"]: d["organization_title"] for d in _datasets(self.conn)})
        names = (
            sorted(orgs, key=lambda o: (-counts.get(o, 0), o))
            if "package_count" in str(params.get("sort", ""))
            else sorted(orgs)
        )
        offset = _int(params, "offset", 0, 10**9)
        names = names[offset : offset + _int(params, "limit", 1000, 1000)]
        if _bool(params.get("all_fields")):
            return [organization_dict(o, orgs[o], counts.get(o, 0)) for o in names]
        return names

    def organization_show(self, params: dict[str, Any]) -> dict[str, Any]:
        key = _require(params, "id")
        datasets = _datasets(self.conn)
        title = self.organizations.get(key) or next(
            (d["organization_title"] for d in datasets if d["organization"] == key), None
        )
        if title is None:
            raise not_found(f"organization {key!r}")
        self.touched = {"organization": key}
        mine = [d for d in datasets if d["organization"] == key]
        doc = organization_dict(key, title, len(mine))
        if _bool(params.get("include_datasets")):
            doc["packages"] = [package_dict(self.conn, d, self.base_url, self.groups) for d in mine]
        return doc

    def group_list(self, params: dict[str, Any]) -> list[Any]:
        counts: dict[str, int] = {}
        for d in _datasets(self.conn):
            for g in d["groups"]:
                counts[g] = counts.get(g, 0) + 1
        names = sorted(self.groups)
        if _bool(params.get("all_fields")):
            return [group_dict(g, self.groups[g], counts.get(g, 0)) for g in names]
        return names

    def resource_show(self, params: dict[str, Any]) -> dict[str, Any]:
        r = self._resource(_require(params, "id"))
        return resource_dict(r, self.base_url)

    def _resource(self, rid: str) -> dict[str, Any]:
        rows = _rows(self.conn, "select * from platform.open_resources where id = %s", (rid,))
        if not rows:
            raise not_found(f"resource {rid!r}")
        r = rows[0]
        self.touched = {"dataset": r["dataset"], "version": r["version"], "resource_id": rid}
        return r

    def status_show(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ckan_version": CKAN_VERSION,
            "site_title": SITE_TITLE,
            "site_description": "贵州省开放数据：去标识化的基础库汇总与记录，CKAN 兼容 API、DCAT-AP 3 目录。",
            "site_url": self.base_url,
            "locale_default": "zh_Hans_CN",
            "error_emails_to": None,
            "extensions": ["datastore", "dcat", "govlake_opendata"],
        }

    def datastore_search(self, params: dict[str, Any]) -> dict[str, Any]:
        rid = _require(params, "resource_id") if params.get("resource_id") else _require(params, "id")
        r = self._resource(rid)
        table = r["datastore_table"]
        if not table:
            raise not_found(
                f"resource {rid!r} has no datastore table (only the CSV resource of a release has one)"
            )
        columns = self._columns(table)
        limit = _int(params, "limit", 100, MAX_LIMIT)
        offset = _int(params, "offset", 0, 10**9)
        where, args = self._where(params, columns)
        fields = self._fields(params, columns)
        order = self._order(params, columns)
        ident = sql.Identifier("open", table)
        select = sql.SQL(", ").join(map(sql.Identifier, fields))
        records = _rows(
            self.conn,
            sql.SQL("select {} from {} where {} order by {} limit %s offset %s").format(
                select, ident, where, order
            ),
            [*args, limit, offset],
        )
        total = self.conn.execute(
            sql.SQL("select count(*) from {} where {}").format(ident, where), args
        ).fetchone()[0]
        path = f"/api/3/action/datastore_search?resource_id={rid}"
        return {
            "resource_id": rid,
            "fields": [
                {
                    "id": f,
                    "type": DATASTORE_TYPES.get(columns[f]["type"], columns[f]["type"]),
                    "info": {"label": columns[f]["label"]},
                }
                for f in fields
            ],
            "records": [
                {
                    k: (float(v) if hasattr(v, "as_integer_ratio") and not isinstance(v, int | bool) else v)
                    for k, v in rec.items()
                }
                for rec in records
            ],
            "total": total,
            "total_was_estimated": False,
            "limit": limit,
            "offset": offset,
            "include_total": True,
            "records_format": "objects",
            "_links": {"start": path, "next": f"{path}&offset={offset + limit}"},
        }

    def _columns(self, table: str) -> dict[str, dict[str, str]]:
        rows = _rows(
            self.conn,
            "select a.attname as name, format_type(a.atttypid, a.atttypmod) as type, "
            "coalesce(col_description(a.attrelid, a.attnum), '') as label "
            "from pg_attribute a where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum",
            (f'open."{table}"',),
        )
        return {r["name"]: r for r in rows}

    def _fields(self, params: dict[str, Any], columns: dict[str, dict]) -> list[str]:
        raw = _json_param(params, "fields")
        if not raw:
            return list(columns)
        names = raw if isinstance(raw, list) else [f.strip() for f in str(raw).split(",")]
        unknown = [n for n in names if n not in columns]
        if unknown:
            raise validation("fields", f'field "{unknown[0]}" not in resource')
        return names

    def _order(self, params: dict[str, Any], columns: dict[str, dict]) -> sql.Composable:
        spec = params.get("sort")
        if not spec:
            return sql.Identifier("_id")
        parts = []
        for piece in str(spec).split(","):
            bits = piece.split()
            if (
                not bits
                or bits[0].strip('"') not in columns
                or (len(bits) > 1 and bits[1].lower() not in ("asc", "desc"))
            ):
                raise validation("sort", f'field "{piece.strip()}" not in resource')
            parts.append(
                sql.SQL("{} {}").format(
                    sql.Identifier(bits[0].strip('"')),
                    sql.SQL("desc" if len(bits) > 1 and bits[1].lower() == "desc" else "asc"),
                )
            )
        return sql.SQL(", ").join([*parts, sql.Identifier("_id")])

    def _where(self, params: dict[str, Any], columns: dict[str, dict]) -> tuple[sql.Composable, list[Any]]:
        clauses: list[sql.Composable] = [sql.SQL("true")]
        args: list[Any] = []
        filters = _json_param(params, "filters") or {}
        if not isinstance(filters, dict):
            raise validation("filters", "Not a JSON object")
        for name, value in filters.items():
            if name not in columns:
                raise validation("filters", f'field "{name}" not in resource')
            values = value if isinstance(value, list) else [value]
            clauses.append(sql.SQL("{}::text = any(%s)").format(sql.Identifier(name)))
            args.append([_as_text(v) for v in values])
        q = _json_param(params, "q")
        if isinstance(q, dict):
            for name, text in q.items():
                if name not in columns:
                    raise validation("q", f'field "{name}" not in resource')
                clauses.append(sql.SQL("{}::text ilike %s").format(sql.Identifier(name)))
                args.append(f"%{text}%")
        elif q:
            row_text = sql.SQL(" || ' ' || ").join(
                sql.SQL("coalesce({}::text, '')").format(sql.Identifier(c)) for c in columns if c != "_id"
            )
            for word in str(q).split():
                clauses.append(sql.SQL("({}) ilike %s").format(row_text))
                args.append(f"%{word}%")
        return sql.SQL(" and ").join(clauses), args


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


ACTIONS = (
    "package_list",
    "package_show",
    "package_search",
    "organization_list",
    "organization_show",
    "group_list",
    "resource_show",
    "datastore_search",
    "status_show",
)
