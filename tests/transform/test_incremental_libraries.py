"""The population libraries built day by day, incrementally and through publishing, equal a full rebuild.

Three days of changes touching every population source — a renamed person, a person the registry deletes,
an enrollment moved to another person and one withdrawn, a 低保 listing ended and a new one, payees, a
payment moved to another person and one deleted, a quarantined update, and on the third day a corrected
re-delivery of the second day's 公安厅, 人社厅 and 财政厅 files that leaves the rename, the moves and the
deletion out, and 卫健委's workbook repeating a certificate unchanged —
are built in one set of schemas with each day published (the second day's build starts from the copy the
first publication leaves in audit, the third's from the version publishing exchanged back into audit), and
from scratch in another. The two libraries (and the incrementally built sources' current rows) must be
identical but for the build stamps, and the incremental
builds must have recomputed only the persons that changed. The population history recorded from the
recomputed persons must equal the history recorded by comparing every person (the rebuilt schemas'),
version for version.
"""

from __future__ import annotations

import os
import shutil
from datetime import date

import pytest
from psycopg.types.json import Jsonb

from govlake.publish.swap import publish_libraries
from govlake.transform import build_libraries, build_staging, runner, snapshot_history

from .test_libraries_build import (
    CA_D,
    CA_M,
    FI,
    HR,
    HW,
    PS,
    allowance,
    certificate,
    enrollment,
    insert,
    marriage,
    payment,
    person,
)
from .test_libraries_build import lineage as shared_lineage

pytestmark = pytest.mark.integration

TAG = f"incr{os.getpid()}"
DAYS = ("1997-03-01", "1997-03-02", "1997-03-03")
A, B, C, D = "520102198001010011", "520102198202020022", "520102198403030033", "520102198604040044"
K = "520102199611010055"  # B's child, linked to 卫健委's certificate through B's household
X, Y = "520302197001010066", "520302197202020077"  # 人社厅 only; 民政厅 低保 only (from day 2)
LIBRARIES = ("population", "population_conflicts")
INCREMENTAL_SOURCES = {
    "int_subsidy_payments_deduplicated": "true",
    "int_persons_paid": "_deleted is not true",
    "int_persons_insured": "_deleted is not true",
}
# build stamps; which recipient a payment had before the build is the incremental builds' own
STAMPS = {"built_for_date", "_built_at", "_built_for_date", "_previous_recipient_id"}


def batch(dataset: str, day: str) -> str:
    return f"{dataset}__{day}__{TAG}"


def lineage(dataset: str, day: str, row: int) -> dict:
    return shared_lineage(dataset, day, row) | {"_batch_id": batch(dataset, day)}


def registered(resident_id, name, household, relation, updated, **changes):
    row = person(resident_id, name, "1980-01-01", "520102", updated)
    row.update(household_id=household, relation_to_head=relation, **changes)
    return row


