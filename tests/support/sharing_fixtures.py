"""Shared fixtures of the sharing, exports and web tests (registered by tests/conftest.py).

A test provider (zz_health) with one dataset in raw, catalogued and in the exchange, and two consumer
departments (zz_civil, zz_other). Everything zz_* is removed afterwards; audit records stay (the log is
append-only by design) and name only zz_* subjects. The fixtures are lazy: nothing touches the stack
until a test asks for ``zone``, ``platform`` or ``outboxes``.

tests/ is not a package (pytest runs with ``--import-mode=importlib``), so test modules cannot import
from here: the names they need come with the ``zone`` fixture (``zone.consumer``, ``zone.resource``, …).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from govlake.catalog.model import CatalogEntry
from govlake.settings import Settings

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "sharing" / "zz_health.yaml"
RESOURCE = "zz_health__zz_births"
PROVIDER, CONSUMER, OTHER = "zz_health", "zz_civil", "zz_other"
BATCH = "zz_health__zz_births__1999-01-01"
# (record_id, resident_id, name, phone, birth_date, division_code, weight_grams, diagnosis)
ROWS = [
    ("B001", "520102199001011237", "张丽", "13812345678", dt.date(2026, 1, 2), "520102", 3200, "正常"),
    ("B002", "52032519881009462X", "李芳", "13987654321", dt.date(2026, 1, 3), "520325", 2900, "早产"),
    ("B003", "520281197306033319", "王敏", None, dt.date(2026, 1, 4), "520281", 3500, '=HYPERLINK("x")'),
]
# A fourth row that ingest quarantined: it must never reach the exchange.
QUARANTINED = ("B999", "520102199001011237", "赵坏", None, dt.date(2026, 1, 5), "520102", -1, "x")


@dataclass(frozen=True)
class Zone:
    """The zz dataset as catalogued and shared, the departments' passwords and the names to use."""

    entry: CatalogEntry
    passwords: dict[str, str]
    settings: Settings
    batch: str = BATCH
    resource: str = RESOURCE
    provider: str = PROVIDER
    consumer: str = CONSUMER
    other: str = OTHER

    def outbox(self, path: str) -> bytes:
        """An object of the consumer's outbox, ``s3://exchange/<consumer>/<path>``."""
        from govlake.lake import s3_client

        resp = s3_client(self.settings).get_object("exchange", f"{self.consumer}/{path}")
        try:
            return resp.read()
        finally:
            resp.close()
            resp.release_conn()

    def submit(
        self,
        conn: psycopg.Connection,
        items: tuple[str, ...] = ("resident_id", "name"),
        start: dt.date | None = None,
        days: int = 30,
        sla_hours: float = 120.0,
        subscription: dict | None = None,
    ):
        """A data request by the consumer for items of the zz dataset, from ``start`` (today) for ``days``."""
        from govlake.sharing import dispatch

        start = start or dt.date.today()
        return dispatch.submit_request(
            conn,
            self.consumer,
            self.resource,
            list(items),
            "核查低保对象新生儿",
            "《社会救助暂行办法》第十条",
            start,
            start + dt.timedelta(days=days),
            sla_hours=sla_hours,
            subscription=subscription,
        )


def cleanup(conn: psycopg.Connection, settings: Settings) -> None:
    from govlake.warehouse.department_roles import drop_department_role

    conn.execute("drop view if exists exchange.zz_health__zz_births")
    conn.execute("drop table if exists raw.zz_health__zz_births")
    conn.execute("delete from platform.quarantine where batch_id = %s", (BATCH,))
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
    from govlake.warehouse import connect, ensure_platform_schema

    with connect(stack, autocommit=True) as conn:
        ensure_platform_schema(conn)
        yield conn


def _load_raw(conn: psycopg.Connection, registry: Path) -> None:
    from govlake.registry import load_departments
    from govlake.warehouse.raw import ensure_raw_table

    dataset = load_departments(registry)[0].datasets[0]
    ensure_raw_table(conn, dataset)
    cols = [c.name for c in dataset.columns]
    lineage = ["_batch_id", "_logical_date", "_source_file", "_source_row", "_ingested_at"]
    insert = sql.SQL("insert into raw.zz_health__zz_births ({}) values ({})").format(
        sql.SQL(", ").join(map(sql.Identifier, cols + lineage)),
        sql.SQL(", ").join(sql.Placeholder() * (len(cols) + len(lineage))),
    )
    for n, row in enumerate([*ROWS, QUARANTINED], start=1):
        conn.execute(insert, (*row, BATCH, dt.date(1999, 1, 1), "births.csv", n, dt.datetime.now(dt.UTC)))
    conn.execute(
        "insert into platform.quarantine (batch_id, department, dataset, logical_date, stage, source_file, "
        "source_row, rule, dimension, message, record) values (%s, 'zz_health', 'zz_births', '1999-01-01', "
        "'ingest', 'births.csv', 4, 'weight_positive', 'accuracy', 'weight -1', '{}')",
        (BATCH,),
    )


@pytest.fixture
def zone(stack: Settings, platform: psycopg.Connection, zz_registry: Path) -> Iterator[Zone]:
    """The zz dataset in raw (one quarantined row extra), catalogued, with its exchange view and roles."""
    from govlake.catalog.entries import build_entries
    from govlake.catalog.store import sync_catalog
    from govlake.sharing.zone import build_view
    from govlake.warehouse.department_roles import ensure_department_role

    cleanup(platform, stack)
    _load_raw(platform, zz_registry)
    errors: list[str] = []
    entries = sync_catalog(
        platform, build_entries(zz_registry, manifest_path=None, errors=errors), prune=False
    )
    assert not errors, errors
    assert build_view(platform, entries[0])
    passwords = {d: ensure_department_role(platform, d, stack) for d in (PROVIDER, CONSUMER, OTHER)}
    yield Zone(entries[0], passwords, stack)
    cleanup(platform, stack)


@pytest.fixture
def outboxes(stack: Settings) -> Iterator[None]:
    """The consumers' ``s3://exchange/<department>/`` outboxes, emptied before and after."""
    from govlake.lake import s3_client

    client = s3_client(stack)

    def empty() -> None:
        for dept in (CONSUMER, OTHER):
            for obj in client.list_objects("exchange", prefix=f"{dept}/", recursive=True):
                client.remove_object("exchange", obj.object_name)

    empty()
    yield
    empty()
