"""Task bodies of the daily cycle, called by the thin DAG files.

Each function is one transaction of the cycle, takes the cycle date and small JSON-serialisable values
(they travel through XCom) and returns the same. Heavy libraries (GX, dbt, pyarrow) are imported inside.
"""

from __future__ import annotations

import logging
from typing import Any

from govlake.registry import get_dataset
from govlake.settings import Settings

log = logging.getLogger(__name__)

LIBRARIES = ("population", "legal_entities")  # the libraries with GX gates of their own

# Everything the build writes into `audit` and publish swaps into `base` in one transaction: base
# libraries, their companions, and the theme libraries.
PUBLISHED_TABLES = (
    *LIBRARIES,
    "population_conflicts",
    "population_attribute_sources",
    "administrative_divisions",
    "division_discrepancies",
    "counties",
    "macro_economy",
    "insurance_coverage",
    "population_development",
    "entity_births_and_closures",
    "crop_performance",
    "bijie_crops_vs_corn",
    "subsidy_audit_findings",
)


# -- ingest ----------------------------------------------------------------------------------------
def ingest_land_and_normalize(dataset_key: str, logical_date: str) -> dict[str, Any]:
    from govlake.ingest import land_and_normalize

    return land_and_normalize(dataset_key, logical_date)


def ingest_load_raw(dataset_key: str, logical_date: str, manifest: dict[str, Any]) -> dict[str, Any]:
    from govlake.ingest import load_raw

    return load_raw(dataset_key, logical_date, manifest)


# -- build -----------------------------------------------------------------------------------------
def build_staging(logical_date: str) -> dict[str, Any]:
    from govlake.transform import build_staging as run
    from govlake.warehouse import bootstrap_warehouse

    bootstrap_warehouse()
    return _dbt_summary(run(logical_date))


def build_libraries(logical_date: str) -> dict[str, Any]:
    from govlake.transform import build_libraries as run

    return _dbt_summary(run(logical_date))


def _dbt_summary(result: Any) -> dict[str, Any]:
    """The dbt run's node results, small enough for XCom."""
    return result.to_dict()


def staging_target(dataset_key: str) -> str:
    return get_dataset(dataset_key).staging_view


def validate_and_quarantine(target: str, logical_date: str) -> dict[str, Any]:
    """Validate one table or view for the cycle date; quarantine every row failing a blocking rule.

    A staging suite validates the cycle date's batch and catches up every earlier batch of its dataset
    with no current verdict (:func:`govlake.quality.validate.dates_to_validate`), each on its own. Returns
    a small summary for XCom: whether the gate passed, the blocking failures as readable lines, the
    element count, what went to quarantine, and the batches held out of the libraries.
    """
    from datetime import date

    from govlake.quality import quarantine_failures, validate
    from govlake.quality.resolution import resolve_corrected
    from govlake.quality.validate import dates_to_validate, held_batches

    cycle = date.fromisoformat(logical_date)
    outcomes, quarantined, resolved = [], [], 0
    for day in dates_to_validate(target, cycle):
        outcome = validate(target, day, cycle_date=cycle)
        summary = quarantine_failures(target, day, outcome)
        if summary.department and summary.dataset:  # staging suites: earlier rejects now corrected
            resolved += resolve_corrected(f"{summary.department}__{summary.dataset}", day)
        log.info("%s", outcome.summary())
        outcomes.append(outcome)
        quarantined.append(summary)
    return {
        "target": outcomes[-1].target,
        "suite": outcomes[-1].suite,
        "success": all(o.success for o in outcomes),
        "validated_dates": [o.logical_date.isoformat() for o in outcomes],
        "element_count": sum(max((r.element_count or 0 for r in o.results), default=0) for o in outcomes),
        "blocking_failures": [
            f"{o.suite}{'' if o.logical_date == cycle else f' (batch of {o.logical_date})'}: {r.rule}"
            f" [{r.dimension}] on {r.column_name}: {r.unexpected_count} of {r.element_count} rows"
            f" ({(r.unexpected_percent or 0):.2f}%)"
            for o in outcomes
            for r in o.blocking_failures
        ],
        "warnings": [
            f"{r.rule} [{r.dimension}]: {r.unexpected_count} rows" for o in outcomes for r in o.warnings
        ],
        "quarantined_rows": sum(q.distinct_rows for q in quarantined),
        "quarantine_uri": quarantined[-1].s3_uri,
        "resolved_earlier_rows": resolved,
        "held_batches": held_batches(target, cycle),
        "seconds": round(sum(o.duration_seconds for o in outcomes), 2),
    }


