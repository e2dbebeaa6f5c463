"""Column lineage of every dbt model, from the manifest and the compiled SQL (sqlglot).

Why sqlglot and not openlineage-sql: the models select ``ranked.*`` from the ``newest_version`` macro's
window subquery, union department rows through ``cross join lateral (values ...)`` and read ``{{ this }}``
in incremental runs. Expanding those stars needs each parent's columns, which no catalog holds before the
first build. So the columns are inferred here in dependency order: raw sources from the registry (the
platform names plus the lineage columns every raw row carries), seeds from their CSV header, platform
sources from the manifest's declared columns or the warehouse catalog, and each model's own columns from
its qualified SELECT — a model added to dbt is picked up with no code change. sqlglot's ``lineage`` then
walks each output column through CTEs, subqueries and unions to the parent columns; a lateral ``VALUES``
list is resolved by position (sqlglot links each of its columns to every column the rows mention). A model's reference to itself (an
incremental model reading ``{{ this }}``) is not lineage and is dropped.

Relations are named by layer: ``raw.<dataset key>``, ``staging.<model>``, ``intermediate.<model>``,
``base.<model>``, ``themes.<model>``, ``reference.<seed>``, ``platform.<table>`` (libraries are built into
``audit`` and published into ``base``; the name is the one people query).
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.lineage import Node, lineage
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import build_scope

from govlake.registry import LINEAGE_COLUMNS, Dataset

log = logging.getLogger(__name__)

DIALECT = "postgres"
LAYER_FOLDERS = ("staging", "intermediate", "base", "themes")


@dataclass(frozen=True)
class ModelLineage:
    """One dbt node (model, seed or source) as a relation, with where each of its columns comes from."""

    unique_id: str
    relation: str  # layer name, e.g. base.population
    physical: str  # where dbt builds it, e.g. audit.population
    resource_type: str  # model | seed | source
    materialized: str | None
    columns: tuple[str, ...]
    inputs: tuple[str, ...]  # parent relations (layer names)
    # output column -> ((input relation, input column), ...)
    column_sources: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    description: str = ""
    sql: str | None = None
    original_file: str | None = None
    error: str | None = None  # why column lineage could not be derived (the relation lineage still holds)


def _layer(node: dict) -> str:
    """staging / intermediate / base / themes by the model's folder; its schema otherwise."""
    path = Path(node.get("original_file_path") or node.get("path") or "")
    parts = path.parts
    if parts and parts[0] == "models" and len(parts) > 1 and parts[1] in LAYER_FOLDERS:
        return parts[1]
    return node.get("schema") or "public"


def relation_of(node: dict) -> str:
    kind = node["resource_type"]
    if kind == "source":
        return f"{node['schema']}.{node['identifier'] or node['name']}"
    if kind == "seed":
        return f"reference.{node['alias'] or node['name']}"
    return f"{_layer(node)}.{node['alias'] or node['name']}"


def _physical_key(relation_name: str | None) -> tuple[str, str] | None:
    """``"govlake"."audit"."population"`` -> (audit, population)."""
    if not relation_name:
        return None
    try:
        table = exp.to_table(relation_name, dialect=DIALECT)
    except SqlglotError:
        return None
    return (table.db, table.name)


def _seed_columns(project_dir: Path, node: dict) -> list[str]:
    path = project_dir / node.get("original_file_path", "")
    if not path.is_file():
        return list(node.get("columns") or {})
    with path.open(encoding="utf-8-sig", newline="") as f:
        return next(csv.reader(f), [])


def _source_columns(
    node: dict, registry: dict[str, Dataset], catalog: dict[tuple[str, str], list[str]]
) -> list[str]:
    schema, table = node["schema"], node["identifier"] or node["name"]
    if schema == "raw" and table in registry:
        return [c.name for c in registry[table].columns] + [name for name, _ in LINEAGE_COLUMNS]
    if (schema, table) in catalog:
        return catalog[(schema, table)]
    return list(node.get("columns") or {})


def _toposort(nodes: dict[str, dict]) -> list[str]:
    order, seen = [], set()

    def visit(uid: str, stack: tuple[str, ...] = ()) -> None:
        if uid in seen or uid not in nodes or uid in stack:
            return
        for parent in nodes[uid].get("depends_on", {}).get("nodes", []):
            visit(parent, (*stack, uid))
        seen.add(uid)
        order.append(uid)

    for uid in sorted(nodes):
        visit(uid)
    return order


