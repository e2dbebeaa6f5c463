"""The sharing zone's masking policy (config/masking.yaml) compiled to SQL select expressions.

Masking is configuration, not code (GB/T 37964 sets no single national pattern): the registry says what
each column *is* (personal-information flag and grade), masking.yaml says what to do about it. The
result is one SQL expression per library column, so masking runs inside the view, next to the data,
and a consumer role never receives an unmasked value.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from psycopg import sql

from govlake.registry import GRADES, PI_FLAGS, REGISTRY_DIR, Dataset, iter_datasets

log = logging.getLogger(__name__)

MASKING_FILE = Path(__file__).resolve().parents[1] / "config" / "masking.yaml"

PATTERN_KINDS = ("keep", "keep_ends", "regex_keep", "constant", "date_trunc")
ACTIONS = ("mask", "redact", "keep")


class MaskingConfigError(ValueError):
    """masking.yaml is invalid; the message names the file and the entry."""


@dataclass(frozen=True)
class Classification:
    """What a library column is: its grade (核心/重要/一般) and personal-information flag."""

    grade: str
    pi: str


@dataclass(frozen=True)
class MaskingPolicy:
    patterns: dict[str, dict[str, Any]]
    default_pattern: str
    columns: dict[str, str]
    policy: tuple[dict[str, str], ...]
    libraries: dict[str, dict[str, Any]]
    path: Path

    def action_for(self, cls: Classification) -> str:
        """The first policy rule matching the column's flags; no match means redact (fail closed)."""
        for rule in self.policy:
            if rule["pi"] == cls.pi and rule.get("grade") in (None, cls.grade):
                return rule["action"]
        return "redact"

    def pattern_for(self, column: str, cls: Classification) -> str:
        """The name of the pattern applied to ``column`` in the share view."""
        action = self.action_for(cls)
        if action == "keep":
            return "keep"
        if action == "redact":
            return self.default_pattern
        return self.columns.get(column, self.default_pattern)


def load_masking_policy(path: Path = MASKING_FILE) -> MaskingPolicy:
    """Read and check masking.yaml, so a typo fails the publish with the file and entry named."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    patterns = dict(doc.get("patterns") or {})
    for name, spec in patterns.items():
        if not isinstance(spec, dict) or spec.get("kind") not in PATTERN_KINDS:
            raise MaskingConfigError(
                f"{path}: patterns.{name}.kind must be one of {', '.join(PATTERN_KINDS)}"
            )
    default = doc.get("default_pattern", "redact")
    columns = dict(doc.get("columns") or {})
    for name in [default, *columns.values()]:
        if name not in patterns and name != "keep":
            raise MaskingConfigError(f"{path}: pattern {name!r} is used but not defined under 'patterns'")
    rules = tuple(doc.get("policy") or ())
    for i, rule in enumerate(rules):
        if rule.get("pi") not in PI_FLAGS or rule.get("action") not in ACTIONS:
            raise MaskingConfigError(f"{path}: policy[{i}] needs pi in {PI_FLAGS} and action in {ACTIONS}")
        if rule.get("grade") not in (None, *GRADES):
            raise MaskingConfigError(f"{path}: policy[{i}].grade must be one of {', '.join(GRADES)}")
    return MaskingPolicy(patterns, default, columns, rules, dict(doc.get("libraries") or {}), path)


def _stricter(a: Classification, b: Classification) -> Classification:
    """Merge two departments' flags for one column: the more sensitive grade and flag win."""
    grade = min(a.grade, b.grade, key=GRADES.index)  # GRADES runs 核心 -> 一般
    pi = min(a.pi, b.pi, key=PI_FLAGS.index)  # PI_FLAGS runs direct -> none
    return Classification(grade, pi)


def classify_library(
    policy: MaskingPolicy, library: str, registry_dir: Path = REGISTRY_DIR
) -> dict[str, Classification]:
    """Column -> classification for a library, from its source datasets' registry flags and the
    platform-derived columns declared in masking.yaml."""
    spec = policy.libraries.get(library)
    if spec is None:
        raise MaskingConfigError(f"{policy.path}: no entry for library {library!r} under 'libraries'")
    datasets: dict[str, Dataset] = {ds.key: ds for ds in iter_datasets(registry_dir)}
    result: dict[str, Classification] = {}
    for key in spec.get("sources") or ():
        if key not in datasets:
            raise MaskingConfigError(
                f"{policy.path}: libraries.{library}.sources names unknown dataset {key!r}"
            )
        for col in datasets[key].columns:
            cls = Classification(col.grade, col.pi)
            result[col.name] = _stricter(result[col.name], cls) if col.name in result else cls
    for name, flags in (spec.get("derived") or {}).items():
        result[name] = Classification(flags.get("grade", "一般"), flags.get("pi", "none"))
    return result


def _text_mask(column: sql.Composable, spec: dict[str, Any]) -> sql.Composable:
    kind = spec["kind"]
    if kind == "keep_ends":
        first, last = int(spec.get("keep_first", 0)), int(spec.get("keep_last", 0))
        char = sql.Literal(str(spec.get("mask_char", "*")))
        return sql.SQL(
            "case when {c} is null then null"
            " when char_length({c}) <= {keep} then repeat({m}, char_length({c}))"
            " else left({c}, {f}) || repeat({m}, char_length({c}) - {keep}) || right({c}, {l}) end"
        ).format(c=column, m=char, f=sql.Literal(first), l=sql.Literal(last), keep=sql.Literal(first + last))
    if kind == "regex_keep":
        return sql.SQL(
            "case when {c} is null then null when {c} ~ {p} then substring({c} from {p}) || {s} else {fb} end"
        ).format(
            c=column,
            p=sql.Literal(spec["pattern"]),
            s=sql.Literal(spec.get("suffix", "")),
            fb=sql.Literal(spec.get("fallback", "")),
        )
    if kind == "constant":
        return sql.SQL("case when {c} is null then null else {v}::text end").format(
            c=column, v=sql.Literal(str(spec.get("value", "")))
        )
    raise MaskingConfigError(f"pattern kind {kind!r} does not apply to text columns")


def _is_text(data_type: str) -> bool:
    return data_type == "text" or data_type.startswith("character")


def mask_expression(column: str, data_type: str, pattern: str, policy: MaskingPolicy) -> sql.Composable:
    """The select-list entry for one column: the masked value, aliased to the column's own name.

    A pattern that cannot apply to the column's type (say a text mask on a date) redacts to NULL of
    that type rather than failing, so a type change in a library never un-masks a column.
    """
    ident = sql.Identifier(column)
    if pattern == "keep":
        return ident
    spec = policy.patterns[pattern]
    if spec["kind"] == "keep":
        return ident
    if spec["kind"] == "date_trunc" and data_type in (
        "date",
        "timestamp with time zone",
        "timestamp without time zone",
    ):
        expr: sql.Composable = sql.SQL("date_trunc({u}, {c})::{t}").format(
            u=sql.Literal(spec.get("unit", "month")), c=ident, t=sql.SQL(data_type)
        )
    elif _is_text(data_type) and spec["kind"] != "date_trunc":
        expr = _text_mask(ident, spec)
    else:
        log.warning("masking %s (%s) with %s does not fit its type; sharing NULL", column, data_type, pattern)
        expr = sql.SQL("null::{t}").format(t=sql.SQL(data_type))
    return sql.SQL("{e} as {c}").format(e=expr, c=ident)
