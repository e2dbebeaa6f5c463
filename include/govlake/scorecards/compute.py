"""Per-department quality scores for a period, from the platform's own records.

Inputs (all in ``platform``): ``validation_runs``/``validation_results`` (every rule's checked and failing
rows per batch), ``quarantine`` (ingest rejects; open/resolved rows and time-to-correct), ``batches``
(source reads) and ``deliveries`` (on time / late / missing; optional — the table may not exist yet).
The formula is documented in docs/QUALITY.md; in short, per GB/T 36344 dimension::

    score = 100 × (1 − failures / checks)

with *checks* and *failures* counted in the unit that dimension measures (row checks for conformity,
completeness, accuracy and consistency; deliveries for timeliness; source reads for accessibility), and
the overall score the weighted mean over the dimensions that had anything to measure.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg

from govlake.registry import load_departments
from govlake.scorecards.periods import Period

PROVINCE = "_province"
PROVINCE_NAME = "全省"

DIMENSIONS = ("conformity", "completeness", "accuracy", "consistency", "timeliness", "accessibility")
DIMENSIONS_ZH = {
    "conformity": "规范性",
    "completeness": "完整性",
    "accuracy": "准确性",
    "consistency": "一致性",
    "timeliness": "时效性",
    "accessibility": "可访问性",
}
# Weights of the overall score (sum 1). GB/T 36344-2018 names the dimensions but leaves their weights to
# the evaluation scheme; these favour the content dimensions a consumer department relies on (accuracy
# most), as DB52/T 1540.4-2021's evaluation of government data puts content quality first. They are the
# platform's defaults — change them here and every report states the weights it used.
WEIGHTS = {
    "conformity": 0.20,
    "completeness": 0.20,
    "accuracy": 0.25,
    "consistency": 0.15,
    "timeliness": 0.10,
    "accessibility": 0.10,
}
ROW_DIMENSIONS = ("conformity", "completeness", "accuracy", "consistency")
INGEST_CHECKED = ("completeness", "conformity")  # every ingested row is checked for required + type
TOP_RULES = 5

_DEPARTMENT_OF_TARGET = r"substring(r.target from '^staging\.stg_(.+?)__')"
_RULE_CHECKS = f"""
select {_DEPARTMENT_OF_TARGET} as department, v.dimension,
       sum(v.element_count)::bigint, sum(coalesce(v.unexpected_count, 0))::bigint
from platform.validation_results v, platform.validation_runs r
where v.validation_id = r.validation_id and r.logical_date between %(start)s and %(end)s
  and r.target like 'staging.stg%%' and v.element_count is not null
group by 1, 2
"""
_INGEST_FAILURES = """
select department, dimension,
       count(distinct batch_id || ':' || coalesce(source_file || ':' || source_row::text, quarantine_id::text))
from platform.quarantine
where stage = 'ingest' and logical_date between %(start)s and %(end)s
group by 1, 2
"""
_BATCHES = """
select department, count(*), count(*) filter (where status = 'failed'), coalesce(sum(rows_extracted), 0)::bigint
from platform.batches where logical_date between %(start)s and %(end)s
group by 1
"""
_DELIVERIES = """
select department, count(*), count(*) filter (where status = 'late'), count(*) filter (where status = 'missing')
from platform.deliveries where logical_date between %(start)s and %(end)s
group by 1
"""
_LATE = """
select department, dataset, logical_date, status, expected_by, delivered_at, late_by::text
from platform.deliveries
where logical_date between %(start)s and %(end)s and status in ('late', 'missing')
order by department, logical_date, dataset
"""
# Open: current records not yet corrected. Resolved: corrected in a later batch or a re-delivery of the
# date. A record superseded by a re-delivery without being corrected is history (its row, if still wrong,
# has a current record), so it counts as neither. Time-to-correct runs from the first report of the
# defect (first_detected_at survives re-deliveries) to the load of the correcting delivery, in days.
_QUARANTINE = """
select coalesce(department, %(province)s),
       count(*) filter (where resolved_at is null and superseded_at is null),
       count(*) filter (where resolved_at is not null),
       percentile_cont(0.5) within group (order by greatest(extract(epoch from
           resolved_at - coalesce(first_detected_at, detected_at)) / 86400.0, 0))
           filter (where resolved_at is not null)
