"""Open datasets as data: ``config/open_datasets.yaml`` parsed and checked against the registry and catalog.

The check happens before anything is built, so a definition that would publish a direct identifier, an
item graded above what its open type allows, or records of a resource the catalog does not open fails
with the file, dataset and column named — not after a day's release.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from govlake.catalog.model import OPEN_TYPES
from govlake.opendata.rules import OpenDataConfigError, OutColumn, Rule, output_columns, parse_rule

OPEN_DATASETS_FILE = Path(__file__).resolve().parents[1] / "config" / "open_datasets.yaml"
KINDS = ("aggregate", "deidentified_records")
# GB/T 43697 grades, least sensitive first; what each open type may publish.
GRADE_ORDER = ("一般", "重要", "核心")
ALLOWED_GRADES = {"无条件开放": ("一般",), "有条件开放": ("一般", "重要"), "不予开放": ()}
TYPES = ("string", "integer", "number", "boolean")


@dataclass(frozen=True)
class ColumnSpec:
    """One configured column (dimension, kept column or quasi-identifier) and its generalisation levels."""

    name: str
    source: str
    levels: tuple[Rule, ...]  # one for plain columns; finest first for quasi-identifiers
    label: dict[str, str]
    unit: dict[str, str] | None = None
    values: tuple[Any, ...] | None = None
    type: str = "string"
    grade: str = "一般"  # grade of the generalised value

    def outputs(self, level: int = 0) -> list[OutColumn]:
        return output_columns(self.name, self.levels[level], self.label, self.unit, self.type)


@dataclass(frozen=True)
class OpenDataset:
    name: str
    title: dict[str, str]
    description: dict[str, str]
    kind: str
    library: str
    schema: str
    where: str | None
    organization: str
    groups: tuple[str, ...]
    tags: tuple[str, ...]
    open_type: str
    update_cycle: str
    k: int | None
    columns: tuple[ColumnSpec, ...]
    quasi_identifiers: tuple[ColumnSpec, ...] = ()
    measure: dict[str, Any] = field(default_factory=dict)
    grid: bool = False
    max_suppressed_share: float = 0.05
    catalog_entry: str | None = None
    license: dict[str, str] = field(default_factory=dict)
    publisher: dict[str, str] = field(default_factory=dict)
    spatial: dict[str, str] = field(default_factory=dict)
    source_file: str = ""

    def k_for(self, default: int) -> int:
        return self.k or default

    def dictionary(self, levels: dict[str, int] | None = None) -> list[OutColumn]:
        """Published columns in file order: dimensions/kept columns, quasi-identifiers, then the measure."""
        levels = levels or {}
        cols = [c for spec in self.columns for c in spec.outputs()]
        cols += [c for spec in self.quasi_identifiers for c in spec.outputs(levels.get(spec.name, 0))]
        if self.kind == "aggregate":
            m = self.measure
            unit = m.get("unit") or {}
            label = m.get("label") or {}
            cols.append(
                OutColumn(
                    m["name"],
                    "integer",
                    label.get("zh", m["name"]),
                    label.get("en", m["name"]),
                    unit.get("zh"),
                    unit.get("en"),
                )
            )
            cols.append(OutColumn("suppressed", "boolean", "是否抑制", "Suppressed (count below k)"))
        return cols


@dataclass(frozen=True)
class OpenRegistry:
    datasets: tuple[OpenDataset, ...]
    groups: dict[str, dict[str, str]]
    path: Path

    def get(self, name: str) -> OpenDataset:
        for ds in self.datasets:
            if ds.name == name:
                return ds
        raise OpenDataConfigError(
            f"{self.path}: no open dataset {name!r}; defined: {', '.join(d.name for d in self.datasets)}"
        )


def _column(raw: dict, where: str, qi: bool) -> ColumnSpec:
    if not isinstance(raw, dict) or not raw.get("name") or not raw.get("from"):
        raise OpenDataConfigError(f"{where}: every column needs name and from")
    where = f"{where}({raw['name']})"
    if qi and raw.get("levels"):
        levels = tuple(parse_rule(r, f"{where}.levels[{i}]") for i, r in enumerate(raw["levels"]))
    else:
        levels = (parse_rule(raw.get("rule"), f"{where}.rule"),)
    type_ = raw.get("type", "string")
    if type_ not in TYPES:
        raise OpenDataConfigError(f"{where}.type must be one of {', '.join(TYPES)}")
    grade = raw.get("grade", "一般")
    if grade not in GRADE_ORDER:
        raise OpenDataConfigError(f"{where}.grade must be one of {', '.join(GRADE_ORDER)}")
    return ColumnSpec(
        name=raw["name"],
        source=raw["from"],
        levels=levels,
        label=raw.get("label") or {},
        unit=raw.get("unit"),
        values=tuple(raw["values"]) if raw.get("values") else None,
        type=type_,
        grade=grade,
    )


def _dataset(raw: dict, index: int, defaults: dict, groups: dict, path: Path) -> OpenDataset:
    where = f"{path}: datasets[{index}]"
    for key in ("name", "title", "description", "kind", "source", "organization", "open_type"):
        if not raw.get(key):
            raise OpenDataConfigError(f"{where}: missing mandatory field {key!r}")
    where = f"{path}: datasets[{index}] ({raw['name']})"
    if raw["kind"] not in KINDS:
        raise OpenDataConfigError(f"{where}.kind is {raw['kind']!r}; expected one of {', '.join(KINDS)}")
    if raw["open_type"] not in OPEN_TYPES or raw["open_type"] == "不予开放":
        raise OpenDataConfigError(f"{where}.open_type must be 无条件开放 or 有条件开放 to be published")
    for lang in ("zh", "en"):
        if not (raw["title"].get(lang) and raw["description"].get(lang)):
            raise OpenDataConfigError(f"{where}: title and description need both zh and en")
    unknown = [g for g in raw.get("groups") or [] if g not in groups]
    if unknown:
        raise OpenDataConfigError(f"{where}.groups: {unknown} are not defined under 'groups'")
    columns = tuple(_column(c, f"{where}.columns", qi=False) for c in raw.get("columns") or [])
    qis = tuple(_column(c, f"{where}.quasi_identifiers", qi=True) for c in raw.get("quasi_identifiers") or [])
    if raw["kind"] == "aggregate" and not (raw.get("measure") or {}).get("name"):
        raise OpenDataConfigError(f"{where}: an aggregate needs measure.name")
    if raw["kind"] == "deidentified_records" and not qis:
        raise OpenDataConfigError(
            f"{where}: de-identified records need quasi_identifiers (what k is measured on)"
        )
    if raw.get("grid") and raw["kind"] == "aggregate":
        from govlake.opendata.rules import domain

        for c in columns:
            if domain(c.levels[0], list(c.values or []), [o.name for o in c.outputs()]) is None:
                raise OpenDataConfigError(f"{where}.columns({c.name}): a grid needs values or a banded rule")
    k = raw.get("k")
    if k is not None and (not isinstance(k, int) or k < 2):
        raise OpenDataConfigError(f"{where}.k must be an integer of at least 2")
    source = raw["source"]
    return OpenDataset(
        name=raw["name"],
        title=raw["title"],
        description=raw["description"],
        kind=raw["kind"],
        library=source.get("library") or source.get("model"),
        schema=source.get("schema", "base"),
        where=source.get("where"),
        organization=raw["organization"],
        groups=tuple(raw.get("groups") or ()),
        tags=tuple(str(t) for t in raw.get("tags") or ()),
        open_type=raw["open_type"],
        update_cycle=raw.get("update_cycle", "每日"),
        k=k,
        columns=columns,
        quasi_identifiers=qis,
        measure=raw.get("measure") or {},
        grid=bool(raw.get("grid")),
        max_suppressed_share=float(raw.get("max_suppressed_share", 0.05)),
        catalog_entry=raw.get("catalog_entry"),
        license=raw.get("license") or defaults.get("license") or {},
        publisher=raw.get("publisher") or defaults.get("publisher") or {},
        spatial=raw.get("spatial") or defaults.get("spatial") or {},
        source_file=str(path),
    )


def load_open_registry(path: Path = OPEN_DATASETS_FILE) -> OpenRegistry:
    """Parse the file; OpenDataConfigError names the file, dataset and field of the first mistake."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise OpenDataConfigError(f"{path}: cannot read open datasets ({exc})") from exc
    groups = doc.get("groups") or {}
    datasets = tuple(
        _dataset(raw, i, doc.get("defaults") or {}, groups, path)
        for i, raw in enumerate(doc.get("datasets") or [])
    )
    names = [d.name for d in datasets]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise OpenDataConfigError(f"{path}: dataset names must be unique; repeated: {sorted(dupes)}")
    return OpenRegistry(datasets, groups, path)