def _leaf_sources(root: Node) -> set[tuple[tuple[str, str], str]]:
    """The (physical table, column) pairs at the leaves of a sqlglot lineage tree.

    sqlglot links a column of ``lateral (values ...) as t(a, b)`` to every column any row mentions; only
    the cells at the column's own position feed it, so the walk keeps just those.
    """
    found: set[tuple[tuple[str, str], str]] = set()
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if not node.downstream:
            if isinstance(node.source, exp.Table):
                found.add(((node.source.db, node.source.name), node.name.rsplit(".", 1)[-1]))
            continue
        children = node.downstream
        if isinstance(node.source, exp.Lateral):
            allowed = _lateral_cells(node.source, node.name.rsplit(".", 1)[-1])
            if allowed is not None:
                children = [c for c in children if c.name in allowed]
        stack.extend(children)
    return found


def _lateral_cells(lateral: exp.Lateral, column: str) -> set[str] | None:
    """``table.column`` of every column reference in the VALUES cells at ``column``'s position."""
    values = lateral.find(exp.Values)
    alias = lateral.args.get("alias") or (values.args.get("alias") if values else None)
    if values is None or alias is None or not alias.columns:
        return None
    names = [c.name for c in alias.columns]
    if column not in names:
        return None
    position = names.index(column)
    refs: set[str] = set()
    for row in values.expressions:
        cells = row.expressions if isinstance(row, exp.Tuple) else [row]
        if position < len(cells):
            refs |= {
                f"{c.table}.{c.name}" if c.table else c.name for c in cells[position].find_all(exp.Column)
            }
    return refs


def _column_sources(
    column: str, qualified: exp.Expression, scope, schema: dict
) -> set[tuple[tuple[str, str], str]]:
    root = lineage(column, qualified, schema=schema, dialect=DIALECT, scope=scope, copy=False)
    return _leaf_sources(root)


# A model's derived columns and sources: (columns, {column: [[schema, table, column], ...]}), JSON-ready.
Derived = tuple[list[str], dict[str, list[list[str]]]]


class DerivationMemo:
    """What sqlglot derived for each model, keyed by a hash of its compiled SQL and of every column known
    upstream of it: the same model over the same parents is derived once, not on every build (deriving is
    most of a collection's time, and a day's build rarely changes a model's SQL).

    ``used`` holds the entries this derivation read or made, so saving it keeps no stale ones.
    """

    def __init__(self, entries: dict[str, Derived] | None = None) -> None:
        self.entries = entries or {}
        self.used: dict[str, Derived] = {}
        self.hits = 0

    @staticmethod
    def key(code: str, schema: dict, own: tuple[str, str] | None) -> str:
        text = json.dumps([code, schema, own], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()

    def get(self, key: str) -> Derived | None:
        found = self.entries.get(key)
        if found is not None:
            self.hits += 1
            self.used[key] = found
        return found

    def put(self, key: str, derived: Derived) -> None:
        self.used[key] = derived

    @classmethod
    def load(cls, path: Path) -> DerivationMemo:
        try:
            return cls(json.loads(path.read_text(encoding="utf-8")))
        except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
            return cls()

    def save(self, path: Path) -> None:
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(self.used, ensure_ascii=False), encoding="utf-8")
        partial.replace(path)


def _derived(code: str, schema: dict, own: tuple[str, str] | None, memo: DerivationMemo | None) -> Derived:
    key = DerivationMemo.key(code, schema, own) if memo is not None else ""
    found = memo.get(key) if memo is not None else None
    if found is not None:
        return found
    columns, sources = _model_columns(code, schema, own)
    derived = (columns, {c: sorted([t[0], t[1], col] for t, col in srcs) for c, srcs in sources.items()})
    if memo is not None:
        memo.put(key, derived)
    return derived


