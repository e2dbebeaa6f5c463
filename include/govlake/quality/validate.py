"""Validate one target for one logical date and record the outcome in ``platform.validation_*``.

The write-audit-publish gate: dbt builds into ``audit``/``staging``, this runs the target's suite, and
``publish`` swaps only when :attr:`ValidationOutcome.success` — i.e. no *blocking* expectation failed.
Warnings are recorded with their dimension for the department's quality report but never block.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from psycopg.types.json import Jsonb

from govlake.quality.suites import Rule, Suite, get_suite
from govlake.settings import Settings, get_settings
from govlake.warehouse import connect, ensure_platform_schema

log = logging.getLogger(__name__)

SAMPLE_SIZE = 10  # messages kept in validation_results.details; the quarantine holds every row


@dataclass(frozen=True)
class RuleResult:
    """How one expectation fared on the batch."""

    rule: str
    expectation_type: str
    column_name: str | None
    dimension: str
    severity: str
    success: bool
    element_count: int | None
    unexpected_count: int | None
    unexpected_percent: float | None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def blocking_failure(self) -> bool:
        return self.severity == "blocking" and not self.success


@dataclass(frozen=True)
class ValidationOutcome:
    """What the publish step needs: did the gate pass, and if not, which blocking rules failed."""

    validation_id: str
    suite: str
    target: str
    logical_date: date
    success: bool
    results: tuple[RuleResult, ...]
    duration_seconds: float
    # the one-pass scan's run in platform.rule_verdicts (its failing rows, for the quarantine), if any
    scan_run_id: str | None = None

    @property
    def blocking_failures(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.results if r.blocking_failure)

    @property
    def warnings(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.results if r.severity == "warning" and not r.success)

    def summary(self) -> str:
        """One line per blocking failure, for logs and task failure messages."""
        if self.success:
            return f"{self.validation_id}: passed ({len(self.results)} expectations, {len(self.warnings)} warnings)"
        lines = [f"{self.validation_id}: {len(self.blocking_failures)} blocking expectation(s) failed"]
        lines += [
            f"  - {r.rule} [{r.dimension}] on {r.column_name}: {r.unexpected_count} of {r.element_count} rows"
            f" ({(r.unexpected_percent or 0):.2f}%)"
            for r in self.blocking_failures
        ]
        return "\n".join(lines)


@dataclass(frozen=True)
class BatchVerdict:
    """Which build validated a staging batch, and when it started reading it (a re-delivery loaded after
    that moment is not covered by the verdict)."""

    cycle_date: date
    started_at: datetime


def validation_id(suite: Suite, logical_date: date) -> str:
    return f"{suite.name}__{logical_date.isoformat()}"


def date_literal(logical_date: date) -> str:
    """A SQL date literal; ``date.isoformat()`` cannot carry anything but digits and dashes."""
    return f"date '{logical_date.isoformat()}'"


def _number(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def _exception_messages(info: dict) -> list[str]:
    """GX reports an expectation's error directly, or per failed metric (e.g. the relation is missing)."""
    if info.get("raised_exception"):
        return [str(info.get("exception_message"))]
    messages = []
    for item in info.values():
        message = (
            item.get("exception_message")
            if isinstance(item, dict)
            else getattr(item, "exception_message", None)
        )
        if message and message not in messages:
            messages.append(str(message))
    return messages


def _rule_result(rule: Rule, gx_result: Any) -> RuleResult:
    body = dict(gx_result.result or {})
    details: dict[str, Any] = {"description_zh": rule.description_zh, "mostly": rule.mostly}
    errors = _exception_messages(gx_result.exception_info or {})
    if errors:
        details["exception"] = "; ".join(errors)
    for key in ("observed_value", "partial_unexpected_list", "missing_count"):
        if key in body:
            details[key] = body[key]
    unexpected = body.get("unexpected_count")
    percent = _number(body.get("unexpected_percent"))
    return RuleResult(
        rule=rule.rule,
        expectation_type=rule.type,
        column_name=rule.column,
        dimension=rule.dimension,
        severity=rule.severity,
        success=bool(gx_result.success),
        element_count=body.get("element_count"),
        unexpected_count=int(unexpected) if unexpected is not None else None,
        unexpected_percent=percent,
        details=json.loads(json.dumps(details, default=str)),
    )


def _sample_messages(conn, failing_rows_sql: str) -> list[str]:
    """A few failing rows' messages, for library gates (not quarantined) and quick reading."""
    # No parameters are passed, so psycopg sends the text as is (a '%' in the rule SQL stays an operator).
    return [
        row[0] for row in conn.execute(f"select _message from ({failing_rows_sql}) q limit {SAMPLE_SIZE}")
    ]


