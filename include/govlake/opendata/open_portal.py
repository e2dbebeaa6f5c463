"""What the open-data platform's pages (开放平台) show, read from the platform's open-data tables.

No sign-in: everything here is published data. The pages (``govlake.web.routers.open_pages``) get
plain dataclasses; nothing here renders HTML.

- :func:`search_datasets`: the published open datasets, searched with the platform's one search engine
  (``govlake.search``: jieba words, BM25), with facets by providing department and by prefecture (市州).
  A dataset covers a prefecture when its latest release publishes rows for it (a suppressed cell does not
  count: it publishes nothing);
- :func:`dataset_detail`: one dataset — every published version with its files, the data dictionary of a
  version, a preview of its rows (optionally one prefecture's), the CKAN API calls, the apps built on it,
  download and API counts;
- :func:`open_statistics`: datasets, published rows, downloads and API calls per department and per
  prefecture, and the daily usage of the last days;
- :func:`app_showcase`: registered apps with the datasets each uses.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from govlake.search import Document, Index

PER_PAGE = 20
PREVIEW_ROWS = 20
FACET_DEPARTMENT, FACET_PREFECTURE = "department", "prefecture"
SEARCH_WEIGHTS = {"title": 3.0, "tags": 2.0, "description": 1.0, "organization": 1.0, "name": 1.0}
FILE_LABELS = {
    "data.csv": "CSV（UTF-8，Excel 可直接打开）",
    "data.parquet": "Parquet",
    "data.json": "JSON",
    "dictionary.csv": "数据字典（CSV）",
    "metadata.json": "元数据与披露控制（JSON）",
}
FILE_ORDER = tuple(FILE_LABELS)


class OpenDatasetNotFound(LookupError):
    """No published dataset (or version) by that name."""


@dataclass(frozen=True)
class Prefecture:
    code: str
    name: str
    rows: int


@dataclass(frozen=True)
class Release:
    version: str
    logical_date: dt.date
    revision: int
    rows: int | None
    k_required: int
    k_achieved: int | None
    suppressed: int | None
    released_at: dt.datetime
    datastore_table: str | None
    files: list[dict[str, Any]] = field(default_factory=list)  # file, format, bytes, sha256, id, label


@dataclass(frozen=True)
class OpenDatasetCard:
    """A published dataset as a search result."""

    name: str
    title: str
    title_en: str
    description: str
    organization: str
    organization_title: str
    groups: tuple[str, ...]
    tags: tuple[str, ...]
    kind: str
    open_type: str
    update_cycle: str
    license_title: str
    license_url: str | None
    latest: Release
    prefectures: tuple[Prefecture, ...]
    downloads: int
    api_calls: int


@dataclass(frozen=True)
class SearchPage:
    query: str
    departments: tuple[str, ...]
    prefectures: tuple[str, ...]
    total: int
    page: int
    pages: int
    results: list[OpenDatasetCard]
    facets: dict[str, list[tuple[str, str, int]]]  # facet -> (value, label, count)
    terms: tuple[str, ...]


@dataclass(frozen=True)
class DictionaryEntry:
    column: str
    type: str
    label_zh: str
    label_en: str
    unit: str
    grade: str
    derivation: str


@dataclass(frozen=True)
class App:
    id: int
    name: str
    url: str
    description: str
    registered_at: dt.datetime
    datasets: list[tuple[str, str | None]]  # (name, title; None when no longer published)


@dataclass(frozen=True)
class DatasetDetail:
    card: OpenDatasetCard
    releases: list[Release]
    release: Release  # the version shown
    dictionary: list[DictionaryEntry]
    preview_columns: list[str]
    preview_rows: list[tuple[Any, ...]]
    preview_total: int
    preview_prefecture: Prefecture | None
    release_prefectures: tuple[Prefecture, ...]
    apps: list[App]
    api_calls: dict[str, str]  # label -> path (relative to the portal)


def _rows(conn: psycopg.Connection, query: str, params: Any = None) -> list[dict[str, Any]]:
    with conn.cursor() as cur:
        cur.execute(query, params)
        names = [c.name for c in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _releases(conn: psycopg.Connection, dataset: str | None = None) -> dict[str, list[Release]]:
    """Published releases per dataset, newest first, each with its files."""
    files: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in _rows(
        conn,
        "select id, dataset, version, file, format, bytes, sha256, s3_key from platform.open_resources "
        "where %(d)s::text is null or dataset = %(d)s",
        {"d": dataset},
    ):
        r["label"] = FILE_LABELS.get(r["file"], r["file"])
        files.setdefault((r["dataset"], r["version"]), []).append(r)
    out: dict[str, list[Release]] = {}
    for r in _rows(
        conn,
        "select dataset, version, logical_date, revision, rows, k_required, k_achieved, suppressed, "
        "released_at, datastore_table from platform.open_releases "
        "where status = 'published' and (%(d)s::text is null or dataset = %(d)s) "
        "order by dataset, logical_date desc, revision desc",
        {"d": dataset},
    ):
        ordered = sorted(
            files.get((r["dataset"], r["version"]), []),
            key=lambda f: FILE_ORDER.index(f["file"]) if f["file"] in FILE_ORDER else 99,
        )
        out.setdefault(r.pop("dataset"), []).append(Release(**r, files=ordered))
    return out


def _has_columns(conn: psycopg.Connection, table: str, *columns: str) -> set[str]:
    found = conn.execute(
        "select column_name from information_schema.columns where table_schema = 'open' and table_name = %s",
        (table,),
    ).fetchall()
    return {c[0] for c in found} & set(columns)


_COVERAGE: dict[tuple[str, int], tuple[Prefecture, ...]] = {}


def prefecture_coverage(conn: psycopg.Connection, table: str | None) -> tuple[Prefecture, ...]:
    """Prefectures with published (not suppressed) rows in a release table, most rows first.

    A release's table never changes after it is published, so the answer is kept per table."""
    if not table:
        return ()
    found = conn.execute(
        "select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = 'open' and c.relname = %s",
        (table,),
    ).fetchone()
    if found is None:
        return ()
    oid = found[0]
    cached = _COVERAGE.get((table, oid))  # a table dropped and made again is another oid
    if cached is not None:
        return cached
    columns = _has_columns(conn, table, "prefecture_code", "prefecture_name", "suppressed")
    result: tuple[Prefecture, ...] = ()
    if {"prefecture_code", "prefecture_name"} <= columns:
        conditions = [sql.SQL("prefecture_code is not null")]
        if "suppressed" in columns:
            conditions.append(sql.SQL("not coalesce(suppressed, false)"))
        found = conn.execute(
            sql.SQL(
                "select prefecture_code, max(prefecture_name), count(*)::int from {} where {} "
                "group by 1 order by 3 desc, 1"
            ).format(sql.Identifier("open", table), sql.SQL(" and ").join(conditions))
        ).fetchall()
        result = tuple(Prefecture(code, name or code, n) for code, name, n in found)
    _COVERAGE[(table, oid)] = result
    return result


