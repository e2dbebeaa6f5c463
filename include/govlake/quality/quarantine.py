"""Quarantine every row that fails a blocking row rule — all of them, not GX's capped sample.

Each failing rule's own SQL (the query GX counted) is run inside ``INSERT … SELECT`` so the rows move
from the staging view to ``platform.quarantine`` without leaving Postgres. The date's rows are then
streamed from a server-side cursor to ``s3://quarantine/<department>/<dataset>/<date>/validate.jsonl``
for the department's data steward. Re-running a date replaces both (delete + insert in one transaction,
then overwrite the object), so there are never duplicates.

A *corrected re-delivery* of the date (ingest replaced the batch's content: ``_ingested_at`` moved) is not a
re-run: the earlier delivery's records are kept as history, marked ``superseded_at`` = when the
re-delivery was loaded. Each superseded record whose row (same primary key) the re-delivery brings clean is
resolved at that moment — time-to-correct = re-delivery time − first detection. A row still failing gets a
new record that keeps the key's ``first_detected_at``, so a defect fixed on the third try measures from the
first report. A key the re-delivery no longer carries is superseded, neither open nor resolved. The step
is :mod:`govlake.ledger`, shared with ingest's load (ingest-stage records).
"""

from __future__ import annotations

import dataclasses
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

import psycopg
from psycopg import sql

from govlake.lake import s3_client
from govlake.ledger import Replacement, row_key, same_findings, set_aside, settle
from govlake.quality.rule_scan import VERDICTS, discard
from govlake.quality.suites import Rule, Suite, get_suite
from govlake.quality.validate import ValidationOutcome, date_literal
from govlake.registry import Dataset, get_dataset
from govlake.settings import Settings, get_settings
from govlake.warehouse import connect, ensure_platform_schema

log = logging.getLogger(__name__)

BUCKET = "quarantine"
STAGE = "validate"
PART_SIZE = 8 * 1024 * 1024  # S3 multipart chunk: the most the upload holds in memory at once
CURSOR_ROWS = 2000


class QuarantineError(RuntimeError):
    """A rule's rows could not be quarantined; the message names the suite and rule."""


@dataclass(frozen=True)
class QuarantineSummary:
    """What went to quarantine for one dataset and logical date at the validate stage."""

    suite: str
    target: str
    department: str | None
    dataset: str | None
    logical_date: date
    rows_by_rule: dict[str, int] = field(default_factory=dict)
    distinct_rows: int = 0  # distinct (batch_id, source_file, source_row): what reconciliation subtracts
    s3_uri: str | None = None
    superseded: int = 0  # records of an earlier delivery of the date that this re-delivery replaced
    resolved: int = 0  # of those, the ones whose row the re-delivery brought clean

    @property
    def rows_quarantined(self) -> int:
        """Quarantine table rows written: one per failing row per rule."""
        return sum(self.rows_by_rule.values())


def object_key(suite: Suite, logical_date: date) -> str:
    return f"{suite.department}/{suite.dataset}/{logical_date.isoformat()}/{STAGE}.jsonl"


def _rules_to_quarantine(suite: Suite, outcome: ValidationOutcome) -> list[Rule]:
    """Blocking row rules that found rows (whether or not they stayed under the ``mostly`` threshold)."""
    rules = []
    for result in outcome.results:
        rule = suite.rule(result.rule)
        if rule.is_row_rule and rule.blocking and result.unexpected_count != 0:
            rules.append(rule)
    return rules


_RECORD_COLUMNS = sql.SQL(
    "batch_id, department, dataset, logical_date, stage, source_file, source_row, rule, dimension, severity,"
    " column_name, message, record, batch_ingested_at, first_detected_at"
)
# What makes two records the same finding, whichever extraction of the rows they came from: the row as
# staged minus its ingest stamp (a re-pulled database or API source is stamped anew, row for row the same).
_FINDING = sql.SQL("source_file, source_row, rule, column_name, record - '_ingested_at'")


