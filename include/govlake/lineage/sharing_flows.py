"""The 共享图谱: which department provides data to which, weighted by the last 30 days' volume.

A flow runs from each department upstream of a shared resource (its exchange view or open release)
to the consumer: a department holding a grant on it, reading it (rows read per day from the access
log) or receiving its exports (rows delivered), and the public for open downloads and API calls.
"""

from __future__ import annotations

from typing import Any

from govlake.lineage.graph import LineageGraph
from govlake.lineage.queries import UP, walk

CONSUMER_KINDS = ("grant", "read", "export_run", "export_subscription", "open_download", "open_api")


def _departments_up(graph: LineageGraph, start: str) -> set[str]:
    return {h.node for h in walk(graph, start, UP) if graph.g.nodes[h.node].get("type") == "department"}


def _providers(graph: LineageGraph, node: str, cache: dict[str, list[str]]) -> list[str]:
    """The departments whose data the resource ``node`` carries.

    Through its columns where the graph has them: a department provides what its columns flow into
    (人口基础库's come from 公安厅, 人社厅, 民政厅, 卫健委 and 财政厅), not every department whose delivery the
    build's bookkeeping (the quarantine, the accepted batches) touched on the way. A node without column
    lineage (an open release) falls back to the departments upstream of it."""
    if node not in cache:
        own = graph.by_relation.get(node, ())
        found = sorted(set().union(*(_departments_up(graph, c) for c in own))) if own else []
        if not found:
            found = sorted(_departments_up(graph, node))
        owner = graph.g.nodes[node].get("owner") or graph.g.nodes[node].get("organization")
        if not found and owner:  # no department upstream in the registry: the catalog entry's owner
            found = [f"department:{owner}"]
            if found[0] not in graph.g:
                graph.add_node(found[0], label=owner, code=owner)
        cache[node] = found
    return cache[node]


def _consumer(graph: LineageGraph, target: str) -> str | None:
    """The consuming department (or the public) behind an edge's target."""
    ttype = graph.g.nodes[target].get("type")
    if ttype in ("department", "public"):
        return target
    if ttype == "export":
        consumer = graph.g.nodes[target].get("consumer")
        return f"department:{consumer}" if consumer else None
    return None


def sharing_flows(
    graph: LineageGraph,
    *,
    department: str | None = None,
    sensitivity: str | None = None,
    sharing_type: str | None = None,
) -> dict[str, Any]:
    cache: dict[str, list[str]] = {}
    flows: dict[tuple[str, str], dict[str, Any]] = {}
    for source, target, data in list(graph.g.edges(data=True)):  # providers may add an owner node
        kind = data.get("kind")
        if kind not in CONSUMER_KINDS:
            continue
        consumer = _consumer(graph, target)
        if consumer is None:
            continue
        resource = source
        rtype = graph.g.nodes[resource].get("sharing_type")
        if sharing_type and sharing_type not in (rtype, kind, kind.split("_")[0]):
            continue
        for provider in _providers(graph, resource, cache):
            if provider == consumer:
                continue
            pdata = graph.g.nodes[provider]
            if sensitivity and pdata.get("sensitivity") != sensitivity:
                continue
            flow = flows.setdefault(
                (provider, consumer),
                {
                    "source": provider,
                    "target": consumer,
                    "rows": 0,
                    "reads": 0,
                    "grants": [],
                    "kinds": set(),
                    "resources": set(),
                },
            )
            flow["kinds"].add(kind)
            flow["resources"].add(resource)
            if kind == "grant":
                flow["grants"].append(
                    {
                        "grant_id": data.get("grant_id"),
                        "resource": resource,
                        "items": data.get("items"),
                        "valid_until": data.get("valid_until"),
                    }
                )
            elif kind != "export_subscription":
                flow["rows"] += int(data.get("weight") or 0)
                flow["reads"] += int(data.get("reads") or 0)
    if department:
        dnode = department if department.startswith("department:") else f"department:{department}"
        flows = {k: v for k, v in flows.items() if dnode in k}
    out = []
    for flow in flows.values():
        flow["kinds"] = sorted(flow["kinds"])
        flow["resources"] = sorted(flow["resources"])
        out.append(flow)
    out.sort(key=lambda f: (-f["rows"], f["source"], f["target"]))
    nodes = sorted({f["source"] for f in out} | {f["target"] for f in out})
    result: dict[str, Any] = {
        "window_days": 30,
        "nodes": [
            {
                "id": n,
                "label": graph.g.nodes[n].get("label", n),
                "sensitivity": graph.g.nodes[n].get("sensitivity"),
            }
            for n in nodes
        ],
        "flows": out,
    }
    if department:
        dnode = department if department.startswith("department:") else f"department:{department}"
        result["provides"] = [f for f in out if f["source"] == dnode]
        result["uses"] = [f for f in out if f["target"] == dnode]
    return result