from platform.quarantine where logical_date between %(start)s and %(end)s
group by grouping sets ((department), ())
"""
_TOP_RULES = f"""
select department, rule, dimension, severity, sum(failures)::bigint, sum(checks)::bigint from (
    select {_DEPARTMENT_OF_TARGET} as department, v.expectation as rule, v.dimension, v.severity,
           coalesce(v.unexpected_count, 0) as failures, v.element_count as checks
    from platform.validation_results v, platform.validation_runs r
    where v.validation_id = r.validation_id and r.logical_date between %(start)s and %(end)s
      and r.target like 'staging.stg%%'
    union all
    select department, rule, dimension, severity, 1, null
    from platform.quarantine where stage = 'ingest' and logical_date between %(start)s and %(end)s
) t
where failures > 0
group by 1, 2, 3, 4
order by 1, 5 desc, 2
"""
_TREND = """
select department, period, overall_score from platform.scorecards
where period_kind = %(kind)s and period_end < %(start)s
order by department, period_end desc
"""


@dataclass
class DimensionScore:
    dimension: str
    score: float | None
    weight: float
    checks: int = 0
    failures: int = 0
    method: str = ""

    @property
    def name_zh(self) -> str:
        return DIMENSIONS_ZH[self.dimension]


@dataclass
class Scorecard:
    period: Period
    department: str
    department_name: str
    dimensions: dict[str, DimensionScore]
    overall: float | None = None
    rank: int | None = None
    ranked_of: int = 0
    rows_checked: int = 0
    batches: int = 0
    quarantine_open: int = 0
    quarantine_resolved: int = 0
    median_days_to_correct: float | None = None
    late_deliveries: int = 0
    missing_deliveries: int = 0
    previous_score: float | None = None
    top_rules: list[dict[str, Any]] = field(default_factory=list)
    late: list[dict[str, Any]] = field(default_factory=list)
    trend: list[tuple[str, float | None]] = field(default_factory=list)  # oldest first, this period last

    @property
    def is_province(self) -> bool:
        return self.department == PROVINCE

    def details(self) -> dict[str, Any]:
        return {
            "top_rules": self.top_rules,
            "late_deliveries": self.late,
            "trend": [{"period": p, "score": s} for p, s in self.trend],
            "ranked_of": self.ranked_of,
            "weights": {d.dimension: d.weight for d in self.dimensions.values()},
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.period.as_dict(),
            "department": self.department,
            "department_name": self.department_name,
            "overall": self.overall,
            "rank": self.rank,
            "ranked_of": self.ranked_of,
            "dimensions": {k: asdict(v) for k, v in self.dimensions.items()},
            "quarantine_open": self.quarantine_open,
            "quarantine_resolved": self.quarantine_resolved,
            "median_days_to_correct": self.median_days_to_correct,
            "late_deliveries": self.late_deliveries,
            "missing_deliveries": self.missing_deliveries,
        }


def dimension_score(checks: int, failures: int) -> float | None:
    """100 × (1 − failures / checks), clamped to [0, 100]; None when nothing was checked."""
    if checks <= 0:
        return None
    return round(max(0.0, min(100.0, 100.0 * (1.0 - failures / checks))), 2)


def overall_score(dimensions: dict[str, DimensionScore]) -> float | None:
    """The weighted mean over the measured dimensions; weights of unmeasured ones are spread pro rata."""
    measured = [d for d in dimensions.values() if d.score is not None]
    total = sum(d.weight for d in measured)
    if not measured or total <= 0:
        return None
    return round(sum(d.score * d.weight for d in measured) / total, 2)  # type: ignore[operator]


def _has_deliveries(conn: psycopg.Connection) -> bool:
    return conn.execute("select to_regclass('platform.deliveries') is not null").fetchone()[0]


class _Counts:
    """Raw numbers per department, gathered with one query per source table."""

    def __init__(self, conn: psycopg.Connection, period: Period) -> None:
        p = {"start": period.start, "end": period.end, "kind": period.kind, "province": PROVINCE}
        self.rule = defaultdict(lambda: [0, 0])  # (dept, dim) -> [checks, failures]
        for dept, dim, checks, failures in conn.execute(_RULE_CHECKS, p):
            self.rule[(dept, dim)] = [int(checks or 0), int(failures or 0)]
        self.ingest = {(d, dim): int(n) for d, dim, n in conn.execute(_INGEST_FAILURES, p)}
        self.batches = {d: (int(n), int(f), int(rows)) for d, n, f, rows in conn.execute(_BATCHES, p)}
        self.deliveries: dict[str, tuple[int, int, int]] = {}
        self.late: dict[str, list[dict]] = defaultdict(list)
        if _has_deliveries(conn):
            self.deliveries = {
                d: (int(n), int(late), int(miss)) for d, n, late, miss in conn.execute(_DELIVERIES, p)
            }
            for d, ds, day, status, expected, delivered, late_by in conn.execute(_LATE, p):
                self.late[d].append(
                    {
                        "dataset": ds,
                        "logical_date": day.isoformat(),
                        "status": status,
                        "expected_by": expected.isoformat() if expected else None,
                        "delivered_at": delivered.isoformat() if delivered else None,
                        "late_by": late_by,
                    }
                )
        self.quarantine = {
            d: (int(o), int(r), round(float(m), 2) if m is not None else None)
            for d, o, r, m in conn.execute(_QUARANTINE, p)
        }
        self.top: dict[str, list[dict]] = defaultdict(list)
        for d, rule, dim, sev, failures, checks in conn.execute(_TOP_RULES, p):
            self.top[d].append(
                {"rule": rule, "dimension": dim, "severity": sev, "failures": int(failures), "checks": checks}
            )
        self.trend: dict[str, list[tuple[str, float | None]]] = defaultdict(list)
        for d, label, score in conn.execute(_TREND, p):
            self.trend[d].append((label, score))

    def departments(self) -> set[str]:
        found = (
            {d for d, _ in self.rule} | {d for d, _ in self.ingest} | set(self.batches) | set(self.deliveries)
        )
        return {d for d in found if d and d != PROVINCE}


def _dimensions(counts: _Counts, dept: str) -> dict[str, DimensionScore]:
    dims: dict[str, DimensionScore] = {}
    rows_in = counts.batches.get(dept, (0, 0, 0))[2]
    for dim in ROW_DIMENSIONS:
        checks, failures = counts.rule.get((dept, dim), [0, 0])
        ingest_failures = counts.ingest.get((dept, dim), 0)
        ingest_checks = rows_in if dim in INGEST_CHECKED else 0
        total_checks, total_failures = checks + ingest_checks, failures + ingest_failures
        dims[dim] = DimensionScore(
            dim,
            dimension_score(total_checks, total_failures),
            WEIGHTS[dim],
            total_checks,
            total_failures,
            "行级校验：1 − 不合格行次 / 校验行次（接入检查 + 质量规则）",
        )
    if dept in counts.deliveries:
        total, late, missing = counts.deliveries[dept]
        dims["timeliness"] = DimensionScore(
            "timeliness",
            dimension_score(total, late + missing),
            WEIGHTS["timeliness"],
            total,
            late + missing,
            "按时交付批次 / 应交付批次（platform.deliveries）",
        )
    else:
        checks, failures = counts.rule.get((dept, "timeliness"), [0, 0])
        dims["timeliness"] = DimensionScore(
            "timeliness",
            dimension_score(checks, failures),
            WEIGHTS["timeliness"],
            checks,
            failures,
            "无交付记录：按时效性规则的行级校验计算" if checks else "无交付记录，未评分",
        )
    batches, failed, _ = counts.batches.get(dept, (0, 0, 0))
    dims["accessibility"] = DimensionScore(
        "accessibility",
        dimension_score(batches, failed),
        WEIGHTS["accessibility"],
        batches,
        failed,
        "成功读取源系统的批次 / 全部批次（platform.batches）",
    )
    return dims


def _pooled(cards: list[Scorecard]) -> dict[str, DimensionScore]:
    """The province's dimensions: all departments' checks and failures added up (large ones weigh more)."""
    dims = {}
    for dim in DIMENSIONS:
        parts = [c.dimensions[dim] for c in cards if c.dimensions[dim].checks]
        checks, failures = sum(p.checks for p in parts), sum(p.failures for p in parts)
        dims[dim] = DimensionScore(
            dim, dimension_score(checks, failures), WEIGHTS[dim], checks, failures, "各部门合计"
        )
    return dims


def _rank(cards: list[Scorecard]) -> None:
    """Competition ranking (1, 2, 2, 4) by overall score; unscored departments are not ranked."""
    scored = sorted((c for c in cards if c.overall is not None), key=lambda c: -c.overall)  # type: ignore[operator]
    for card in scored:
        card.rank = 1 + sum(1 for other in scored if other.overall > card.overall)  # type: ignore[operator]
        card.ranked_of = len(scored)


def _card(
    counts: _Counts, period: Period, dept: str, name: str, dims: dict[str, DimensionScore]
) -> Scorecard:
    q_open, q_resolved, median = counts.quarantine.get(dept, (0, 0, None))
    _, late, missing = counts.deliveries.get(dept, (0, 0, 0))
    card = Scorecard(
        period=period,
        department=dept,
        department_name=name,
        dimensions=dims,
        overall=overall_score(dims),
        rows_checked=counts.batches.get(dept, (0, 0, 0))[2],
        batches=counts.batches.get(dept, (0, 0, 0))[0],
        quarantine_open=q_open,
        quarantine_resolved=q_resolved,
        median_days_to_correct=median,
        late_deliveries=late,
        missing_deliveries=missing,
        top_rules=counts.top.get(dept, [])[:TOP_RULES],
        late=counts.late.get(dept, [])[:20],
    )
    history = list(reversed(counts.trend.get(dept, [])[:5]))
    card.previous_score = history[-1][1] if history else None
    card.trend = [*history, (period.label, card.overall)]
    return card


def compute_scorecards(
    conn: psycopg.Connection, period: Period, departments: list[str] | None = None
) -> list[Scorecard]:
    """Every department's scorecard for ``period`` (ranked), then the province's, last."""
    counts = _Counts(conn, period)
    names = {d.code: d.name for d in load_departments()}
    selected = sorted(set(departments) if departments else counts.departments())
    cards = [_card(counts, period, d, names.get(d, d), _dimensions(counts, d)) for d in selected]
    _rank(cards)
    province = _card(counts, period, PROVINCE, PROVINCE_NAME, _pooled(cards))
    province.rows_checked = sum(c.rows_checked for c in cards)
    province.batches = sum(c.batches for c in cards)
    province.late_deliveries = sum(c.late_deliveries for c in cards)
    province.missing_deliveries = sum(c.missing_deliveries for c in cards)
    province.late = [dict(item, department=c.department) for c in cards for item in c.late][:20]
    province.top_rules = sorted(
        (dict(r, department=c.department) for c in cards for r in c.top_rules), key=lambda r: -r["failures"]
    )[:TOP_RULES]
    if departments:  # the pooled quarantine numbers cover every department; recount for the selection
        province.quarantine_open = sum(c.quarantine_open for c in cards)
        province.quarantine_resolved = sum(c.quarantine_resolved for c in cards)
    province.ranked_of = len([c for c in cards if c.rank])
    return [*cards, province]