def _insert_sql(suite: Suite, rule: Rule, logical_date: date, version: datetime | None) -> sql.Composed:
    """Write the rows failing ``rule`` into ``validate_failing`` (moved to the quarantine table after)."""
    failing = sql.SQL(suite.failing_rows_sql(rule, date_literal(logical_date)))  # type: ignore[arg-type]
    return sql.SQL(
        "insert into validate_failing ({columns})"
        " select q._batch_id, {department}, {dataset}, {logical_date}, {stage}, q._source_file, q._source_row,"
        " {rule}, {dimension}, {severity}, {column}, q._message || ' — rule ' || {rule},"
        " to_jsonb(q) - '_message',"
        " {version}::timestamptz, now()"
        " from ({failing}) q"
    ).format(
        columns=_RECORD_COLUMNS,
        version=sql.Literal(version),
        department=sql.Literal(suite.department),
        dataset=sql.Literal(suite.dataset),
        logical_date=sql.Literal(logical_date),
        stage=sql.Literal(STAGE),
        rule=sql.Literal(rule.rule),
        dimension=sql.Literal(rule.dimension),
        severity=sql.Literal(rule.severity),
        column=sql.Literal(rule.column),
        failing=failing,
    )


def _insert_verdicts_sql(
    suite: Suite, rules: list[Rule], run_id: str, logical_date: date, version: datetime | None
) -> sql.Composed:
    """Move the failing rows the one-pass scan recorded (:mod:`rule_scan`) for ``rules`` into
    ``validate_failing``, with the same columns and message as :func:`_insert_sql`; counts per rule."""
    numbers = {r.rule: i for i, r in enumerate(suite.rules, start=1)}
    meta = sql.SQL(", ").join(
        sql.SQL("({}, {}, {}, {}, {}::text)").format(
            sql.Literal(numbers[r.rule]),
            sql.Literal(r.rule),
            sql.Literal(r.dimension),
            sql.Literal(r.severity),
            sql.Literal(r.column),
        )
        for r in rules
    )
    return sql.SQL(
        "with ins as (insert into validate_failing ({columns})"
        " select v.batch_id, {department}, {dataset}, {logical_date}, {stage}, v.source_file, v.source_row,"
        " r.rule, r.dimension, r.severity, r.column_name, v.message || ' — rule ' || r.rule, v.record,"
        " {version}::timestamptz, now()"
        " from {verdicts} v, (values {meta}) r (rule_no, rule, dimension, severity, column_name)"
        " where v.run_id = {run_id}::uuid and v.rule_no = r.rule_no"
        " order by v.rule_no, v.source_file, v.source_row returning rule)"
        " select rule, count(*) from ins group by rule"
    ).format(
        columns=_RECORD_COLUMNS,
        department=sql.Literal(suite.department),
        dataset=sql.Literal(suite.dataset),
        logical_date=sql.Literal(logical_date),
        stage=sql.Literal(STAGE),
        version=sql.Literal(version),
        verdicts=sql.SQL(VERDICTS),
        meta=meta,
        run_id=sql.Literal(run_id),
    )


_SCOPE = "department = %s and dataset = %s and logical_date = %s and stage = %s"
_CURRENT = f"{_SCOPE} and superseded_at is null"  # the date's records of the delivery now loaded


@dataclass(frozen=True)
class _Delivery:
    """The content of the date's batch now in staging: its ingest stamp, and when it was loaded."""

    version: datetime | None  # max(_ingested_at) of the batch: changes with every re-delivery, not re-runs
    loaded_at: datetime  # platform.batches.finished_at of the load (else the stamp, else now)


def _delivery(conn: psycopg.Connection, suite: Suite, dataset: Dataset, logical_date: date) -> _Delivery:
    batch = sql.SQL(suite.batch_sql(date_literal(logical_date)))  # type: ignore[arg-type]
    row = conn.execute(
        sql.SQL(
            "select v.version, coalesce((select finished_at from platform.batches where batch_id = {batch_id}"
            " and status = 'loaded'), v.version, now())"
            " from (select max(b._ingested_at) as version from ({batch}) b) v"
        ).format(batch_id=sql.Literal(dataset.batch_id(logical_date.isoformat())), batch=batch)
    ).fetchone()
    return _Delivery(row[0], row[1])


