"""The tree tells the architecture, and these rules keep it so (docs/ARCHITECTURE.md).

Every ``import`` of ``govlake`` code is read from the source (module level and inside functions alike):
* the platform never imports the synthetic province (``demo_province``) — it plugs in through entry points;
* no two packages import each other, and there is no import loop between packages;
* data flows down the floors: ground → stages → zones → orchestration → interfaces; a package imports
  only its own floor's other packages (without a loop) or lower floors;
* no two modules share a basename: a name says what it holds without its folder.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "include" / "govlake"

FLOORS: dict[str, int] = {
    # ground: settings, the registry, clients, policies, the quarantine ledger, alerts
    **dict.fromkeys(
        [
            "settings",
            "registry",
            "terminal",
            "connections",
            "alerts",
            "policy",
            "ledger",
            "warehouse",
            "lake",
            "search",
            "accounts",
        ],
        0,
    ),
    # the stages of the daily cycle
    **dict.fromkeys(["ingest", "quality", "transform", "publish"], 1),
    # the zones the stages feed
    **dict.fromkeys(["catalog", "sharing", "exports", "opendata", "scorecards", "lineage", "cockpit"], 2),
    # what runs inside Airflow
    "orchestration": 3,
    # the interfaces: command line, web service, the operator tools that drive Airflow, the local stack
    **dict.fromkeys(["cli", "web", "cycle", "stack"], 4),
}


def _package_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _module_name(path: Path) -> list[str]:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


@cache
def _imports(path: Path) -> list[str]:
    """Absolute names of every module imported by ``path`` (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _module_name(path)
                if path.name != "__init__.py":
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                names.append(".".join([*base, *([node.module] if node.module else [])]))
            elif node.module:
                names.append(node.module)
    return names


@cache
def _graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        source = _package_of(path)
        for name in _imports(path):
            if name.startswith("govlake."):
                target = name.split(".")[1]
                if target != source:
                    edges[source].add(target)
    return edges


def test_the_platform_never_imports_the_synthetic_province() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)} imports {name}"
        for path in PACKAGE.rglob("*.py")
        for name in _imports(path)
        if name == "demo_province" or name.startswith("demo_province.")
    ]
    assert not offenders, offenders


def test_no_two_packages_import_each_other() -> None:
    edges = _graph()
    pairs = sorted({tuple(sorted((a, b))) for a in edges for b in edges[a] if a in edges.get(b, set())})
    assert not pairs, pairs


def test_no_import_loop_between_packages() -> None:
    edges = _graph()
    state: dict[str, int] = {}
    loops: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                loops.append([*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    assert not loops, loops


def test_every_package_has_a_floor() -> None:
    packages = {_package_of(p) for p in PACKAGE.rglob("*.py")} - {"__init__"}
    assert packages <= set(FLOORS), (
        f"put these on a floor in FLOORS and docs/ARCHITECTURE.md: {packages - set(FLOORS)}"
    )


@pytest.mark.parametrize("package", sorted(FLOORS))
def test_imports_never_reach_a_higher_floor(package: str) -> None:
    upward = sorted(t for t in _graph().get(package, ()) if FLOORS.get(t, -1) > FLOORS[package])
    assert not upward, f"{package} (floor {FLOORS[package]}) imports {upward} from higher floors"


def test_module_names_say_what_they_hold_without_their_folder() -> None:
    by_name: dict[str, list[str]] = defaultdict(list)
    for path in PACKAGE.rglob("*.py"):
        if path.name != "__init__.py":
            by_name[path.name].append(str(path.relative_to(PACKAGE)))
    repeated = {name: where for name, where in by_name.items() if len(where) > 1}
    assert not repeated, repeated
