"""Running a suite with Great Expectations on the warehouse, pushed down to SQL.

This module imports Great Expectations at the top (3-5 s), so only :mod:`govlake.quality.validate`
imports it, inside the function that runs a validation. The context is ephemeral: the suites live in
``expectations/`` and the results in ``platform.validation_*``, so GX writes no project files.
"""

from __future__ import annotations

import logging
from typing import ClassVar

import great_expectations as gx
from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResult,
    ExpectationValidationResult,
)
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.datasource.fluent.interfaces import TestConnectionError
from great_expectations.expectations import UnexpectedRowsExpectation
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
from great_expectations.validator.validation_statistics import calc_validation_statistics

from govlake.quality.suites import Suite

log = logging.getLogger(__name__)

# GB/T 36344 severities map onto GX's own failure severity so GX's renderers agree with our meta.
GX_SEVERITY = {"blocking": "critical", "warning": "warning"}


class UnexpectedRowsMostlyExpectation(UnexpectedRowsExpectation):
    """``UnexpectedRowsExpectation`` with a ``mostly`` threshold, measured against the batch's row count.

    GX's own version fails on the first unexpected row and has no element count. A data office needs
    both numbers: every failing row is quarantined whatever the share, but the batch is held back only
    when the share exceeds ``1 - mostly``. Only the row *count* is computed here — the rows themselves
    go to the quarantine by an INSERT … SELECT of the same query, never through Python.
    """

    mostly: float = 1.0

    metric_dependencies: ClassVar[tuple[str, ...]] = ("unexpected_rows_query.row_count", "table.row_count")
    success_keys: ClassVar[tuple[str, ...]] = ("unexpected_rows_query", "mostly")

    def _validate(
        self, metrics: dict, runtime_configuration: dict | None = None, execution_engine=None
    ) -> dict:
        element_count = int(metrics["table.row_count"] or 0)
        unexpected = int(metrics["unexpected_rows_query.row_count"] or 0)
        percent = 100.0 * unexpected / element_count if element_count else 0.0
        return {
            "success": unexpected <= (1.0 - self.mostly) * element_count,
            "result": {
                "observed_value": unexpected,
                "element_count": element_count,
                "unexpected_count": unexpected,
                "unexpected_percent": percent,
            },
        }


def _gx_suite(suite: Suite) -> gx.ExpectationSuite:
    expectations = [
        ExpectationConfiguration(
            type=r.type,
            kwargs=r.gx_kwargs(),
            meta={"rule": r.rule, "dimension": r.dimension, "severity": r.severity, "column": r.column},
            severity=GX_SEVERITY[r.severity],
        ).to_domain_obj()
        for r in suite.rules
    ]
    return gx.ExpectationSuite(name=suite.name, expectations=expectations)


def _asset(datasource, suite: Suite, batch_sql: str):
    """A library suite's batch is its whole table: a *table* asset. GX learns a query asset's columns by
    running the query itself, unlimited (``column_reflection_fallback``), so the client held the whole
    library — 856 MiB at a million persons, 24 GiB for the province; a table's columns come from the
    catalog. A staging batch (one date's rows) stays a query: GX only runs it when the one-pass scan
    could not (:func:`govlake.quality.validate._one_pass`)."""
    if suite.partition_column is None and batch_sql == f"select * from {suite.target}":
        schema, table = suite.target.split(".")
        try:
            return datasource.add_table_asset(suite.name, table_name=table, schema_name=schema)
        except TestConnectionError as exc:  # no such table: as a query, each expectation records the error
            log.warning(
                "%s: %s is not a table GX can reach (%s); validating it as a query",
                suite.name,
                suite.target,
                exc,
            )
    return datasource.add_query_asset(suite.name, query=batch_sql)


def run_suite(suite: Suite, batch_sql: str, connection_string: str) -> ExpectationSuiteValidationResult:
    """Validate ``batch_sql`` (a SELECT on the warehouse) against ``suite``; every metric is a SQL query."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    datasource = context.data_sources.add_postgres("warehouse", connection_string=connection_string)
    asset = _asset(datasource, suite, batch_sql)
    batch_definition = asset.add_batch_definition_whole_table("cycle")
    gx_suite = context.suites.add(_gx_suite(suite))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{suite.name}__cycle", data=batch_definition, suite=gx_suite)
    )
    try:
        return definition.run(result_format="SUMMARY")
    finally:
        datasource.get_engine().dispose()


def suite_result_from_counts(
    suite: Suite, element_count: int, unexpected: dict[str, int]
) -> ExpectationSuiteValidationResult:
    """The suite's GX validation result from row counts computed elsewhere (one SQL pass over the batch).

    Each row rule is judged by its own expectation class (``_validate`` with the two metrics GX would
    have computed: the batch's row count and the rule query's row count), so ``mostly``, the result
    dict and the statistics are GX's, exactly as :func:`run_suite` records them.
    """
    gx_suite = _gx_suite(suite)
    results = []
    for rule, expectation in zip(suite.rules, gx_suite.expectations, strict=True):
        if not rule.is_row_rule:
            raise ValueError(f"{suite.name}.{rule.rule} is a {rule.type}: only row rules are counted in SQL")
        metrics = {
            "table.row_count": element_count,
            "unexpected_rows_query.row_count": unexpected[rule.rule],
        }
        verdict = expectation._validate(metrics)
        results.append(
            ExpectationValidationResult(
                success=verdict["success"],
                expectation_config=expectation.configuration,
                result=verdict["result"],
                exception_info={
                    "raised_exception": False,
                    "exception_traceback": None,
                    "exception_message": None,
                },
            )
        )
    statistics = calc_validation_statistics(results)
    return ExpectationSuiteValidationResult(
        success=statistics.success,
        results=results,
        suite_name=suite.name,
        statistics={
            "evaluated_expectations": statistics.evaluated_expectations,
            "successful_expectations": statistics.successful_expectations,
            "unsuccessful_expectations": statistics.unsuccessful_expectations,
            "success_percent": statistics.success_percent,
        },
    )
