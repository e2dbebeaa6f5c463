"""The subsidy-audit theme finds exactly the findings the province generator built in.

The generator (``demo_province``) records, next to the sources, the subsidy-audit facts it put into them:
payments after the recipient's death, the same month paid twice, payments to ID numbers the household
registry never issued, and 低保 recipients still listed although dead. Here a province is generated in memory
(seeded, no defects, so every finding is listed), 公安厅's, 民政厅's and 财政厅's tables are COPYed into the
shared raw tables under a test-only logical date with batch ids unique to this run, dbt builds
``subsidy_audit_findings`` into throw-away prefixed schemas, and the findings are compared key by key.
Raw rows are deleted afterwards; the prefixed schemas are dropped by conftest.py.

The dbt unit tests (``_subsidy_audit__models.yml``, ``_agriculture__models.yml``) prove each rule on tiny
fixtures; this test proves the rules together on ~50,000 generated persons.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime

import psycopg
import pytest

from demo_province.findings import DECEASED_RECIPIENTS, PAID_AFTER_DEATH, PAID_TWICE, UNKNOWN_RECIPIENTS
from demo_province.generator import iter_province
from demo_province.tables import DIBAO, HOUSEHOLD, PAYMENTS
from govlake.registry import iter_datasets
from govlake.settings import Settings
from govlake.transform import run_dbt

pytestmark = pytest.mark.integration

# The sources describe the province on 2026-11-27; they are filed under a logical date no real delivery
# (and no other test) uses, so the prefixed build sees only this test's rows.
PROVINCE_DATE = date(2026, 11, 27)
LOGICAL_DATE = "1997-06-30"
PERSONS = 50_000
SEED = 3  # at 50,000 persons this seed builds in every kind of finding (checked below)
TAG = f"pytest{os.getpid()}"

# model finding_type -> (generator dataset, generator kind)
KINDS = {
    "paid_after_death": (PAYMENTS, PAID_AFTER_DEATH),
    "paid_twice": (PAYMENTS, PAID_TWICE),
    "unknown_recipient": (PAYMENTS, UNKNOWN_RECIPIENTS),
    "deceased_still_listed": (DIBAO, DECEASED_RECIPIENTS),
}
LOADED = (HOUSEHOLD, DIBAO, PAYMENTS)


def _batch(dataset_key: str) -> str:
    return f"{dataset_key}__{LOGICAL_DATE}__{TAG}"


def _copy_table(conn: psycopg.Connection, dataset_key: str, table: dict[str, list]) -> int:
    """COPY a generated source table into its raw table, source names -> registry names, '' -> NULL."""
    dataset = next(d for d in iter_datasets() if d.key == dataset_key)
    flag = dataset.source.get("deleted_flag") or dataset.source.get("soft_delete")
    names = [c.name for c in dataset.columns]
    columns = [
        *names,
        "_batch_id",
        "_logical_date",
        "_source_file",
        "_source_row",
        "_ingested_at",
        "_deleted",
    ]
    ingested = datetime(1997, 6, 30, 18, 0, tzinfo=UTC)
    n = len(table[dataset.columns[0].source_name])
    with conn.cursor().copy(f"copy {dataset.raw_table} ({', '.join(columns)}) from stdin") as copy:
        for i in range(n):
            values = [table[c.source_name][i] for c in dataset.columns]
            deleted = bool(flag) and str(table[flag][i]) in ("1", "true", "t")
            copy.write_row(
                [
                    *(None if v is None or v == "" else v for v in values),
                    _batch(dataset_key),
                    LOGICAL_DATE,
                    f"pytest/{dataset_key}",
                    i + 1,
                    ingested,
                    deleted,
                ]
            )
    return n


@pytest.fixture(scope="module")
def generated() -> tuple[dict[str, dict[str, list]], dict[str, dict[str, list[str]]]]:
    """The province's 公安厅, 民政厅 (低保) and 财政厅 tables, and the findings built into them."""
    tables: dict[str, dict[str, list]] = {ds: {} for ds in LOADED}
    findings: dict[str, dict[str, list[str]]] = {}
    for chunk in iter_province(PERSONS, SEED, PROVINCE_DATE, defect_rate=0.0):
        for ds in LOADED:
            for column, values in chunk.tables[ds].items():
                tables[ds].setdefault(column, []).extend(values)
        for ds, kinds in chunk.findings.items():
            for kind, keys in kinds.items():
                findings.setdefault(ds, {}).setdefault(kind, []).extend(keys)
    return tables, findings