def send_correction_lists(logical_date: str) -> list[dict[str, Any]]:
    """Every department's 纠错清单 for the date (ingest + validate quarantine) into its exchange outbox —
    and for each earlier date whose batch this cycle's build caught up."""
    from govlake.quality.corrections import publish_correction_lists
    from govlake.quality.validate import dates_validated_in_cycle

    return [
        {k: r[k] for k in ("logical_date", "department", "rows", "rows_by_dataset", "manifest_uri")}
        for day in dates_validated_in_cycle(logical_date)
        for r in publish_correction_lists(day)
    ]


def blocking_failures(results: list[dict[str, Any]]) -> list[str]:
    """Every blocking failure across the cycle's validation summaries."""
    return [line for r in results if r for line in r.get("blocking_failures") or []]


def alert_held_batches(logical_date: str, results: list[dict[str, Any]]) -> list[str]:
    """Alert the batches a failed staging validation holds out of the libraries, with the consumers that
    wait for them (the alert enricher of :mod:`govlake.orchestration.dag_defaults`). Returns the batches."""
    from govlake.alerts import send_alert

    held = sorted({b for r in results if r and not r.get("success") for b in r.get("held_batches") or []})
    if not held:
        return []
    datasets = sorted({batch.rsplit("__", 1)[0] for batch in held})
    lines = [f"logical date: {logical_date}", *(f"held: {batch}" for batch in held)]
    lines += [f"rule: {line}" for line in blocking_failures(results)][:10]
    send_alert(
        f"govlake 批次暂扣: {len(held)} 个批次未通过校验，未进入基础库",
        lines,
        {"kind": "held_batches", "logical_date": logical_date, "batches": held, "datasets": datasets},
    )
    return held


# -- publish ---------------------------------------------------------------------------------------
def publish_libraries(logical_date: str, validation_passed: bool, reason: str | None = None) -> list[dict]:
    """Swap audit → base and recreate the share views in one transaction, or record a blocked publication."""
    from govlake.publish.swap import publish_libraries as run
    from govlake.sharing.zone import EXCHANGE_UPKEEP

    pubs = run(logical_date, validation_passed, tables=PUBLISHED_TABLES, reason=reason, zone=EXCHANGE_UPKEEP)
    return [p.as_dict() for p in pubs]


def reconcile(logical_date: str, published: bool) -> list[dict[str, Any]]:
    from govlake.publish.reconcile import reconcile as run

    rows = [r.as_dict() for r in run(logical_date, published)]
    unbalanced = [r for r in rows if not r.get("balanced")]
    for r in rows:
        log.info("reconciliation %s", r)
    if unbalanced:
        raise RuntimeError(f"reconciliation failed for {len(unbalanced)} batch(es): {unbalanced}")
    return rows


# -- dbt task groups ---------------------------------------------------------------------------
def prepare_build(settings: Settings | None = None) -> dict[str, Any]:
    """Before the per-model tasks: raw tables for every registry dataset exist, the manifest is current."""
    from govlake.transform.manifest import MANIFEST_PATH, write_manifest
    from govlake.warehouse import bootstrap_warehouse

    bootstrap_warehouse(settings)
    result = write_manifest(settings)
    return {"manifest": str(MANIFEST_PATH), "reparsed": result is not None}


def prepare_libraries(logical_date: str, settings: Settings | None = None) -> dict[str, Any]:
    """Before the per-model library tasks: whether incremental models must be rebuilt in full.

    True when one already holds a build for a later logical date (a re-run of an earlier date); the same
    rule ``govlake.transform.build_libraries`` applies to the whole build.
    """
    from govlake.settings import get_settings
    from govlake.transform.runner import incremental_state_is_ahead

    full_refresh = incremental_state_is_ahead(settings or get_settings(), "", logical_date)
    if full_refresh:
        log.warning("incremental models hold a build later than %s: rebuilding them in full", logical_date)
    return {"logical_date": logical_date, "full_refresh": full_refresh}