def _replacement(suite: Suite, dataset: Dataset, logical_date: date, delivery: _Delivery) -> Replacement:
    """The validate-stage records of the date: a record is of the delivery now staged when it carries the
    batch's ingest stamp (records written before the stamp was kept carry it inside ``record``)."""
    batch = sql.SQL(suite.batch_sql(date_literal(logical_date)))  # type: ignore[arg-type]
    return Replacement(
        dataset=dataset,
        logical_date=logical_date,
        stage=STAGE,
        loaded_at=delivery.loaded_at,
        same_delivery=sql.SQL(
            "coalesce(q.batch_ingested_at, (q.record->>'_ingested_at')::timestamptz)"
            " is not distinct from {}::timestamptz"
        ).format(sql.Literal(delivery.version)),
        delivered_keys=sql.SQL("select {} from ({}) s").format(row_key(dataset, "s"), batch),
    )


@dataclass(frozen=True)
class _Replaced:
    counts: dict[str, int]
    superseded: int
    resolved: int


def _replace_rows(
    conn: psycopg.Connection,
    suite: Suite,
    rules: list[Rule],
    logical_date: date,
    scan_run_id: str | None = None,
) -> _Replaced:
    dataset = get_dataset(f"{suite.department}__{suite.dataset}")
    counts: dict[str, int] = {}
    with conn.transaction():
        # Two runs of the same date (a manual re-run racing the scheduler) must not interleave, nor may a
        # re-delivery's load (ingest holds the batch's lock while it replaces the date's raw rows).
        conn.execute(
            "select pg_advisory_xact_lock(hashtext(%s))", (f"quarantine:{suite.name}:{logical_date}",)
        )
        conn.execute(
            "select pg_advisory_xact_lock(hashtext(%s))", (dataset.batch_id(logical_date.isoformat()),)
        )
        delivery = _delivery(conn, suite, dataset, logical_date)
        conn.execute(
            sql.SQL(
                "create temp table validate_failing on commit drop as"
                " select {} from platform.quarantine with no data"
            ).format(_RECORD_COLUMNS)
        )
        if scan_run_id and rules:
            try:
                found = conn.execute(
                    _insert_verdicts_sql(suite, rules, scan_run_id, logical_date, delivery.version)
                ).fetchall()
            except psycopg.Error as exc:
                raise QuarantineError(f"{suite.name}: cannot quarantine the scan's rows: {exc}") from exc
            counts = {r.rule: 0 for r in rules} | {rule: int(n) for rule, n in found}
        for rule in rules if not scan_run_id else ():
            try:
                counts[rule.rule] = conn.execute(
                    _insert_sql(suite, rule, logical_date, delivery.version)
                ).rowcount
            except psycopg.Error as exc:
                raise QuarantineError(
                    f"{suite.name} rule {rule.rule}: cannot quarantine its rows: {exc}"
                ) from exc
        replacement = _replacement(suite, dataset, logical_date, delivery)
        if _same_findings(conn, replacement):
            # a re-run that re-pulled an unchanged database or API source stamps the same rows anew: it
            # finds exactly what is recorded, is the same delivery, and must not supersede anything
            replacement = dataclasses.replace(replacement, same_delivery=sql.SQL("true"))
        aside = set_aside(conn, replacement)
        conn.execute(
            sql.SQL("insert into platform.quarantine ({c}) select {c} from validate_failing").format(
                c=_RECORD_COLUMNS
            )
        )
        resolved = settle(conn, replacement, aside)
    return _Replaced(counts, aside.superseded, resolved)


def _same_findings(conn: psycopg.Connection, replacement: Replacement) -> bool:
    """Whether this validation's failing rows are exactly the date's current records (as a multiset)."""
    current = sql.SQL("select {} from platform.quarantine q where {}").format(
        _FINDING, replacement.scope("q")
    )
    return same_findings(conn, current, sql.SQL("select {} from validate_failing").format(_FINDING))


