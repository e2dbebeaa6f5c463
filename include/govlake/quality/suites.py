"""The versioned suites in ``expectations/``: loading, rendering the rule SQL, and naming their targets.

A suite is the one place a rule is defined. Row rules are ``unexpected_rows_mostly_expectation``s whose
``unexpected_rows_query`` (a Jinja template over the macros in :mod:`govlake.quality.sql`) selects the
failing rows of ``{batch}`` plus a ``_message`` for the clerk. Great Expectations counts that query; the
quarantine INSERT runs the very same rendered text — so the gate and the quarantine cannot disagree about
which rows fail. This module has no Great Expectations import: loading a suite is cheap.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from string import Formatter
from typing import Any

import jinja2

from govlake.quality.sql import MACROS
from govlake.registry import TOMBSTONE_FILE_SUFFIX
from govlake.settings import PROJECT_DIR

ROW_RULE_TYPE = "unexpected_rows_mostly_expectation"
DIMENSIONS = ("conformity", "completeness", "accuracy", "consistency", "timeliness", "accessibility")
SEVERITIES = ("blocking", "warning")
KINDS = ("staging", "library")
_JOIN = re.compile(r"\bjoin\b", re.IGNORECASE)


class SuiteError(ValueError):
    """A suite file is malformed; the message names the file and the expectation."""


def expectations_dir() -> Path:
    """``GOVLAKE_EXPECTATIONS_DIR`` or the project's ``expectations/`` (the suites ship with the code)."""
    return Path(os.environ.get("GOVLAKE_EXPECTATIONS_DIR", PROJECT_DIR / "expectations"))


@dataclass(frozen=True)
class Rule:
    """One expectation of a suite, with its rendered SQL when it is a row rule."""

    rule: str
    type: str
    kwargs: dict[str, Any]
    dimension: str
    severity: str
    column: str | None
    description_zh: str
    query: str | None = None  # rendered unexpected-rows query (row rules only), still holding ``{batch}``

    @property
    def is_row_rule(self) -> bool:
        return self.type == ROW_RULE_TYPE

    @property
    def blocking(self) -> bool:
        return self.severity == "blocking"

    @property
    def mostly(self) -> float:
        return float(self.kwargs.get("mostly", 1.0))

    def gx_kwargs(self) -> dict[str, Any]:
        """The expectation's kwargs as Great Expectations receives them (rule SQL rendered)."""
        return {**self.kwargs, "unexpected_rows_query": self.query} if self.is_row_rule else dict(self.kwargs)


@dataclass(frozen=True)
class Suite:
    name: str
    target: str  # schema.relation validated
    kind: str  # staging (row rules, quarantine) | library (publication gate)
    department: str | None
    dataset: str | None
    partition_column: str | None
    rules: tuple[Rule, ...]
    path: Path = field(compare=False)

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.rule == rule_id:
                return r
        raise KeyError(f"suite {self.name} has no rule {rule_id!r} ({self.path})")

    def batch_sql(self, logical_date_literal: str) -> str:
        """The batch as a SELECT: the logical date's rows of a staging view, or the whole library table.

        A staging batch leaves out the tombstones of rows the source deleted outright: they carry only a
        key the platform loaded (and validated) before, and nothing else to judge.
        """
        if self.partition_column is None:
            return f"select * from {self.target}"
        batch = f"select * from {self.target} where {self.partition_column} = {logical_date_literal}"
        if self.kind == "staging":
            batch += f" and not (_deleted and right(_source_file, {len(TOMBSTONE_FILE_SUFFIX)}) = '{TOMBSTONE_FILE_SUFFIX}')"
        return batch

    def failing_rows_sql(self, rule: Rule, logical_date_literal: str) -> str:
        """The rule's failing rows as GX counts them: ``{batch}`` bound the way GX binds it (no JOIN)."""
        if rule.query is None:
            raise ValueError(f"{self.name}.{rule.rule} is a {rule.type}, not a row rule with SQL")
        return rule.query.format(batch=f"({self.batch_sql(logical_date_literal)}) AS subselect")


_JINJA = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)