def deliveries() -> dict[str, dict[str, list[dict]]]:
    """Per day, per raw table, the rows delivered that day."""
    day1 = {
        PS: [
            registered(A, "甲", "H1", "户主", "1997-02-01T10:00:00+08:00"),
            registered(B, "乙", "H2", "户主", "1997-02-01T10:00:00+08:00"),
            registered(C, "丙", "H3", "户主", "1997-02-01T10:00:00+08:00"),
            registered(D, "丁", "H4", "户主", "1997-02-01T10:00:00+08:00"),
            registered(K, "张小明", "H2", "子", "1997-02-01T10:00:00+08:00", birth_date=date(1996, 11, 1)),
        ],
        HR: [
            enrollment("E1", A, "甲", "1980-01-01", "养老保险", None),
            enrollment("E2", B, "乙乙", "1980-01-01", "医疗保险", None),
            enrollment("E3", X, "戊", None, "养老保险", None, division="520302"),
        ],
        CA_M: [marriage("M1", "结婚", "1990-05-01", A, "甲", B, "乙")],
        CA_D: [allowance(C, "丙", "F3", "520103")],
        HW: [certificate("BC1", B, "乙")],
        FI: [
            payment("P1", A, "甲"),
            payment("P3", C, "丙"),
            payment("P4", X, "戊"),
            payment("P5", K, "张小明"),
        ],
    }
    day2 = {
        PS: [
            registered(A, "甲改", "H1", "户主", "1997-03-02T09:00:00+08:00"),
            registered(D, "丁", "H4", "户主", "1997-03-02T09:00:00+08:00") | {"_deleted": True},
            registered(C, "丙错", "H3", "户主", "1997-03-02T09:00:00+08:00"),  # quarantined below
        ],
        HR: [
            enrollment("E3", C, "丙", None, "养老保险", None),  # the record moves from X to C
            enrollment("E2", B, "乙乙", "1980-01-01", "医疗保险", None) | {"_deleted": True},
        ],
        CA_D: [allowance(Y, "己", "F9", "520302")],  # C's listing ends: not delivered any more below
        FI: [
            payment("P1", A, "甲改"),
            payment("P3", B, "乙"),  # a correction moves the payment from C to B
            payment("P4", X, "戊") | {"_deleted": True},  # and 财政厅 deletes X's only payment
        ],
    }
    # 卫健委's workbook repeats the year's certificates every day: BC1 again, unchanged (not a change of B's
    # or K's: the certificate keeps citing its first delivery)
    day3 = {FI: [payment("P2", B, "乙二")], HW: [certificate("BC1", B, "乙")]}
    return {DAYS[0]: day1, DAYS[1]: day2, DAYS[2]: day3}


def corrections() -> dict[str, tuple[str, dict[str, list[tuple[int, dict]]]]]:
    """Per day, an earlier day and its files re-delivered that day, corrected: (source row, row) per raw table.

    Day 3: 公安厅's day-2 file without A's rename (A's day-2 version was built and published) and 人社厅's
    without the move of E3 to C (E3 is X's again): what a re-delivery withdraws must leave the libraries."""
    ps = [
        (2, registered(D, "丁", "H4", "户主", "1997-03-02T09:00:00+08:00") | {"_deleted": True}),
        (3, registered(C, "丙错", "H3", "户主", "1997-03-02T09:00:00+08:00")),  # still quarantined
    ]
    hr = [(2, enrollment("E2", B, "乙乙", "1980-01-01", "医疗保险", None) | {"_deleted": True})]
    # 财政厅's day-2 file without the move of P3 (C's again) and without X's deletion (X is paid again)
    fi = [(1, payment("P1", A, "甲改"))]
    return {DAYS[2]: (DAYS[1], {PS: ps, HR: hr, FI: fi})}


def redeliver(warehouse, day: str, rows_by_table: dict[str, list[tuple[int, dict]]], cycle: str) -> None:
    """Replace the rows of `day`'s batches as ingest does with a re-delivery, then validate them again in
    the cycle of `cycle` (platform.batches.finished_at and batch_validations.validated_at move on)."""
    with warehouse.transaction():
        for table, rows in rows_by_table.items():
            warehouse.execute(f"delete from raw.{table} where _batch_id = %s", (batch(table, day),))
            insert(warehouse, table, [r | lineage(table, day, i) for i, r in rows])
            warehouse.execute(
                "update platform.batches set finished_at = now() - interval '1 second' where batch_id = %s",
                (batch(table, day),),
            )
            warehouse.execute(
                "update platform.batch_validations set validated_at = now(), cycle_date = %s where batch_id = %s",
                (cycle, batch(table, day)),
            )


@pytest.fixture(scope="module")
def prefixes(warehouse, settings, accept_batches):
    incremental, full = f"inc{os.getpid()}_", f"ful{os.getpid()}_"
    try:
        yield incremental, full
    finally:
        with warehouse.transaction():
            for table in (PS, HR, CA_M, CA_D, HW, FI):
                warehouse.execute(f"delete from raw.{table} where _batch_id like %s", (f"%__{TAG}",))
            warehouse.execute("delete from platform.quarantine where batch_id like %s", (f"%__{TAG}",))
        for prefix in (incremental, full):
            for layer in ("staging", "audit", "reference", "history", "base", "share"):
                warehouse.execute(f'drop schema if exists "{prefix}{layer}" cascade')
            shutil.rmtree(runner._target_path(prefix), ignore_errors=True)


