"""The lineage and sharing graph: stored OpenLineage edges joined with the registry and the sharing records.

Node ids (what the CLI prints and the API takes):

* relations by their platform name — ``source.<key>`` (the department's system table, columns by the
  department's own names), ``landing.<key>``, ``lake.<key>``, ``raw.<key>``, ``staging.…``,
  ``intermediate.…``, ``base.…``, ``themes.…``, ``reference.…``, ``share.<library>``, ``exchange.<resource>``,
  ``open.<open dataset>``; a column is ``<relation>.<column>``;
* ``department:<code>``, ``system:<connection>`` (its database, file drop or API), ``dataset:<key>`` (the
  registry dataset), ``export:<dag id>``, ``app:<id>``, ``exposure:<name>`` (cockpit numbers and other
  dbt exposures), ``public`` (open downloads and API calls).

The static part (stored lineage, registry, catalog, open datasets, subscriptions, exposures) is cached
until the lineage tables change; grants, reads, exports and open usage are read on every call, so an
approval shows at once and a revocation ends its edge.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import psycopg

from govlake.registry import load_departments
from govlake.transform.runner import DBT_PROJECT_DIR

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"  # what the build (dbt docs generate) leaves
WINDOW_DAYS = 30
# node types that are tables/views (have columns) vs the rest
TABLE_TYPES = frozenset(
    {
        "source",
        "landing",
        "lake",
        "raw",
        "staging",
        "intermediate",
        "base",
        "themes",
        "reference",
        "share",
        "exchange",
        "open",
        "platform",
        "relation",
    }
)
LIBRARY_TYPES = frozenset({"base", "themes"})


def node_type(node_id: str) -> str:
    head, sep, _ = node_id.partition(":")
    if sep and head in ("department", "system", "dataset", "export", "app", "exposure"):
        return head
    if node_id == "public":
        return "public"
    schema = node_id.split(".", 1)[0]
    return schema if schema in TABLE_TYPES else "relation"


@dataclass
class LineageGraph:
    """Relations and non-table nodes in ``g``; columns in ``columns`` (column -> relation)."""

    g: nx.MultiDiGraph = field(default_factory=nx.MultiDiGraph)
    columns: dict[str, str] = field(default_factory=dict)
    by_relation: dict[str, list[str]] = field(default_factory=dict)  # relation -> its column nodes

    # -- building ------------------------------------------------------------------------------------
    def add_node(self, node: str, **attrs: Any) -> None:
        attrs.setdefault("type", node_type(node))
        attrs.setdefault("label", node)
        if node in self.g:
            for k, v in attrs.items():
                if v is not None and (k not in self.g.nodes[node] or k in ("label", "columns_known")):
                    self.g.nodes[node][k] = v
        else:
            self.g.add_node(node, **attrs)

    def add_edge(self, source: str, target: str, kind: str, key: str | None = None, **attrs: Any) -> None:
        if source == target:
            return
        for node in (source, target):
            if node not in self.g:
                self.add_node(node)
        self.g.add_edge(source, target, key=key or kind, kind=kind, level="relation", **attrs)

    def add_column_edge(self, source: str, scol: str, target: str, tcol: str, kind: str = "column") -> None:
        s, t = f"{source}.{scol}", f"{target}.{tcol}"
        if s == t:
            return
        for rel, node in ((source, s), (target, t)):
            if rel not in self.g:
                self.add_node(rel)
            if node not in self.g:
                self.g.add_node(node, type="column", label=node, relation=rel, column=node[len(rel) + 1 :])
                self.columns[node] = rel
                self.by_relation.setdefault(rel, []).append(node)
        self.g.add_edge(s, t, key=kind, kind=kind, level="column")
        if not self.g.has_edge(source, target):
            self.add_edge(source, target, "lineage")

    def copy(self) -> LineageGraph:
        return LineageGraph(
            self.g.copy(), dict(self.columns), {k: list(v) for k, v in self.by_relation.items()}
        )

    # -- reading -------------------------------------------------------------------------------------
    def resolve(self, name: str) -> str:
        """A node id from what a person types: a node id, ``audit.<model>``, a dataset key, a department."""
        name = name.strip()
        if name in self.g:
            return name
        candidates = []
        if "." in name:
            head, rest = name.split(".", 1)
            for schema in ("base", "themes", "intermediate", "staging") if head == "audit" else ():
                candidates.append(f"{schema}.{rest}")
            if head == "share":
                candidates.append(f"exchange.{rest}")
        candidates += [
            f"dataset:{name}",
            f"department:{name}",
            f"raw.{name}",
            f"exchange.{name}",
            f"base.{name}",
        ]
        for c in candidates:
            if c in self.g:
                return c
        for node, data in self.g.nodes(data=True):
            if data.get("type") == "department" and data.get("name") == name:
                return node
        raise KeyError(
            f"no node {name!r} in the lineage graph (try a relation like base.population or "
            "base.population.gender, a dataset key, or department:<code>)"
        )

    def describe(self, node: str) -> dict[str, Any]:
        data = dict(self.g.nodes[node])
        data["id"] = node
        if data.get("type") != "column":
            data["columns"] = sorted(
                (c[len(node) + 1 :] for c in self._columns_of(node)), key=lambda c: c
            ) or data.get("columns_known", [])
        return {k: v for k, v in data.items() if k != "columns_known" or "columns" not in data}

    def _columns_of(self, relation: str) -> list[str]:
        return list(self.by_relation.get(relation, ()))


# -- loading -----------------------------------------------------------------------------------------

_cache_lock = threading.Lock()
_cache: dict[str, Any] = {}


def _signature(conn: psycopg.Connection) -> tuple:
    row = conn.execute(
        "select (select max(last_seen_at) from platform.lineage_edges), (select count(*) from platform.lineage_edges), "
        "(select count(*) from platform.lineage_column_edges), (select max(synced_at) from platform.catalog_entries), "
        "(select max(released_at) from platform.open_releases), (select count(*) from platform.open_apps)"
    ).fetchone()
    return (*row, MANIFEST.stat().st_mtime if MANIFEST.exists() else None)


def load_graph(conn: psycopg.Connection, *, today: dt.date | None = None) -> LineageGraph:
    """The whole graph: the cached static part plus the live sharing records."""
    sig = _signature(conn)
    with _cache_lock:
        if _cache.get("sig") != sig:
            _cache["graph"] = _static_graph(conn)
            _cache["sig"] = sig
        graph = _cache["graph"].copy()
    add_sharing(graph, conn, today=today)
    return graph


def _static_graph(conn: psycopg.Connection) -> LineageGraph:
    graph = LineageGraph()
    _add_registry(graph)
    _add_stored_lineage(graph, conn)
    _add_exchange(graph, conn)
    _add_open(graph, conn)
    _add_subscriptions(graph)
    _add_exposures(graph)
    return graph


def _add_registry(graph: LineageGraph) -> None:
    for dept in load_departments():
        d = f"department:{dept.code}"
        graph.add_node(d, label=dept.name, name=dept.name, sensitivity=dept.sensitivity, code=dept.code)
        for ds in dept.datasets:
            connection = ds.source.get("connection") or f"{dept.code}_{ds.source_kind}"
            kind = {"database": "数据库", "rest_api": "接口"}.get(ds.source_kind, "文件")
            system = (
                f"system:{connection}"
                if ds.source_kind in ("database", "rest_api")
                else f"system:{dept.code}_file_drop"
            )
            graph.add_node(
                system,
                label=f"{dept.name} {kind}" if kind != "文件" else f"{dept.name} 文件交换",
                kind=ds.source_kind,
                department=dept.code,
            )
            graph.add_edge(d, system, "owns")
            node = f"dataset:{ds.key}"
            graph.add_node(
                node,
                label=f"{dept.name} {ds.name}",
                department=dept.code,
                name=ds.name,
                update_cycle=ds.update_cycle,
                source_kind=ds.source_kind,
                sensitivity=dept.sensitivity,
            )
            graph.add_edge(system, node, "holds")
            source = f"source.{ds.key}"
            graph.add_node(
                source,
                label=f"{dept.name} {ds.name}（源）",
                department=dept.code,
                columns_known=[c.source_name for c in ds.columns],
            )
            graph.add_edge(node, source, "registry")
            for rel in (f"landing.{ds.key}", f"lake.{ds.key}", ds.raw_table):
                graph.add_node(rel, department=dept.code)
            graph.add_edge(source, f"landing.{ds.key}", "ingest")
            graph.add_edge(f"landing.{ds.key}", f"lake.{ds.key}", "ingest")
            graph.add_edge(f"lake.{ds.key}", ds.raw_table, "ingest")


def _add_stored_lineage(graph: LineageGraph, conn: psycopg.Connection) -> None:
    for relation, fields in conn.execute("select relation, fields from platform.lineage_datasets"):
        graph.add_node(relation, columns_known=[f.get("name") for f in fields or [] if f.get("name")])
    for source, target, job in conn.execute("select source, target, job_name from platform.lineage_edges"):
        graph.add_edge(source, target, "lineage", job=job)
    for s, sc, t, tc, kind in conn.execute(
        "select source, source_column, target, target_column, transformation from platform.lineage_column_edges"
    ):
        graph.add_column_edge(s, sc, t, tc, kind or "column")


def _add_exchange(graph: LineageGraph, conn: psycopg.Connection) -> None:
    """``exchange.<resource>`` per catalog entry, from ``share.<library>`` or ``raw.<key>``, item by item."""
    rows = conn.execute(
        "select e.entry_key, e.kind, e.name, e.department, e.sharing_type, e.resource_code, "
        "coalesce(array_agg(i.item order by i.position) filter (where i.sharing_type <> '不予共享'), '{}') "
        "from platform.catalog_entries e left join platform.catalog_items i using (resource_code) "
        "group by 1, 2, 3, 4, 5, 6"
    ).fetchall()
    if not rows:  # catalog not synced yet: the registry's datasets and the two published libraries
        rows = [
            (ds.key, "dataset", ds.name, ds.department, None, None, [c.name for c in ds.columns])
            for dept in load_departments()
            for ds in dept.datasets
        ]
        rows += [
            (lib, "library", lib, "data_office", None, None, []) for lib in ("population", "legal_entities")
        ]
    for key, kind, name, department, sharing_type, code, items in rows:
        view = f"exchange.{key}"
        graph.add_node(view, label=name, resource_code=code, sharing_type=sharing_type, owner=department)
        if kind == "library":
            base, share = f"base.{key}", f"share.{key}"
            graph.add_node(share, label=f"{name}（脱敏）")
            graph.add_edge(base, share, "publish")
            graph.add_edge(share, view, "share")
            columns = items or [c[len(base) + 1 :] for c in graph._columns_of(base)]
            for item in columns:
                graph.add_column_edge(base, item, share, item, "MASKED")
                graph.add_column_edge(share, item, view, item, "IDENTITY")
        else:
            raw = f"raw.{key}"
            graph.add_edge(raw, view, "share")
            for item in items:
                graph.add_column_edge(raw, item, view, item, "MASKED")


def _add_open(graph: LineageGraph, conn: psycopg.Connection) -> None:
    from govlake.opendata.definitions import load_open_registry

    try:
        registry = load_open_registry()
    except Exception:  # a broken open-data config is reported by the open-data zone, not here
        return
    latest = {
        r[0]: r[1:]
        for r in conn.execute(
            "select distinct on (dataset) dataset, version, rows, released_at from platform.open_releases "
            "where status = 'published' order by dataset, logical_date desc, revision desc"
        )
    }
    for ds in registry.datasets:
        node = f"open.{ds.name}"
        version = latest.get(ds.name)
        graph.add_node(
            node,
            label=ds.title.get("zh", ds.name),
            organization=ds.organization,
            version=version[0] if version else None,
            rows=version[1] if version else None,
            open_type=ds.open_type,
        )
        library = f"{'base' if ds.schema in ('base', 'audit') else ds.schema}.{ds.library}"
        graph.add_edge(library, node, "open_release")
        for spec in (*ds.columns, *ds.quasi_identifiers):
            for out in spec.outputs():
                graph.add_column_edge(
                    library,
                    spec.source,
                    node,
                    out.name,
                    "AGGREGATION" if ds.kind == "aggregate" else "TRANSFORMATION",
                )
    for app_id, name, datasets in conn.execute("select id, name, datasets from platform.open_apps"):
        for d in datasets:
            graph.add_node(f"app:{app_id}", label=name)
            graph.add_edge(f"open.{d}", f"app:{app_id}", "app")


def _add_subscriptions(graph: LineageGraph) -> None:
    from govlake.sharing.subscriptions import load_subscriptions

    try:
        subs = load_subscriptions()
    except Exception:
        return
    for sub in subs:
        node = f"export:{sub.dag_id}"
        graph.add_node(
            node,
            label=f"导出 {sub.resource} → {sub.consumer}",
            items=list(sub.items),
            format=sub.format,
            consumer=sub.consumer,
            schedule=sub.schedule,
        )
        graph.add_edge(f"exchange.{sub.resource}", node, "export_subscription", items=list(sub.items))
        graph.add_edge(node, f"department:{sub.consumer}", "export_delivery")


def _add_exposures(graph: LineageGraph) -> None:
    if not MANIFEST.exists():
        return
    try:
        manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    from govlake.lineage.column_lineage import relation_of

    nodes = {**manifest.get("nodes", {}), **manifest.get("sources", {})}
    for exposure in manifest.get("exposures", {}).values():
        node = f"exposure:{exposure['name']}"
        graph.add_node(
            node,
            label=exposure.get("label") or exposure["name"],
            kind=exposure.get("type"),
            owner=(exposure.get("owner") or {}).get("name"),
        )
        for parent in exposure.get("depends_on", {}).get("nodes", []):
            if parent in nodes:
                graph.add_edge(relation_of(nodes[parent]), node, "exposure")


def add_sharing(graph: LineageGraph, conn: psycopg.Connection, *, today: dt.date | None = None) -> None:
    """Live sharing edges with their weights: grants, reads (per day), exports delivered, open usage."""
    since = (today or dt.date.today()) - dt.timedelta(days=WINDOW_DAYS)
    for grant_id, request_id, consumer, resource, items, valid_from, valid_until in conn.execute(
        "select grant_id, request_id, consumer, resource_key, items, valid_from, valid_until "
        "from platform.share_grants where revoked_at is null and now() < valid_until"
    ):
        graph.add_edge(
            f"exchange.{resource}",
            f"department:{consumer}",
            "grant",
            key=f"grant:{grant_id}",
            grant_id=grant_id,
            request_id=request_id,
            items=list(items),
            valid_from=valid_from.isoformat(),
            valid_until=valid_until.isoformat(),
            weight=0,
        )
    reads: dict[tuple[str, str], dict[str, Any]] = {}
    for department, resource, day, reads_n, rows in conn.execute(
        "select department, resource_key, accessed_at::date, count(*), coalesce(sum(row_count), 0) "
        "from platform.access_log where channel <> 'export' and accessed_at >= %s group by 1, 2, 3 order by 3",
        (since,),
    ):
        r = reads.setdefault((department, resource), {"reads": 0, "rows": 0, "days": []})
        r["reads"] += reads_n
        r["rows"] += int(rows)
        r["days"].append({"day": day.isoformat(), "reads": reads_n, "rows": int(rows)})
    for (department, resource), r in reads.items():
        graph.add_edge(
            f"exchange.{resource}",
            f"department:{department}",
            "read",
            weight=r["rows"],
            reads=r["reads"],
            days=r["days"],
        )
    for sub, consumer, resource, runs, rows in conn.execute(
        "select subscription, consumer, resource_key, count(*), sum(row_count) from platform.export_runs "
        "where logical_date >= %s group by 1, 2, 3",
        (since,),
    ):
        node = f"export:{sub}"
        graph.add_node(node, label=f"导出 {resource} → {consumer}", consumer=consumer)
        graph.add_edge(f"exchange.{resource}", node, "export_run", weight=int(rows or 0), runs=runs)
        graph.add_edge(
            node,
            f"department:{consumer}",
            "export_delivered",
            weight=int(rows or 0),
            runs=runs,
        )
    for dataset, kind, events in conn.execute(
        "select dataset, kind, sum(events)::bigint from platform.open_usage_daily where day >= %s and dataset is not null "
        "group by 1, 2",
        (since,),
    ):
        graph.add_node("public", label="社会公众")
        graph.add_edge(f"open.{dataset}", "public", f"open_{kind}", weight=int(events))


def manifest_path() -> Path:
    return MANIFEST