# -- classification check ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemGrade:
    """The grade and personal-information flag of one published column, and where they come from."""

    column: str
    grade: str
    pi: str
    why: str


def source_classes(dataset: OpenDataset) -> dict[str, tuple[str, str]]:
    """Grade and pi flag of each source column: the library's (masking.yaml + registry) classification."""
    from govlake.policy.masking import MaskingConfigError, classify_library, load_masking_policy

    try:
        classes = classify_library(load_masking_policy(), dataset.library)
    except MaskingConfigError as exc:
        raise OpenDataConfigError(f"{dataset.source_file} ({dataset.name}): {exc}") from exc
    return {name: (c.grade, c.pi) for name, c in classes.items()}


def item_grades(
    dataset: OpenDataset, classes: dict[str, tuple[str, str]], levels: dict[str, int] | None = None
) -> dict[str, ItemGrade]:
    """Published column -> its grade: a generalised value has the grade the YAML gives it (一般 by
    default); a value passed through keeps its source item's grade and flag (unknown = fail closed)."""
    levels = levels or {}
    grades: dict[str, ItemGrade] = {}
    for spec in (*dataset.columns, *dataset.quasi_identifiers):
        rule = spec.levels[levels.get(spec.name, 0)]
        for out in spec.outputs(levels.get(spec.name, 0)):
            if rule.generalises:
                grades[out.name] = ItemGrade(
                    out.name, spec.grade, "generalised", f"{rule.kind} of {spec.source}"
                )
            else:
                grade, pi = classes.get(spec.source, ("未分级", "unknown"))
                grades[out.name] = ItemGrade(
                    out.name, grade, pi, f"{dataset.library}.{spec.source} as stored"
                )
    if dataset.kind == "aggregate":
        for name in (dataset.measure["name"], "suppressed"):
            grades[name] = ItemGrade(name, "一般", "none", "count of a group")
    return grades


def grade_violations(open_type: str, grades: dict[str, ItemGrade]) -> list[str]:
    """Every published item its open type may not carry: a grade above the allowance, a direct
    identifier, or an item without classification."""
    allowed = ALLOWED_GRADES.get(open_type, ())
    problems = []
    for item in grades.values():
        if item.pi == "direct":
            problems.append(f"column {item.column} ({item.why}) is a direct identifier")
        elif item.grade not in allowed:
            problems.append(
                f"column {item.column} ({item.why}) is graded {item.grade}; {open_type} allows {'/'.join(allowed) or 'nothing'}"
            )
    return problems


def check_against_catalog(dataset: OpenDataset, catalog_open_types: dict[str, str]) -> list[str]:
    """Records may only be opened from a resource the catalog opens; aggregates are a new resource."""
    if dataset.kind != "deidentified_records" or not dataset.catalog_entry:
        return []
    declared = catalog_open_types.get(dataset.catalog_entry)
    if declared is None:
        return [f"catalog entry {dataset.catalog_entry} is unknown (run `govlake catalog sync`)"]
    if declared == "不予开放":
        return [f"catalog entry {dataset.catalog_entry} is 不予开放: its records cannot be opened"]
    return []