def deliver(warehouse, accept_batches, day: str, rows_by_table: dict[str, list[dict]]) -> None:
    with warehouse.transaction():
        for table, rows in rows_by_table.items():
            insert(warehouse, table, [r | lineage(table, day, i) for i, r in enumerate(rows, 1)])
        if day == DAYS[1]:
            # 民政厅's 低保 listing is a full extract: C's ended listing arrives as a tombstone
            ended = allowance(C, "丙", "F3", "520103") | {"is_deleted": 1, "_deleted": True}
            insert(warehouse, CA_D, [ended | lineage(CA_D, day, 9)])
            warehouse.execute(
                "insert into platform.quarantine (batch_id, department, dataset, logical_date, stage,"
                " source_file, source_row, rule, dimension, severity, column_name, message, record)"
                " values (%s, 'public_security', 'household_registration', %s, 'validate', %s, 3,"
                " 'pytest_rule', 'accuracy', 'blocking', 'name', 'quarantined by the incremental test', %s)",
                (batch(PS, day), day, f"pytest/{PS}/{day}", Jsonb({"resident_id": C})),
            )
    accept_batches((batch(t, day), t, day) for t in rows_by_table)


def library(warehouse, schema: str, table: str, where: str = "true") -> set[tuple]:
    columns = [
        c
        for (c,) in warehouse.execute(
            "select column_name from information_schema.columns where table_schema = %s and table_name = %s"
            " order by ordinal_position",
            (schema, table),
        ).fetchall()
        if c not in STAMPS
    ]
    rows = warehouse.execute(f'select {", ".join(columns)} from "{schema}".{table} where {where}').fetchall()
    return {tuple(str(v) for v in row) for row in rows}


def versions(warehouse, schema: str, resident_id: str) -> list[tuple]:
    return warehouse.execute(
        f'select name, dbt_valid_from::date, dbt_valid_to::date from "{schema}".population_history'
        " where resident_id = %s order by dbt_valid_from",
        (resident_id,),
    ).fetchall()


def recomputed(warehouse, schema: str, day: str) -> set[str]:
    return {
        r
        for (r,) in warehouse.execute(
            f'select resident_id from "{schema}".population where built_for_date = %s', (day,)
        ).fetchall()
    }


