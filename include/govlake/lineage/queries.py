"""Walking the lineage graph: upstream, downstream (with depth), impact analysis, a resource's neighbourhood.

A walk from a column follows column edges (``base.population.gender`` ← ``intermediate.…gender`` ←
``staging.…gender`` ← ``raw.…gender`` ← ``source.<key>.性别``); where a column has no further column edge
it steps onto its relation's edges to the nodes that are not tables (the registry dataset, the
department's system and the department upstream; grants, reads, exports, apps and consumer departments
downstream). A walk from a relation or another node follows relation-level edges.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from govlake.lineage.graph import TABLE_TYPES, LineageGraph, node_type

UP, DOWN = "upstream", "downstream"


@dataclass(frozen=True)
class Hop:
    node: str
    depth: int
    via: str  # the node it was reached from
    kind: str  # the edge kind


def _neighbours(graph: LineageGraph, node: str, direction: str):
    adjacency = graph.g._pred[node] if direction == UP else graph.g._succ[node]  # noqa: SLF001 - hot path
    for other, keyed in adjacency.items():
        for data in keyed.values():
            yield other, data


# The platform's bookkeeping that every dataset's build passes through (the quarantine, the accepted
# batches, their staging models): a walk may reach one, but not go on through it, or every department
# would seem to feed every library (and a late delivery of 农业农村厅 to affect 人口基础库's consumers).
BOOKKEEPING = ("platform.", "staging.stg_platform__")


def is_bookkeeping(node: str) -> bool:
    return node.startswith(BOOKKEEPING)


def walk(graph: LineageGraph, start: str, direction: str, depth: int | None = None) -> list[Hop]:
    """Breadth-first from ``start``; ``depth`` None means to the end. Bookkeeping relations
    (:data:`BOOKKEEPING`) end a path unless the walk starts at one."""
    attrs = graph.g._node  # noqa: SLF001 - hot path: the node attribute dicts
    is_column = attrs[start].get("type") == "column"
    through_bookkeeping = is_bookkeeping(start)
    seen = {start}
    out: list[Hop] = []
    queue: deque[tuple[str, int]] = deque([(start, 0)])
    while queue:
        node, d = queue.popleft()
        if depth is not None and d >= depth:
            continue
        ntype = attrs[node].get("type")
        steps = []
        if ntype == "column":
            steps = [
                (n, data) for n, data in _neighbours(graph, node, direction) if data.get("level") == "column"
            ]
            if not steps:  # end of the column path: onto the relation's non-table neighbours
                relation = graph.columns.get(node)
                if relation:
                    steps = [
                        (n, data)
                        for n, data in _neighbours(graph, relation, direction)
                        if node_type(n) not in TABLE_TYPES
                    ]
        else:
            steps = [
                (n, data) for n, data in _neighbours(graph, node, direction) if data.get("level") != "column"
            ]
            if is_column:  # a column walk that left the tables stays off them
                steps = [(n, data) for n, data in steps if node_type(n) not in TABLE_TYPES]
        for n, data in steps:
            if n in seen:
                continue
            seen.add(n)
            out.append(Hop(n, d + 1, node, data.get("kind", "")))
            if through_bookkeeping or not is_bookkeeping(n):
                queue.append((n, d + 1))
    return out


def trace(graph: LineageGraph, name: str, direction: str, depth: int | None = None) -> dict[str, Any]:
    start = graph.resolve(name)
    hops = walk(graph, start, direction, depth)
    return {
        "node": start,
        "direction": direction,
        "depth": depth,
        "nodes": [
            {"id": h.node, "depth": h.depth, "via": h.via, "edge": h.kind, **_brief(graph, h.node)}
            for h in hops
        ],
    }


def _brief(graph: LineageGraph, node: str) -> dict[str, Any]:
    data = graph.g._node[node]  # noqa: SLF001
    brief = {"type": data.get("type"), "label": data.get("label", node)}
    if data.get("type") == "department":
        brief["name"] = data.get("name")
    return brief


IMPACT_GROUPS = {
    "libraries": ("base", "themes"),
    "exchange_views": ("exchange",),
    "exports": ("export",),
    "open_releases": ("open",),
    "apps": ("app",),
    "consumer_departments": ("department",),
    "cockpit_and_exposures": ("exposure",),
}


def impact(graph: LineageGraph, name: str) -> dict[str, Any]:
    """What depends on ``name`` (a dataset, relation, department or column): if it is late or wrong today,
    these are affected, grouped as people ask."""
    start = graph.resolve(name)
    hops = walk(graph, start, DOWN)
    reached = {h.node for h in hops}
    # a column reaches relations through its columns: count the relations too
    relations = {graph.columns[n] for n in reached if n in graph.columns}
    nodes = reached | relations
    groups: dict[str, list[dict[str, Any]]] = {}
    for group, types in IMPACT_GROUPS.items():
        groups[group] = sorted(
            ({"id": n, **_brief(graph, n)} for n in nodes if graph.g.nodes[n].get("type") in types),
            key=lambda x: x["id"],
        )
    # consumers by grant/read/export: which edge made them consumers
    for item in groups["consumer_departments"]:
        kinds = {data.get("kind") for _s, _t, data in graph.g.in_edges(item["id"], data=True) if _s in nodes}
        item["through"] = sorted(k for k in kinds if k)
    return {"node": start, "affected": groups, "count": sum(len(v) for v in groups.values())}


def neighbourhood(graph: LineageGraph, name: str, up: int = 1, down: int = 1) -> dict[str, Any]:
    """Nodes and relation-level edges within ``up`` hops upstream and ``down`` downstream (a graph view)."""
    start = graph.resolve(name)
    nodes = (
        {start}
        | {h.node for h in walk(graph, start, UP, up)}
        | {h.node for h in walk(graph, start, DOWN, down)}
    )
    return subgraph(graph, nodes, focus=start)


def subgraph(graph: LineageGraph, nodes: set[str], focus: str | None = None) -> dict[str, Any]:
    g = graph.g
    edges = []
    for s in nodes:
        for t, keyed in g._succ[s].items():  # noqa: SLF001 - only the edges among these nodes
            if t not in nodes:
                continue
            for key, data in keyed.items():
                edges.append(
                    {
                        "source": s,
                        "target": t,
                        "kind": data.get("kind", key),
                        "level": data.get("level"),
                        "weight": data.get("weight"),
                        "items": data.get("items"),
                    }
                )
    return {
        "focus": focus,
        "nodes": [
            {
                "id": n,
                **{k: v for k, v in g.nodes[n].items() if k != "columns_known"},
                "has_columns": bool(graph._columns_of(n)) if g.nodes[n].get("type") != "column" else False,
            }
            for n in sorted(nodes)
        ],
        "edges": edges,
    }


def column_path(graph: LineageGraph, column: str) -> dict[str, Any]:
    """Every column upstream and downstream of one column, and the column edges between them."""
    start = graph.resolve(column)
    if graph.g.nodes[start].get("type") != "column":
        raise KeyError(f"{column!r} is not a column (name one as <relation>.<column>)")
    nodes = {start} | {h.node for h in walk(graph, start, UP)} | {h.node for h in walk(graph, start, DOWN)}
    return subgraph(graph, nodes, focus=start)


def relation_columns(graph: LineageGraph, relation: str) -> list[str]:
    rel = graph.resolve(relation)
    return sorted(c[len(rel) + 1 :] for c in graph._columns_of(rel))


def affected_consumers(dataset_key: str) -> list[str]:
    """For an alert about a dataset's ingest: the consumer departments, exports, open releases and
    cockpit numbers downstream, as short labels (empty when the graph cannot be read)."""
    from govlake.lineage.graph import load_graph
    from govlake.warehouse import connect

    with connect(autocommit=True, connect_timeout=3) as conn:
        result = impact(load_graph(conn), f"dataset:{dataset_key}")
    groups = result["affected"]
    labels = [f"{a.get('name') or a['label']}" for a in groups["consumer_departments"]]
    labels += [a["id"] for key in ("exports", "open_releases", "cockpit_and_exposures") for a in groups[key]]
    return labels