@pytest.fixture(scope="module")
def built(
    warehouse: psycopg.Connection, schema_prefix: str, settings: Settings, generated, accept_batches
) -> Iterator[str]:
    tables, _ = generated
    try:
        with warehouse.transaction():
            for ds in LOADED:
                _copy_table(warehouse, ds, tables[ds])
        accept_batches((_batch(ds), ds, LOGICAL_DATE) for ds in LOADED)
        run_dbt(
            # buildable: a test runs only when all its parents are built (not the other libraries' tests)
            ["build", "--select", "+subsidy_audit_findings", "--exclude", "tag:history"]
            + ["--indirect-selection", "buildable"]
            # other transform tests share the schema prefix with later dates: rebuild incrementals
            + ["--full-refresh"],
            settings,
            LOGICAL_DATE,
            schema_prefix=schema_prefix,
        )
        yield f'"{schema_prefix}audit".subsidy_audit_findings'
    finally:
        for ds in LOADED:
            dataset = next(d for d in iter_datasets() if d.key == ds)
            warehouse.execute(f"delete from {dataset.raw_table} where _batch_id = %s", (_batch(ds),))


def _found(warehouse: psycopg.Connection, relation: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for finding_type, key in warehouse.execute(f"select finding_type, finding_key from {relation}"):
        found[finding_type].add(key)
    return found


def test_generated_province_holds_every_kind_of_finding(generated) -> None:
    # Guards the comparison below against a seed or scale that would make it vacuous.
    _, findings = generated
    for finding_type, (ds, kind) in KINDS.items():
        assert findings[ds][kind], f"seed {SEED} at {PERSONS} persons builds no {kind} ({finding_type})"


@pytest.mark.parametrize("finding_type", list(KINDS))
def test_subsidy_audit_finds_exactly_the_built_in_findings(warehouse, built, generated, finding_type) -> None:
    _, findings = generated
    ds, kind = KINDS[finding_type]
    expected = set(findings[ds][kind])
    found = _found(warehouse, built)[finding_type]
    missing, extra = sorted(expected - found), sorted(found - expected)
    assert not missing and not extra, (
        f"{finding_type}: generator built {len(expected)} ({kind} in {ds}), model found {len(found)}; "
        f"missing {missing[:10]}, extra {extra[:10]} — see models/themes/subsidy_audit/subsidy_audit_findings.sql"
    )


def test_findings_carry_each_departments_evidence(warehouse, built) -> None:
    rows = warehouse.execute(
        f"select finding_type, payment_id, payment_ids, death_date, death_source_batch_id, payment_date,"
        f" evidence from {built}"
    ).fetchall()
    assert rows
    for finding_type, payment_id, payment_ids, death_date, death_batch, payment_date, evidence in rows:
        if finding_type == "paid_after_death":
            assert death_date < payment_date
            assert death_batch == _batch(HOUSEHOLD)
            assert evidence["public_security"]["batch_id"] == _batch(HOUSEHOLD)
            assert [p["payment_id"] for p in evidence["finance"]] == [payment_id]
        elif finding_type == "paid_twice":
            assert len(payment_ids) >= 2 and payment_id in payment_ids[1:]
            assert {p["payment_id"] for p in evidence["finance"]} == set(payment_ids)
        elif finding_type == "unknown_recipient":
            assert evidence["public_security"] == {"records_with_this_id": 0}
        else:
            assert evidence["civil_affairs"]["status"] == "在保"
            assert evidence["civil_affairs"]["batch_id"] == _batch(DIBAO)
            assert evidence["public_security"]["status"] == "死亡" and death_date is not None
