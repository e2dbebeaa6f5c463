"""Lineage graph benchmark (issue 16): a generated graph of 10,000 column nodes and 50,000 column edges.

Ten layers of relations (500 relations x 20 columns); every column is made from 5 columns of the layer
before. Measures the platform's own code (govlake.lineage.graph / queries):

* cold load: the rows go into platform.lineage_* inside a transaction that is rolled back, and
  ``load_graph`` reads them (what the first query after a build pays);
* a two-hop query (a relation's neighbourhood 2 up and 2 down; a column walked 2 hops up), warm;
* a full upstream trace of one column of the last layer, warm.

    .venv/bin/python bench/lineage_bench.py            # needs a running stack (govlake stack up)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
import uuid

from govlake.lineage import graph as graph_module
from govlake.lineage.graph import load_graph
from govlake.lineage.queries import UP, neighbourhood, trace
from govlake.warehouse import connect, ensure_platform_schema

LAYERS = 10


def generate(relations: int, columns: int, parents: int, seed: int = 7):
    rng = random.Random(seed)
    per_layer = relations // LAYERS
    names = [[f"bench_l{layer}.r{i}" for i in range(per_layer)] for layer in range(LAYERS)]
    col_edges: dict[tuple[str, str, str, str], None] = {}
    for layer in range(LAYERS):
        for rel in names[layer]:
            for c in range(columns):
                picked: set[tuple[str, str]] = set()
                while len(picked) < parents:
                    src = rng.choice(names[layer - 1]) if layer else f"bench_src.s{rng.randrange(per_layer)}"
                    picked.add((src, f"c{rng.randrange(columns)}"))
                for src, sc in picked:
                    col_edges[(src, sc, rel, f"c{c}")] = None
    edges = sorted({(s, t) for s, _sc, t, _tc in col_edges})
    return names, edges, list(col_edges)


def timed(fn, repeat: int) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds per call (CPU time shows the cost when other processes share the cores)."""
    wall, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description="Lineage graph benchmark")
    parser.add_argument("--relations", type=int, default=500)
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--parents", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    names, edges, col_edges = generate(args.relations, args.columns, args.parents)
    run = str(uuid.uuid4())
    with connect() as conn:
        ensure_platform_schema(conn)
        with conn.transaction(force_rollback=True):
            started = time.perf_counter()
            with conn.cursor() as cur:
                with cur.copy(
                    "copy platform.lineage_edges (job_namespace, job_name, source, target, first_run_id, "
                    "last_run_id) from stdin"
                ) as copy:
                    for s, t in edges:
                        copy.write_row(("bench", "bench", s, t, run, run))
                with cur.copy(
                    "copy platform.lineage_column_edges (source, source_column, target, target_column, job_name, "
                    "last_run_id) from stdin"
                ) as copy:
                    for s, sc, t, tc in col_edges:
                        copy.write_row((s, sc, t, tc, "bench", run))
            insert_s = time.perf_counter() - started
            graph_module._cache.clear()
            started = time.perf_counter()
            graph = load_graph(conn)
            cold_s = time.perf_counter() - started
    graph_module._cache.clear()  # the rolled-back rows must not stay in the process cache
    bench_columns = [c for c in graph.columns if c.startswith("bench_l")]
    bench_edges = sum(
        1 for s, _t, d in graph.g.edges(data=True) if d.get("level") == "column" and s.startswith("bench_")
    )
    relation, column = names[5][3], f"{names[-1][0]}.c0"
    two_hop_rel = timed(lambda: neighbourhood(graph, relation, 2, 2), args.repeat)
    two_hop_col = timed(lambda: trace(graph, column, UP, 2), args.repeat)
    full = timed(lambda: trace(graph, column, UP), args.repeat)
    reached = len(trace(graph, column, UP)["nodes"])
    print(
        f"graph: {len(bench_columns):,} generated column nodes, {bench_edges:,} generated column edges, "
        f"{len(edges):,} relation edges; {graph.g.number_of_nodes():,} nodes in all with the platform's own"
    )
    print(f"insert (COPY, rolled back): {insert_s:.2f} s; cold load_graph: {cold_s:.2f} s")
    for label, xs in (
        ("two-hop, relation neighbourhood (2 up, 2 down)", two_hop_rel),
        ("two-hop, column upstream", two_hop_col),
        (f"full upstream trace of one column ({reached:,} nodes reached)", full),
    ):
        wall, cpu = xs
        print(
            f"{label}: median {statistics.median(wall):.1f} ms wall ({statistics.median(cpu):.1f} ms CPU), "
            f"max {max(wall):.1f} ms"
        )
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