def _store(
    conn,
    suite: Suite,
    outcome: ValidationOutcome,
    statistics: dict[str, Any],
    verdict: BatchVerdict | None,
) -> None:
    """Replace this suite's row for this date (the cascade drops its old results) and, for a staging
    suite, the verdict on the date's batch — in one transaction, so the gate and its record agree."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"validation:{outcome.validation_id}",))
        conn.execute(
            "delete from platform.validation_runs where validation_id = %s", (outcome.validation_id,)
        )
        conn.execute(
            "insert into platform.validation_runs (validation_id, logical_date, suite, target, success,"
            " blocking_failures, statistics) values (%s, %s, %s, %s, %s, %s, %s)",
            (
                outcome.validation_id,
                outcome.logical_date,
                outcome.suite,
                outcome.target,
                outcome.success,
                len(outcome.blocking_failures),
                Jsonb(statistics),
            ),
        )
        with conn.cursor() as cur:
            cur.executemany(
                "insert into platform.validation_results (validation_id, expectation, expectation_type,"
                " column_name, dimension, severity, success, element_count, unexpected_count,"
                " unexpected_percent, details) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        outcome.validation_id,
                        r.rule,
                        r.expectation_type,
                        r.column_name,
                        r.dimension,
                        r.severity,
                        r.success,
                        r.element_count,
                        r.unexpected_count,
                        r.unexpected_percent,
                        Jsonb(r.details),
                    )
                    for r in outcome.results
                ],
            )
        if verdict is not None:
            _store_verdict(conn, suite, outcome, verdict)


def _store_verdict(conn, suite: Suite, outcome: ValidationOutcome, verdict: BatchVerdict) -> None:
    """``platform.batch_validations``: the libraries read a batch only while its latest verdict passed."""
    conn.execute(
        "insert into platform.batch_validations (batch_id, department, dataset, logical_date, validation_id,"
        " cycle_date, success, validated_at)"
        " select batch_id, department, dataset, logical_date, %s, %s, %s, %s from platform.batches"
        " where department = %s and dataset = %s and logical_date = %s and status = 'loaded'"
        " on conflict (batch_id) do update set validation_id = excluded.validation_id,"
        " cycle_date = excluded.cycle_date, success = excluded.success, validated_at = excluded.validated_at",
        (
            outcome.validation_id,
            verdict.cycle_date,
            outcome.success,
            verdict.started_at,
            suite.department,
            suite.dataset,
            outcome.logical_date,
        ),
    )


ENGINES = ("one_pass", "per_rule")


def _engine(engine: str | None) -> str:
    """``one_pass`` (default): a staging suite's row rules in one SQL scan; ``per_rule``: GX runs each
    rule's query (and the quarantine runs it again). ``GOVLAKE_VALIDATION_ENGINE`` sets the default."""
    chosen = engine or os.environ.get("GOVLAKE_VALIDATION_ENGINE") or "one_pass"
    if chosen not in ENGINES:
        raise ValueError(f"validation engine {chosen!r} is not one of {', '.join(ENGINES)}")
    return chosen


def _one_pass(settings: Settings, suite: Suite, logical_date: date) -> tuple[Any, Any] | None:
    """The suite's GX result computed from one scan of the batch, or ``None`` when it cannot be (a library
    suite, an expectation that is not a row rule, or SQL that fails: GX then runs and records the error)."""
    import psycopg

    from govlake.quality import rule_scan
    from govlake.quality.gx_runner import suite_result_from_counts

    if suite.kind != "staging" or not all(r.is_row_rule for r in suite.rules):
        return None
    literal = date_literal(logical_date)
    try:
        with connect(settings, autocommit=True) as conn:
            scan = rule_scan.scan(
                conn,
                suite,
                suite.batch_sql(literal),
                lambda rule: suite.failing_rows_sql(rule, literal),
                validation_id(suite, logical_date),
            )
    except psycopg.Error as exc:
        log.warning(
            "%s %s: one-pass scan failed (%s); Great Expectations runs each rule",
            suite.name,
            logical_date,
            exc,
        )
        return None
    return scan, suite_result_from_counts(suite, scan.element_count, scan.counts)