def _distinct_rows(conn: psycopg.Connection, suite: Suite, logical_date: date) -> int:
    row = conn.execute(
        "select count(*) from (select distinct batch_id, source_file, source_row from platform.quarantine"
        f" where {_CURRENT}) d",
        (suite.department, suite.dataset, logical_date, STAGE),
    ).fetchone()
    return int(row[0]) if row else 0


class _LineStream(io.RawIOBase):
    """A file-like view of an iterator of lines, so the S3 upload pulls rows as it sends parts."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._buffer = bytearray()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            line = next(self._lines, None)
            if line is None:
                break
            self._buffer += line.encode("utf-8") + b"\n"
        cut = len(self._buffer) if size < 0 else min(size, len(self._buffer))
        data = bytes(self._buffer[:cut])
        del self._buffer[:cut]
        return data


def _jsonl_lines(conn: psycopg.Connection, suite: Suite, logical_date: date) -> Iterator[str]:
    # json (not jsonb) keeps the column order, so each line reads batch, where, rule, why, then the row.
    with conn.transaction(), conn.cursor(name=f"quarantine_{suite.name}") as cur:
        cur.itersize = CURSOR_ROWS
        cur.execute(
            "select row_to_json(q)::text from (select batch_id, department, dataset, logical_date, stage,"
            " source_file, source_row, rule, dimension, severity, column_name, message, record"
            f" from platform.quarantine where {_CURRENT} order by quarantine_id) q",
            (suite.department, suite.dataset, logical_date, STAGE),
        )
        for (line,) in cur:
            yield line


def _write_object(
    conn: psycopg.Connection, settings: Settings, suite: Suite, logical_date: date, rows: int
) -> str | None:
    """Overwrite the date's JSONL object, or remove a stale one when nothing failed this time."""
    client = s3_client(settings)
    key = object_key(suite, logical_date)
    if rows == 0:
        client.remove_object(BUCKET, key)  # idempotent: S3 ignores a missing key
        return None
    stream = _LineStream(_jsonl_lines(conn, suite, logical_date))
    client.put_object(
        BUCKET,
        key,
        stream,
        length=-1,
        part_size=PART_SIZE,
        content_type="application/x-ndjson; charset=utf-8",
    )
    return f"s3://{BUCKET}/{key}"


def quarantine_failures(
    target: str, logical_date: date, outcome: ValidationOutcome, settings: Settings | None = None
) -> QuarantineSummary:
    """Quarantine the rows of every failing blocking row rule of ``outcome`` (from :func:`validate`).

    Library suites are publication gates with no source rows to reject: nothing is quarantined for them.
    Warnings are recorded by :func:`validate` only. Returns per-rule row counts and the S3 object written.
    """
    settings = settings or get_settings()
    suite = get_suite(target)
    if outcome.suite != suite.name or outcome.logical_date != logical_date:
        raise ValueError(
            f"outcome {outcome.validation_id} is not the validation of {suite.name} for {logical_date.isoformat()}"
        )
    summary = QuarantineSummary(suite.name, suite.target, suite.department, suite.dataset, logical_date)
    if suite.kind != "staging":
        return summary
    rules = _rules_to_quarantine(suite, outcome)
    with connect(settings, autocommit=True) as conn:
        ensure_platform_schema(conn)
        replaced = _replace_rows(conn, suite, rules, logical_date, outcome.scan_run_id)
        if outcome.scan_run_id:
            discard(conn, outcome.scan_run_id)
        counts = replaced.counts
        distinct = _distinct_rows(conn, suite, logical_date)
        uri = _write_object(conn, settings, suite, logical_date, sum(counts.values()))
    log.info(
        "%s %s: quarantined %d rows (%d distinct) -> %s; %d records of an earlier delivery superseded,"
        " %d of them corrected",
        suite.name,
        logical_date,
        sum(counts.values()),
        distinct,
        uri,
        replaced.superseded,
        replaced.resolved,
    )
    return QuarantineSummary(
        suite.name,
        suite.target,
        suite.department,
        suite.dataset,
        logical_date,
        counts,
        distinct,
        uri,
        replaced.superseded,
        replaced.resolved,
    )