def prefecture_names(conn: psycopg.Connection, schema: str = "reference") -> dict[str, str]:
    """Every prefecture (市州) of the province by code, from the reference divisions (empty before a build)."""
    if conn.execute("select to_regclass(%s)", (f"{schema}.divisions",)).fetchone()[0] is None:
        return {}
    return dict(
        conn.execute(
            sql.SQL("select code, name from {} where level = 'prefecture' order by code").format(
                sql.Identifier(schema, "divisions")
            )
        ).fetchall()
    )


def _usage_counts(conn: psycopg.Connection) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for dataset, kind, events in conn.execute(
        "select dataset, kind, sum(events)::int from platform.open_usage_daily "
        "where dataset is not null group by 1, 2"
    ).fetchall():
        counts.setdefault(dataset, {})[kind] = events
    return counts


def dataset_cards(conn: psycopg.Connection, dataset: str | None = None) -> list[OpenDatasetCard]:
    """Every published open dataset (or the one named), with its latest release and prefectures."""
    releases = _releases(conn, dataset)
    usage = _usage_counts(conn)
    cards = []
    for d in _rows(
        conn,
        "select * from platform.open_datasets where %(d)s::text is null or name = %(d)s order by name",
        {"d": dataset},
    ):
        mine = releases.get(d["name"])
        if not mine:
            continue
        latest = mine[0]
        cards.append(
            OpenDatasetCard(
                name=d["name"],
                title=d["title_zh"],
                title_en=d["title_en"],
                description=d["description_zh"],
                organization=d["organization"],
                organization_title=d["organization_title"],
                groups=tuple(d["groups"]),
                tags=tuple(d["tags"]),
                kind=d["kind"],
                open_type=d["open_type"],
                update_cycle=d["update_cycle"],
                license_title=d["license_title"] or d["license_id"],
                license_url=d["license_url"],
                latest=latest,
                prefectures=prefecture_coverage(conn, latest.datastore_table),
                downloads=usage.get(d["name"], {}).get("download", 0),
                api_calls=usage.get(d["name"], {}).get("api", 0),
            )
        )
    return cards