def validate(
    target: str,
    logical_date: date,
    settings: Settings | None = None,
    *,
    cycle_date: date | None = None,
    engine: str | None = None,
) -> ValidationOutcome:
    """Run the suite of ``target`` (suite name or relation) on the logical date's batch and record it.

    Staging suites see only the rows with ``_logical_date = logical_date`` — one batch — and record their
    verdict on it in ``platform.batch_validations`` for ``cycle_date`` (the build doing the validating;
    default: the batch's own date). Library suites see the whole audit table. Re-running a date replaces
    its ``platform.validation_runs`` row and results.
    """
    from govlake.quality.gx_runner import run_suite  # Great Expectations: imported only when validating

    settings = settings or get_settings()
    suite = get_suite(target)
    batch_sql = suite.batch_sql(date_literal(logical_date))
    verdict = None
    if suite.kind == "staging":
        with connect(settings, autocommit=True) as conn:
            ensure_platform_schema(conn)
            started_at = conn.execute("select clock_timestamp()").fetchone()[0]
        verdict = BatchVerdict(cycle_date or logical_date, started_at)
    started = time.monotonic()
    scanned = _one_pass(settings, suite, logical_date) if _engine(engine) == "one_pass" else None
    scan, gx_result = scanned if scanned else (None, run_suite(suite, batch_sql, settings.warehouse_url))
    duration = time.monotonic() - started

    by_rule = {r.expectation_config.meta["rule"]: r for r in gx_result.results}
    results = tuple(_rule_result(rule, by_rule[rule.rule]) for rule in suite.rules)
    with connect(settings, autocommit=True) as conn:
        ensure_platform_schema(conn)
        _add_samples(conn, suite, logical_date, results, scan.run_id if scan else None)
        outcome = ValidationOutcome(
            validation_id=validation_id(suite, logical_date),
            suite=suite.name,
            target=suite.target,
            logical_date=logical_date,
            success=not any(r.blocking_failure for r in results),
            results=results,
            duration_seconds=round(duration, 3),
            scan_run_id=scan.run_id if scan else None,
        )
        statistics = {
            **json.loads(json.dumps(gx_result.statistics, default=str)),
            "duration_seconds": duration,
        }
        statistics["element_count"] = max((r.element_count or 0 for r in results), default=0)
        if scan:
            statistics["engine"] = {"one_pass": list(scan.folded), "own_query": list(scan.separate)}
        _store(conn, suite, outcome, statistics, verdict)
    (log.info if outcome.success else log.warning)("%s", outcome.summary())
    return outcome


def _add_samples(
    conn, suite: Suite, logical_date: date, results: tuple[RuleResult, ...], run_id: str | None = None
) -> None:
    """Put a few failing rows' messages into each failing row rule's details (what a reader sees first)."""
    from govlake.quality import rule_scan

    for index, result in enumerate(results, start=1):
        rule = suite.rule(result.rule)
        if run_id and result.unexpected_count:  # results follow the suite's order: index = rule_no
            result.details["sample_messages"] = rule_scan.sample_messages(conn, run_id, index, SAMPLE_SIZE)
        elif rule.is_row_rule and result.unexpected_count:
            sql = suite.failing_rows_sql(rule, date_literal(logical_date))
            result.details["sample_messages"] = _sample_messages(conn, sql)


_BACKLOG_SQL = """
select distinct b.logical_date
from platform.batches b
left join platform.batch_validations v on v.batch_id = b.batch_id
where b.department = %(department)s and b.dataset = %(dataset)s and b.status = 'loaded'
  and b.logical_date <= %(cycle)s
  and (v.batch_id is null or v.validated_at < b.finished_at or v.cycle_date = %(cycle)s)
"""


def dates_to_validate(target: str, cycle_date: date, settings: Settings | None = None) -> list[date]:
    """The logical dates a build for ``cycle_date`` validates with ``target``'s staging suite, oldest first.

    Its own date always; and every earlier batch of the dataset that has no verdict yet (it landed without
    a build of its own — a weekly file, a missed day), whose content was re-delivered after its verdict,
    or that this same cycle validated before (so re-running a cycle re-checks exactly what it checked).
    A library suite validates the audit table as a whole: just ``cycle_date``.
    """
    suite = get_suite(target)
    if suite.kind != "staging":
        return [cycle_date]
    with connect(settings or get_settings(), autocommit=True) as conn:
        ensure_platform_schema(conn)
        rows = conn.execute(
            _BACKLOG_SQL, {"department": suite.department, "dataset": suite.dataset, "cycle": cycle_date}
        ).fetchall()
    return sorted({r[0] for r in rows} | {cycle_date})


def held_batches(target: str, cycle_date: date, settings: Settings | None = None) -> list[str]:
    """Batches of ``target``'s dataset up to ``cycle_date`` whose latest verdict failed: held out of the
    libraries until a corrected re-delivery of their date passes."""
    suite = get_suite(target)
    if suite.kind != "staging":
        return []
    with connect(settings or get_settings(), autocommit=True) as conn:
        ensure_platform_schema(conn)
        rows = conn.execute(
            "select batch_id from platform.batch_validations where department = %s and dataset = %s"
            " and logical_date <= %s and not success order by logical_date",
            (suite.department, suite.dataset, cycle_date),
        ).fetchall()
    return [r[0] for r in rows]


def dates_validated_in_cycle(cycle_date: date | str, settings: Settings | None = None) -> list[date]:
    """The cycle's own date and every earlier batch date its build validated, oldest first."""
    cycle = cycle_date if isinstance(cycle_date, date) else date.fromisoformat(str(cycle_date)[:10])
    with connect(settings or get_settings(), autocommit=True) as conn:
        ensure_platform_schema(conn)
        rows = conn.execute(
            "select distinct logical_date from platform.batch_validations where cycle_date = %s", (cycle,)
        ).fetchall()
    return sorted({r[0] for r in rows} | {cycle})