def test_incremental_and_published_builds_equal_a_full_rebuild(warehouse, settings, accept_batches, prefixes):
    incremental, full = prefixes
    seen = {}
    for day, rows in deliveries().items():
        deliver(warehouse, accept_batches, day, rows)
        if day in corrections():
            earlier, corrected = corrections()[day]
            redeliver(warehouse, earlier, corrected, cycle=day)
        for prefix in prefixes:
            assert build_staging(day, settings, schema_prefix=prefix).success
        built = build_libraries(day, settings, schema_prefix=incremental)
        assert built.success, built.summary()
        seen[day] = recomputed(warehouse, f"{incremental}audit", day)
        # history records the gated build before it is published (the DAG's record_history)
        recorded = snapshot_history(day, settings, schema_prefix=incremental)
        assert recorded.success, recorded.summary()
        published = publish_libraries(
            day,
            True,
            LIBRARIES,
            settings,
            audit_schema=f"{incremental}audit",
            base_schema=f"{incremental}base",
            share_schema=f"{incremental}share",
        )
        assert {p.status for p in published} == {"published"}
        rebuilt = build_libraries(day, settings, schema_prefix=full, full_refresh=True)
        assert rebuilt.success, rebuilt.summary()
        # a rebuilt library restamps every person: its history compares every open version
        recorded = snapshot_history(day, settings, schema_prefix=full)
        assert recorded.success, recorded.summary()
        for table in LIBRARIES:
            assert library(warehouse, f"{incremental}base", table) == library(
                warehouse, f"{full}audit", table
            ), f"{table} on {day}"
        # the incrementally built sources too (their tombstones are the incremental builds' own)
        for table, where in INCREMENTAL_SOURCES.items():
            assert library(warehouse, f"{incremental}audit", table, where) == library(
                warehouse, f"{full}audit", table, where
            ), f"{table} on {day}"
        # the history of the persons a build recomputed equals the history of comparing everyone
        assert library(warehouse, f"{incremental}history", "population_history") == library(
            warehouse, f"{full}history", "population_history"
        ), f"population_history on {day}"

    population = {r[0]: r for r in library(warehouse, f"{full}audit", "population")}
    assert A in population and D not in population and X in population and Y in population
    # the corrected re-delivery took A's rename back: 公安厅's day-1 name again
    name = warehouse.execute(
        f'select name from "{incremental}base".population where resident_id = %s', (A,)
    ).fetchone()
    assert name == ("甲",)
    # A's rename came and went; D's deletion closed D's version; B's unchanged certificate added none
    day1, day2, day3 = (date.fromisoformat(d) for d in DAYS)
    history = f"{incremental}history"
    assert versions(warehouse, history, A) == [("甲", day1, day2), ("甲改", day2, day3), ("甲", day3, None)]
    assert versions(warehouse, history, D) == [("丁", day1, day2)]
    assert len(versions(warehouse, history, K)) == 1
    # day 1 builds everyone; its publication moves the build into base and leaves a copy in audit, so day 2
    # starts from it and recomputes whom a source changed: A (renamed payee), B (withdrawn enrollment), C (the
    # ended 低保 listing, E3 moved to C; C's own update is quarantined; P3 moved from C to B), Y (new
    # listing); D, and X with E3 (and P4 deleted), left the library. Day 3 starts from the day-1 version
    # publishing exchanged back, and recomputes whom a source changed since: A (payee; the rename came and
    # went), B (new payment; P3 back to C), C (the enrollment moved to C came and went, P3 too), X (back with
    # E3 and P4), Y
    assert {A, B, C, D, K, X} <= seen[DAYS[0]]
    assert seen[DAYS[1]] == {A, B, C, Y}
    assert seen[DAYS[2]] == {A, B, C, X, Y}
    # the payments as the corrected re-delivery left them: P3 is C's again, X is paid again
    paid = dict(
        warehouse.execute(
            f'select resident_id, payment_count from "{incremental}audit".int_persons_paid where not _deleted'
        ).fetchall()
    )
    assert paid == {A: 1, B: 1, C: 1, K: 1, X: 1}
    # published day by day: base holds day 3, audit the day-2 version publishing exchanged back into it
    built_for = {
        schema: warehouse.execute(
            "select built_for_date from platform.table_builds where relation_oid = to_regclass(%s)::oid",
            (f"{incremental}{schema}.population",),
        ).fetchone()
        for schema in ("base", "audit")
    }
    assert built_for == {"base": (date(1997, 3, 3),), "audit": (date(1997, 3, 2),)}
    # planner statistics (macros/planner_statistics.sql): a fresh table is analysed as it is built; an
    # incremental build that changed a few rows (4 persons on day 3) leaves the statistics it has
    analysed = {
        schema: warehouse.execute(
            "select pg_stat_get_last_analyze_time(b.relation_oid), b.built_at from platform.table_builds as b"
            " where b.relation_oid = to_regclass(%s)::oid",
            (f"{schema}.population",),
        ).fetchone()
        for schema in (f"{incremental}base", f"{full}audit")
    }
    last_analyze, day3_started = analysed[f"{incremental}base"]
    assert last_analyze is not None and last_analyze < day3_started
    last_analyze, rebuild_started = analysed[f"{full}audit"]
    assert last_analyze is not None and last_analyze > rebuild_started
    # population's stamp index (its row-level tests and the history read the recomputed persons by it): one on
    # each version, however often publishing exchanged them (it renames indexes) and a build ensured it
    for schema in (f"{incremental}base", f"{incremental}audit", f"{full}audit"):
        stamp_indexes = warehouse.execute(
            "select count(*) from pg_index as ix"
            " join pg_attribute as att on att.attrelid = ix.indrelid and att.attnum = ix.indkey[0]"
            " where ix.indrelid = to_regclass(%s) and ix.indnatts = 1 and att.attname = '_built_at'",
            (f"{schema}.population",),
        ).fetchone()[0]
        assert stamp_indexes == 1, schema