def render_query(template: str, where: str) -> str:
    """Expand the macros, then check the result is something both GX and the quarantine can run as is."""
    try:
        query = _JINJA.from_string(template).render(**MACROS)
    except jinja2.TemplateError as exc:
        raise SuiteError(f"{where}: cannot render unexpected_rows_query: {exc}") from exc
    fields = {f[1] for f in Formatter().parse(query) if f[1] is not None}
    if fields != {"batch"}:
        raise SuiteError(
            f"{where}: the query must use the placeholder {{batch}} and no other braces, got {fields}"
        )
    # GX substitutes {batch} with an aliased subquery only when the query has no JOIN; one spelling keeps
    # both runners on the same SQL, so joins are written as comma/lateral joins or EXISTS.
    if _JOIN.search(query):
        raise SuiteError(
            f"{where}: write joins as comma joins or EXISTS; the keyword JOIN changes how GX binds {{batch}}"
        )
    if "_message" not in query:
        raise SuiteError(f"{where}: the query must select a _message column for the quarantine")
    return query


def _parse_rule(doc: dict, where: str) -> Rule:
    meta = doc.get("meta") or {}
    for key in ("rule", "dimension", "severity", "description_zh"):
        if not meta.get(key):
            raise SuiteError(f"{where}: meta.{key} is required")
    if meta["dimension"] not in DIMENSIONS:
        raise SuiteError(
            f"{where}: meta.dimension {meta['dimension']!r} is not one of {', '.join(DIMENSIONS)}"
        )
    if meta["severity"] not in SEVERITIES:
        raise SuiteError(f"{where}: meta.severity {meta['severity']!r} is not one of {', '.join(SEVERITIES)}")
    kwargs = dict(doc.get("kwargs") or {})
    query = None
    if doc["type"] == ROW_RULE_TYPE:
        query = render_query(kwargs.get("unexpected_rows_query", ""), f"{where} ({meta['rule']})")
    return Rule(
        rule=meta["rule"],
        type=doc["type"],
        kwargs=kwargs,
        dimension=meta["dimension"],
        severity=meta["severity"],
        column=meta.get("column") or kwargs.get("column"),
        description_zh=meta["description_zh"],
        query=query,
    )


def parse_suite(path: Path) -> Suite:
    doc = json.loads(path.read_text(encoding="utf-8"))
    meta = doc.get("meta") or {}
    if meta.get("kind") not in KINDS or not meta.get("target"):
        raise SuiteError(f"{path}: meta.kind must be one of {KINDS} and meta.target is required")
    rules = tuple(_parse_rule(e, f"{path} expectations[{i}]") for i, e in enumerate(doc["expectations"]))
    ids = [r.rule for r in rules]
    if len(ids) != len(set(ids)):
        raise SuiteError(f"{path}: rule ids must be unique within a suite: {sorted(ids)}")
    if meta["kind"] == "staging" and not (meta.get("department") and meta.get("dataset")):
        raise SuiteError(
            f"{path}: a staging suite names its registry department and dataset (for the quarantine)"
        )
    return Suite(
        name=doc["name"],
        target=meta["target"],
        kind=meta["kind"],
        department=meta.get("department"),
        dataset=meta.get("dataset"),
        partition_column=meta.get("partition_column"),
        rules=rules,
        path=path,
    )


@lru_cache(maxsize=8)
def _load_all(directory: Path) -> dict[str, Suite]:
    return {s.name: s for s in (parse_suite(p) for p in sorted(directory.glob("*.json")))}


def load_suites(directory: Path | None = None) -> dict[str, Suite]:
    """Every suite in ``expectations/`` by name."""
    return _load_all(directory or expectations_dir())


def get_suite(target: str, directory: Path | None = None) -> Suite:
    """A suite by its name (``population``) or by the relation it validates (``audit.population``)."""
    suites = load_suites(directory)
    if target in suites:
        return suites[target]
    for suite in suites.values():
        if suite.target == target:
            return suite
    known = ", ".join(sorted(suites))
    raise KeyError(f"no suite for {target!r} in {directory or expectations_dir()}; suites: {known}")
