"""The daily cycle end to end, through the real Airflow scheduler, at small scale.

Generates a province with known defects, runs ingest → build → validate → publish through Airflow,
then checks every zone and the reconciliation; runs the same date again and checks nothing changed.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import psycopg
import pytest

from govlake.registry import iter_datasets

from .cycles import generate_day, run_day

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.first_cycle]

SEED = 7


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _snapshot(conn, day: str) -> dict:
    q = lambda sql, *a: conn.execute(sql, a).fetchone()[0]  # noqa: E731
    return {
        "raw": {
            ds.key: q(f"select count(*) from {ds.raw_table} where _logical_date = %s", day)
            for ds in iter_datasets()
        },
        "raw_distinct_rows": q(
            """select count(*) from (select distinct _batch_id, _source_row
                                   from raw.public_security__household_registration where _logical_date = %s) s""",
            day,
        ),
        "quarantine": q("select count(*) from platform.quarantine where logical_date = %s", day),
        "population": q("select count(*) from base.population"),
        "legal_entities": q("select count(*) from base.legal_entities"),
        "reconciliation": conn.execute(
            """select batch_id, rows_in, rows_published, rows_quarantined, balanced
                 from platform.reconciliation where logical_date = %s order by batch_id""",
            (day,),
        ).fetchall(),
    }


@pytest.fixture(scope="module")
def cycle(stack):
    day = _today()
    # `small`: the rarer datasets (低保, births, marriages) need enough rows that 3 % of defects stay
    # under each blocking rule's threshold; at `tiny` a single bad row in a 3-row batch blocks the cycle.
    report = generate_day(stack, day, scale="small", seed=SEED, defect_rate=0.03)
    return day, report, run_day(stack, day)


def test_cycle_completes_through_the_scheduler(cycle):
    day, _, outcome = cycle
    assert outcome.ok, f"cycle failed: {outcome.failed}"
    assert all(run is not None and run.state == "success" for run in outcome.runs.values())


def test_every_batch_reconciles(cycle, warehouse):
    day, _, _ = cycle
    rows = warehouse.execute(
        "select batch_id, rows_in, rows_published, rows_quarantined, balanced from platform.reconciliation "
        "where logical_date = %s",
        (day,),
    ).fetchall()
    assert len(rows) == len(list(iter_datasets())), "a registry dataset has no reconciled batch"
    for batch_id, rows_in, published, quarantined, balanced in rows:
        assert balanced and rows_in == published + quarantined, batch_id
        assert rows_in > 0 and published > 0, batch_id
    assert sum(r[3] for r in rows) > 0, "defects were injected but nothing was quarantined"


def test_injected_defects_are_quarantined_with_reasons(cycle, warehouse):
    day, _, _ = cycle
    rules = dict(
        warehouse.execute(
            "select rule, count(*) from platform.quarantine where logical_date = %s group by rule", (day,)
        ).fetchall()
    )
    assert rules, "nothing quarantined although defects were injected"
    msgs = warehouse.execute(
        "select message, source_file, source_row, dimension from platform.quarantine where logical_date = %s",
        (day,),
    ).fetchall()
    for message, source_file, source_row, dimension in msgs:
        assert message and source_file and source_row is not None
        assert dimension in {
            "conformity",
            "completeness",
            "accuracy",
            "consistency",
            "timeliness",
            "accessibility",
        }


def test_the_injected_defects_are_quarantined(cycle, warehouse):
    """Every dataset with injected row defects has them quarantined, and nothing beyond them.

    The manifest counts defects, not rows: a duplicated row that was itself given a defect is one row
    failing two rules, so the distinct quarantined rows may fall short of the count by those overlaps.
    Cross-department conflicts are flagged in the libraries, not rejected — unless the altered value also
    breaks a rule of the dataset itself (a certificate issued before the altered birth date).
    """
    day, report, _ = cycle
    for dataset_key, kinds in report.manifest.items():
        injected = sum(n for kind, n in kinds.items() if kind != "cross_department_conflict")
        quarantined = warehouse.execute(  # a workbook numbers rows per sheet: source_file names the sheet
            "select count(distinct (source_file, source_row)) from platform.quarantine where batch_id = %s"
            " and superseded_at is null",  # an earlier delivery of the date (a kept stack) is history
            (f"{dataset_key}__{day}",),
        ).fetchone()[0]
        ceiling = injected + kinds.get("cross_department_conflict", 0)
        assert quarantined <= ceiling, f"{dataset_key}: injected {kinds}, quarantined {quarantined} rows"
        assert quarantined >= injected - kinds.get("duplicate_row", 0), (
            f"{dataset_key}: injected {kinds}, only {quarantined} rows quarantined"
        )
    conflicts = report.manifest["human_resources__social_insurance_enrollment"].get(
        "cross_department_conflict", 0
    )
    if conflicts:
        flagged = warehouse.execute(
            "select count(*) from base.population where cardinality(conflict_fields) > 0"
        ).fetchone()[0]
        assert flagged > 0


def test_published_libraries_hold_only_valid_people(cycle, warehouse):
    from stdnum.cn import ric

    ids = [r[0] for r in warehouse.execute("select resident_id from base.population").fetchall()]
    assert ids
    bad = [i for i in ids if ric.calc_check_digit(i) != i[17]]
    assert not bad, bad[:5]
    dupes = warehouse.execute(
        "select count(*) - count(distinct resident_id) from base.population"
    ).fetchone()[0]
    assert dupes == 0


def test_a_department_reads_only_the_unconditional_items(cycle, stack, warehouse):
    from govlake.catalog.model import CONDITIONAL, UNCONDITIONAL
    from govlake.catalog.store import get_entry

    entry = get_entry(warehouse, "population")
    assert "resident_id" in entry.items_of(CONDITIONAL)
    from govlake.warehouse.department_roles import connect_as

    # 民政厅's own login, provisioned with every registry department (passwords in departments.env)
    with connect_as("civil_affairs", stack, autocommit=True) as conn:
        free = ", ".join(entry.items_of(UNCONDITIONAL))
        assert conn.execute(f"select {free} from exchange.population limit 50").fetchall()
        for forbidden in ("exchange.population", "share.population", "base.population"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select resident_id from {forbidden} limit 1")


def test_every_zone_has_the_day(cycle, stack):
    from govlake.lake import s3_client

    day, _, _ = cycle
    s3 = s3_client(stack)
    for bucket, prefix in (
        ("landing", "market_regulation/market_entities/"),
        ("landing", "public_security/household_registration/"),
        ("landing", "human_resources/social_insurance_enrollment/"),
        ("raw", "public_security/household_registration/"),
    ):
        names = [o.object_name for o in s3.list_objects(bucket, prefix=f"{prefix}{day}/", recursive=True)]
        assert names, f"nothing in s3://{bucket}/{prefix}{day}/"
    manifest = json.loads(
        s3.get_object("raw", f"public_security/household_registration/{day}/_manifest.json").read()
    )
    assert manifest["rows_loaded"] > 0 and manifest["checksum"] and manifest["schema_hash"]
    open_files = [
        o.object_name
        for o in s3.list_objects("open", prefix="population-by-county-gender-age/", recursive=True)
    ]
    assert any(n.endswith(f"{day}/data.csv") for n in open_files)
    assert any(n.endswith(f"{day}/data.parquet") for n in open_files)
    data = s3.get_object("open", f"population-by-county-gender-age/{day}/data.csv").read()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) > 1
    quarantined = list(s3.list_objects("quarantine", recursive=True))
    assert quarantined, "no quarantine objects in S3"


def test_airflow_reported_every_ingest_task_to_the_lineage_receiver(cycle, stack, warehouse):
    """Airflow's OpenLineage provider (emitting from a thread of the task) delivered each task run of the
    day's ingests to the platform's receiver: a START and a COMPLETE, tied to the DAG run they belong to."""
    _, _, outcome = cycle
    runs = {dag: run.run_id for dag, run in outcome.runs.items() if dag.startswith("ingest__") and run}
    assert runs
    with psycopg.connect(stack.pg_url(stack.airflow_db)) as airflow_db:
        tasks = airflow_db.execute(
            "select dag_id, run_id, task_id from task_instance"
            " where run_id = any(%s) and dag_id = any(%s) and state = 'success'",
            (list(runs.values()), list(runs)),
        ).fetchall()
    events = warehouse.execute(
        """select payload #>> '{run,facets,airflow,dagRun,dag_id}', payload #>> '{run,facets,airflow,dagRun,run_id}',
                  job_name, array_agg(distinct event_type)
             from platform.lineage_events
            where producer like '%%/providers-openlineage/%%' and job_name like 'ingest\\_\\_%%.%%'
            group by 1, 2, 3"""
    ).fetchall()
    reported = {(dag, run_id, job): set(types) for dag, run_id, job, types in events}
    assert len(tasks) >= 2 * len(runs)
    for dag_id, run_id, task_id in tasks:
        types = reported.get((dag_id, run_id, f"{dag_id}.{task_id}"))
        assert types and {"START", "COMPLETE"} <= types, (dag_id, run_id, task_id, types)


def test_rerun_of_the_same_date_changes_nothing(cycle, stack, warehouse):
    day, _, _ = cycle
    before = _snapshot(warehouse, day)
    outcome = run_day(stack, day)
    assert outcome.ok, outcome.failed
    after = _snapshot(warehouse, day)
    assert after == before
    assert before["raw"]["public_security__household_registration"] == before["raw_distinct_rows"]