def search_datasets(
    conn: psycopg.Connection,
    query: str = "",
    departments: tuple[str, ...] | list[str] = (),
    prefectures: tuple[str, ...] | list[str] = (),
    page: int = 1,
    per_page: int = PER_PAGE,
) -> SearchPage:
    """Published datasets matching the words and the chosen facets, best first, with facet counts."""
    cards = dataset_cards(conn)
    documents = [
        Document(
            key=c.name,
            fields={
                "title": f"{c.title} {c.title_en}",
                "tags": " ".join(c.tags),
                "description": c.description,
                "organization": c.organization_title,
                "name": c.name,
            },
            facets={
                FACET_DEPARTMENT: (c.organization,),
                FACET_PREFECTURE: tuple(p.code for p in c.prefectures),
            },
            payload=c,
        )
        for c in cards
    ]
    labels = {
        FACET_DEPARTMENT: {c.organization: c.organization_title for c in cards},
        FACET_PREFECTURE: prefecture_names(conn),
    }
    for c in cards:
        for p in c.prefectures:
            labels[FACET_PREFECTURE].setdefault(p.code, p.name)
    page = max(1, page)
    departments, prefectures = tuple(departments), tuple(prefectures)
    found = Index(documents, SEARCH_WEIGHTS).search(
        query,
        filters={FACET_DEPARTMENT: departments, FACET_PREFECTURE: prefectures},
        facet_fields=(FACET_DEPARTMENT, FACET_PREFECTURE),
        offset=(page - 1) * per_page,
        limit=per_page,
        sort=lambda doc: (-doc.payload.latest.released_at.timestamp(), doc.key),
    )
    facets = {
        name: [(value, labels[name].get(value, value), n) for value, n in counts]
        for name, counts in found.facets.items()
    }
    # a chosen value stays listed (with 0) so it can be unticked
    for name, chosen in ((FACET_DEPARTMENT, departments), (FACET_PREFECTURE, prefectures)):
        listed = {v for v, _, _ in facets[name]}
        facets[name] += [(v, labels[name].get(v, v), 0) for v in chosen if v not in listed]
    return SearchPage(
        query=query,
        departments=departments,
        prefectures=prefectures,
        total=found.total,
        page=page,
        pages=max(1, -(-found.total // per_page)),
        results=[doc.payload for doc, _ in found.hits],
        facets=facets,
        terms=found.terms,
    )


def read_dictionary(release: Release) -> list[DictionaryEntry]:
    """The data dictionary file of a release (``dictionary.csv`` in the open bucket)."""
    from govlake.lake import s3_client
    from govlake.opendata.release import OPEN_BUCKET

    entry = next((f for f in release.files if f["file"] == "dictionary.csv"), None)
    if entry is None:
        return []
    obj = s3_client().get_object(OPEN_BUCKET, entry["s3_key"])
    try:
        text = obj.read().decode("utf-8-sig")
    finally:
        obj.close()
        obj.release_conn()
    reader = csv.reader(io.StringIO(text))
    next(reader, None)  # the bilingual header
    return [DictionaryEntry(*(row + [""] * 7)[:7]) for row in reader if row]


def app_showcase(conn: psycopg.Connection, dataset: str | None = None) -> list[App]:
    """Registered apps (newest first), each with the datasets it uses and their titles."""
    titles = dict(conn.execute("select name, title_zh from platform.open_datasets").fetchall())
    return [
        App(
            id=r["id"],
            name=r["name"],
            url=r["url"],
            description=r["description"],
            registered_at=r["registered_at"],
            datasets=[(name, titles.get(name)) for name in r["datasets"]],
        )
        for r in _rows(
            conn,
            "select id, name, url, description, datasets, registered_at from platform.open_apps "
            "where %(d)s::text is null or %(d)s = any(datasets) order by registered_at desc, id desc",
            {"d": dataset},
        )
    ]


def _preview(
    conn: psycopg.Connection, table: str | None, prefecture: str | None
) -> tuple[list[str], list[tuple[Any, ...]], int]:
    if not table:
        return [], [], 0
    columns = [
        c[0]
        for c in conn.execute(
            "select column_name from information_schema.columns where table_schema = 'open' "
            "and table_name = %s and column_name <> '_id' order by ordinal_position",
            (table,),
        ).fetchall()
    ]
    where, params = sql.SQL(""), []
    if prefecture and "prefecture_code" in columns:
        where, params = sql.SQL("where prefecture_code = %s"), [prefecture]
    relation = sql.Identifier("open", table)
    rows = conn.execute(
        sql.SQL("select {} from {} {} order by _id limit {}").format(
            sql.SQL(", ").join(map(sql.Identifier, columns)), relation, where, sql.Literal(PREVIEW_ROWS)
        ),
        params,
    ).fetchall()
    total = conn.execute(sql.SQL("select count(*) from {} {}").format(relation, where), params).fetchone()[0]
    return columns, rows, total


def dataset_detail(
    conn: psycopg.Connection, name: str, version: str | None = None, prefecture: str | None = None
) -> DatasetDetail:
    """One published dataset; ``version`` picks a release (default the latest), ``prefecture`` the preview's."""
    cards = dataset_cards(conn, name)
    if not cards:
        raise OpenDatasetNotFound(f"no published open dataset {name!r}")
    card = cards[0]
    releases = _releases(conn, name)[name]
    release = next((r for r in releases if r.version == version), None) if version else releases[0]
    if release is None:
        raise OpenDatasetNotFound(f"{name!r} has no published version {version!r}")
    coverage = prefecture_coverage(conn, release.datastore_table)
    chosen = None
    if prefecture:
        chosen = next((p for p in coverage if p.code == prefecture), Prefecture(prefecture, prefecture, 0))
    columns, rows, total = _preview(conn, release.datastore_table, chosen.code if chosen else None)
    csv_file = next((f for f in release.files if f["file"] == "data.csv"), None)
    api_calls = {"package_show": f"/api/3/action/package_show?id={name}"}
    if csv_file:
        api_calls["datastore_search"] = f"/api/3/action/datastore_search?resource_id={csv_file['id']}&limit=5"
    api_calls["DCAT-AP 3"] = "/catalog.jsonld"
    return DatasetDetail(
        card=card,
        releases=releases,
        release=release,
        dictionary=read_dictionary(release),
        preview_columns=columns,
        preview_rows=rows,
        preview_total=total,
        preview_prefecture=chosen,
        release_prefectures=coverage,
        apps=app_showcase(conn, name),
        api_calls=api_calls,
    )


@dataclass(frozen=True)
class DepartmentStats:
    code: str
    title: str
    datasets: int
    rows: int
    downloads: int
    api_calls: int


@dataclass(frozen=True)
class PrefectureStats:
    code: str
    name: str
    datasets: int
    rows: int


@dataclass(frozen=True)
class OpenStatistics:
    departments: list[DepartmentStats]
    prefectures: list[PrefectureStats]
    daily: list[tuple[dt.date, int, int]]  # day, downloads, API calls (the last ``days`` days)
    datasets: int
    downloads: int
    api_calls: int
    apps: int
    last_released_at: dt.datetime | None
    last_logical_date: dt.date | None


def open_statistics(conn: psycopg.Connection, days: int = 30) -> OpenStatistics:
    """What each department and each prefecture has opened, and how much it is used."""
    cards = dataset_cards(conn)
    departments: dict[str, DepartmentStats] = {}
    prefectures: dict[str, PrefectureStats] = {}
    for c in cards:
        d = departments.get(c.organization) or DepartmentStats(
            c.organization, c.organization_title, 0, 0, 0, 0
        )
        departments[c.organization] = DepartmentStats(
            d.code,
            d.title,
            d.datasets + 1,
            d.rows + (c.latest.rows or 0),
            d.downloads + c.downloads,
            d.api_calls + c.api_calls,
        )
        for p in c.prefectures:
            s = prefectures.get(p.code) or PrefectureStats(p.code, p.name, 0, 0)
            prefectures[p.code] = PrefectureStats(p.code, s.name, s.datasets + 1, s.rows + p.rows)
    for code, name in prefecture_names(conn).items():
        prefectures.setdefault(code, PrefectureStats(code, name, 0, 0))
    since = dt.date.today() - dt.timedelta(days=days - 1)
    by_day: dict[dt.date, dict[str, int]] = {}
    for day, kind, events in conn.execute(
        "select day, kind, sum(events)::int from platform.open_usage_daily where day >= %s group by 1, 2",
        (since,),
    ).fetchall():
        by_day.setdefault(day, {})[kind] = events
    daily = [
        (day, by_day.get(day, {}).get("download", 0), by_day.get(day, {}).get("api", 0))
        for day in (since + dt.timedelta(days=n) for n in range(days))
    ]
    apps = conn.execute("select count(*) from platform.open_apps").fetchone()[0]
    latest = max(cards, key=lambda c: c.latest.released_at, default=None)
    return OpenStatistics(
        departments=sorted(departments.values(), key=lambda d: (-d.datasets, -d.rows, d.code)),
        prefectures=sorted(prefectures.values(), key=lambda p: p.code),
        daily=daily,
        datasets=len(cards),
        downloads=sum(c.downloads for c in cards),
        api_calls=sum(c.api_calls for c in cards),
        apps=apps,
        last_released_at=latest.latest.released_at if latest else None,
        last_logical_date=max((c.latest.logical_date for c in cards), default=None),
    )