def derive(
    manifest: dict,
    registry: Iterable[Dataset] = (),
    project_dir: Path | None = None,
    catalog: dict[tuple[str, str], list[str]] | None = None,
    memo: DerivationMemo | None = None,
) -> dict[str, ModelLineage]:
    """Every model, seed and source of the manifest as a :class:`ModelLineage`, keyed by relation name.

    ``memo`` reuses what an earlier derivation found for a model with the same SQL and parents.
    """
    registry_by_key = {d.key: d for d in registry}
    catalog = catalog or {}
    nodes = {
        uid: n
        for uid, n in {**manifest.get("nodes", {}), **manifest.get("sources", {})}.items()
        if n["resource_type"] in ("model", "seed", "source", "snapshot")
    }
    by_physical: dict[tuple[str, str], str] = {}
    for uid, n in nodes.items():
        key = _physical_key(n.get("relation_name"))
        if key:
            by_physical[key] = uid
    schema: dict[str, dict[str, dict[str, str]]] = {}
    result: dict[str, ModelLineage] = {}

    def remember(uid: str, columns: list[str]) -> None:
        key = _physical_key(nodes[uid].get("relation_name"))
        if key:
            schema.setdefault(key[0], {})[key[1]] = {c: "text" for c in columns}

    for uid in _toposort(nodes):
        node = nodes[uid]
        kind = node["resource_type"]
        relation = relation_of(node)
        physical = ".".join(_physical_key(node.get("relation_name")) or ("", relation))
        parents = [p for p in node.get("depends_on", {}).get("nodes", []) if p in nodes]
        inputs = tuple(dict.fromkeys(relation_of(nodes[p]) for p in parents))
        common = {
            "unique_id": uid,
            "relation": relation,
            "physical": physical,
            "resource_type": kind,
            "materialized": (node.get("config") or {}).get("materialized"),
            "description": node.get("description") or "",
            "original_file": node.get("original_file_path"),
        }
        if kind == "source":
            columns = _source_columns(node, registry_by_key, catalog)
            remember(uid, columns)
            result[relation] = ModelLineage(**common, columns=tuple(columns), inputs=())
            continue
        if kind == "seed":
            columns = _seed_columns(project_dir or Path("."), node)
            remember(uid, columns)
            result[relation] = ModelLineage(**common, columns=tuple(columns), inputs=())
            continue
        code = node.get("compiled_code")
        if not code:
            result[relation] = ModelLineage(
                **common, columns=tuple(node.get("columns") or {}), inputs=inputs, error="not compiled"
            )
            continue
        own = _physical_key(node.get("relation_name"))
        try:
            columns, sources = _derived(code, schema, own, memo)
        except (SqlglotError, ValueError, KeyError, RecursionError) as exc:
            log.warning("column lineage of %s not derived: %s", relation, exc)
            columns = list(node.get("columns") or {})
            remember(uid, columns)
            result[relation] = ModelLineage(
                **common,
                columns=tuple(columns),
                inputs=inputs,
                sql=code,
                error=f"{type(exc).__name__}: {exc}",
            )
            continue
        remember(uid, columns)
        column_sources = {
            col: tuple(
                sorted(
                    (relation_of(nodes[by_physical[table]]), src_col)
                    for *parts, src_col in srcs
                    if (table := tuple(parts)) in by_physical and table != own
                )
            )
            for col, srcs in sources.items()
        }
        result[relation] = ModelLineage(
            **common, columns=tuple(columns), inputs=inputs, column_sources=column_sources, sql=code
        )
    return result


def _model_columns(
    code: str, schema: dict, own: tuple[str, str] | None
) -> tuple[list[str], dict[str, set[tuple[tuple[str, str], str]]]]:
    expression = sqlglot.parse_one(code, dialect=DIALECT)
    if not isinstance(expression, exp.Query):
        raise ValueError(f"not a query: {type(expression).__name__}")
    # a table the schema does not know yet (an incremental model's own earlier version): no star to expand
    qualified = qualify(
        expression,
        schema=schema,
        dialect=DIALECT,
        validate_qualify_columns=False,
        identify=False,
        quote_identifiers=False,
    )
    scope = build_scope(qualified)
    if scope is None:
        raise ValueError("no scope")
    columns = list(dict.fromkeys(qualified.named_selects))
    sources = {}
    for col in columns:
        try:
            sources[col] = _column_sources(col, qualified, scope, schema)
        except (SqlglotError, ValueError, KeyError) as exc:
            log.debug("column %s: %s", col, exc)
            sources[col] = set()
    return columns, sources


def load_manifest(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
