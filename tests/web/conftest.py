"""A test provider (zz_health) with one dataset in raw, catalogued and in the exchange, and two
consumer departments (zz_civil, zz_other). Everything zz_* is removed afterwards; audit records stay
(the log is append-only by design) and name only zz_* subjects.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from govlake.catalog.build import build_entries
from govlake.catalog.store import sync_catalog
from govlake.registry import load_departments
from govlake.settings import Settings
from govlake.sharing.roles import drop_department_role, ensure_department_role
from govlake.sharing.zone import build_view
from govlake.warehouse import connect, ensure_platform_schema
from govlake.warehouse.raw import ensure_raw_table  # noqa: I001

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "sharing" / "zz_health.yaml"
RESOURCE = "zz_health__zz_births"
PROVIDER, CONSUMER, OTHER = "zz_health", "zz_civil", "zz_other"
# (record_id, resident_id, name, phone, birth_date, division_code, weight_grams, diagnosis)
ROWS = [
    ("B001", "520102199001011237", "张丽", "13812345678", dt.date(2026, 1, 2), "520102", 3200, "正常"),
    ("B002", "52032519881009462X", "李芳", "13987654321", dt.date(2026, 1, 3), "520325", 2900, "早产"),
    ("B003", "520281197306033319", "王敏", None, dt.date(2026, 1, 4), "520281", 3500, '=HYPERLINK("x")'),
]


def cleanup(conn: psycopg.Connection, settings: Settings) -> None:
    conn.execute("drop view if exists exchange.zz_health__zz_births")
    conn.execute("drop table if exists raw.zz_health__zz_births")
    conn.execute(
        "delete from platform.share_grants where consumer like 'zz\\_%%' or resource_key like 'zz\\_%%'"
    )
    conn.execute(
        "delete from platform.share_requests where consumer like 'zz\\_%%' or resource_key like 'zz\\_%%'"
    )
    conn.execute("delete from platform.catalog_entries where entry_key like 'zz\\_%%'")
    conn.execute("delete from platform.access_log where department like 'zz\\_%%'")
    conn.execute("delete from platform.export_runs where consumer like 'zz\\_%%'")
    for dept in (PROVIDER, CONSUMER, OTHER):
        drop_department_role(conn, dept, settings)


@pytest.fixture(scope="session")
def zz_registry(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("registry")
    shutil.copy(FIXTURE, folder / FIXTURE.name)
    return folder


@pytest.fixture
def platform(stack: Settings) -> Iterator[psycopg.Connection]:
    with connect(stack, autocommit=True) as conn:
        ensure_platform_schema(conn)
        yield conn


@pytest.fixture
def zone(stack: Settings, platform: psycopg.Connection, zz_registry: Path) -> Iterator[dict]:
    """The zz dataset in raw (one quarantined row extra), catalogued, with its exchange view and roles."""
    cleanup(platform, stack)
    dataset = load_departments(zz_registry)[0].datasets[0]
    ensure_raw_table(platform, dataset)
    cols = [c.name for c in dataset.columns]
    lineage = ["_batch_id", "_logical_date", "_source_file", "_source_row", "_ingested_at"]
    insert = sql.SQL("insert into raw.zz_health__zz_births ({}) values ({})").format(
        sql.SQL(", ").join(map(sql.Identifier, cols + lineage)),
        sql.SQL(", ").join(sql.Placeholder() * (len(cols) + len(lineage))),
    )
    batch = "zz_health__zz_births__1999-01-01"
    rows = [*ROWS, ("B999", "520102199001011237", "赵坏", None, dt.date(2026, 1, 5), "520102", -1, "x")]
    for n, row in enumerate(rows, start=1):
        platform.execute(insert, (*row, batch, dt.date(1999, 1, 1), "births.csv", n, dt.datetime.now(dt.UTC)))
    platform.execute(
        "insert into platform.quarantine (batch_id, department, dataset, logical_date, stage, source_file, "
        "source_row, rule, dimension, message, record) values (%s, 'zz_health', 'zz_births', '1999-01-01', "
        "'ingest', 'births.csv', 4, 'weight_positive', 'accuracy', 'weight -1', '{}')",
        (batch,),
    )
    errors: list[str] = []
    entries = sync_catalog(
        platform, build_entries(zz_registry, manifest_path=None, errors=errors), prune=False
    )
    assert not errors, errors
    entry = entries[0]
    assert build_view(platform, entry)
    passwords = {d: ensure_department_role(platform, d, stack) for d in (PROVIDER, CONSUMER, OTHER)}
    yield {"entry": entry, "passwords": passwords, "settings": stack, "batch": batch}
    platform.execute("delete from platform.quarantine where batch_id = %s", (batch,))
    cleanup(platform, stack)
