"""Per-batch reconciliation: rows in = published + quarantined (+ held), upserted, never duplicated."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import psycopg
import pytest
from rich.console import Console

from govlake.publish.reconcile import balance, format_reconciliation, reconcile
from govlake.settings import Settings

# A date no real cycle uses, so the synthetic batches are the only ones reconciled.
DATE = dt.date(1999, 12, 31)
BATCHES = {"pub_test__population__1999-12-31": 100, "pub_test__entities__1999-12-31": 40}


@pytest.fixture
def synthetic_batches(pub_settings: Settings, pg: psycopg.Connection) -> Iterator[None]:
    _clean(pg)
    for batch_id, rows in BATCHES.items():
        pg.execute(
            """insert into platform.batches (batch_id, department, dataset, logical_date, source_kind, source,
                                             rows_extracted, rows_loaded, rows_rejected, status)
               values (%s, 'pub_test', %s, %s, 'csv', 'synthetic', %s, %s, %s, 'loaded')""",
            (batch_id, batch_id.split("__")[1], DATE, rows, rows - 3, 3),
        )
    quarantined = [
        # population: 3 rows rejected at ingest, then row 3 again and row 4 twice (two rules) at validation,
        # and row 4 of the batch's second file (an API's next page numbers its rows from 1 again)
        ("pub_test__population__1999-12-31", "ingest", "page-1", 1, "required"),
        ("pub_test__population__1999-12-31", "ingest", "page-1", 2, "type"),
        ("pub_test__population__1999-12-31", "ingest", "page-1", 3, "type"),
        ("pub_test__population__1999-12-31", "validate", "page-1", 3, "resident_id_check_digit"),
        ("pub_test__population__1999-12-31", "validate", "page-1", 4, "resident_id_check_digit"),
        ("pub_test__population__1999-12-31", "validate", "page-1", 4, "birth_date_in_range"),
        ("pub_test__population__1999-12-31", "validate", "page-2", 4, "birth_date_in_range"),
    ]
    for batch_id, stage, source_file, row, rule in quarantined:
        pg.execute(
            """insert into platform.quarantine (batch_id, department, dataset, logical_date, stage, source_file,
                                                source_row, rule, dimension, message, record)
               values (%s, 'pub_test', 'population', %s, %s, %s, %s, %s, 'accuracy', 'synthetic', %s)""",
            (batch_id, DATE, stage, source_file, row, rule, json.dumps({"row": row})),
        )
    yield
    _clean(pg)


def _clean(pg: psycopg.Connection) -> None:
    for table in ("reconciliation", "quarantine", "batches"):
        pg.execute(f"delete from platform.{table} where batch_id like 'pub\\_test\\_\\_%%'")


@pytest.mark.integration
def test_published_batches_balance_and_rerun_upserts(
    pub_settings: Settings, pg: psycopg.Connection, synthetic_batches: None
) -> None:
    results = {r.batch_id: r for r in reconcile(DATE, True, pub_settings)}
    population = results["pub_test__population__1999-12-31"]
    assert (population.rows_in, population.rows_quarantined, population.rows_published) == (100, 5, 95)
    assert population.rows_held == 0 and population.balanced
    entities = results["pub_test__entities__1999-12-31"]
    assert (entities.rows_in, entities.rows_quarantined, entities.rows_published, entities.balanced) == (
        40,
        0,
        40,
        True,
    )

    reconcile(DATE, True, pub_settings)
    stored = pg.execute(
        """select batch_id, rows_in, rows_published, rows_quarantined, rows_held, balanced
           from platform.reconciliation where batch_id like 'pub\\_test\\_\\_%%' order by batch_id"""
    ).fetchall()
    assert stored == [
        ("pub_test__entities__1999-12-31", 40, 40, 0, 0, True),
        ("pub_test__population__1999-12-31", 100, 95, 5, 0, True),
    ]


@pytest.mark.integration
def test_blocked_cycle_holds_the_valid_rows(
    pub_settings: Settings, pg: psycopg.Connection, synthetic_batches: None
) -> None:
    reconcile(DATE, True, pub_settings)
    results = {r.batch_id: r for r in reconcile(DATE, False, pub_settings)}
    population = results["pub_test__population__1999-12-31"]
    assert (population.rows_published, population.rows_held, population.rows_quarantined) == (0, 95, 5)
    assert population.balanced
    held = pg.execute(
        "select rows_published, rows_held from platform.reconciliation where batch_id = %s",
        ("pub_test__population__1999-12-31",),
    ).fetchone()
    assert held == (0, 95)


def test_more_quarantined_than_read_never_balances() -> None:
    assert not balance("b", DATE, "d", "s", rows_in=5, quarantined=7, published=True).balanced


def test_format_reconciliation_renders_a_ledger() -> None:
    rows = [
        balance("public_security__household_registration__2024-03-01", DATE, "d", "s", 1000, 12, True),
        balance("broken__batch__2024-03-01", DATE, "d", "s", 5, 7, True),
    ]
    console = Console(record=True, width=140)
    console.print(format_reconciliation(rows))
    text = console.export_text()
    assert "public_security__household_registration__2024-03-01" in text
    assert "1,000" in text and "988" in text and "NO" in text and "total" in text
    assert json.loads(json.dumps(rows[0].as_dict()))["logical_date"] == DATE.isoformat()  # XCom-ready
