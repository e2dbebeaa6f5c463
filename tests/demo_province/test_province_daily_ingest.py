"""Two consecutive days of the province through the real incremental ingest (PostgreSQL and S3).

公安厅's household registration and 财政厅's subsidy payments are generated for D - 1 and D and ingested
as a scratch department reads them (the generated tables copied into its own schema after each
generation). The first day is a full extract; the second extracts only the rows whose ``updated_at`` is on
D, and its delete capture tombstones exactly the keys the generator reports gone: 公安厅 IDs a bad check
character re-keyed (and the corrupted ones corrected), 财政厅 payments archived after a year.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from demo_province.generator import ProvinceReport, generate_province, iter_province
from demo_province.systems import department_systems
from demo_province.tables import HOUSEHOLD, PAYMENTS
from demo_province.writers import DEPARTMENT_TABLES
from govlake.ingest import ingest
from govlake.ingest.landing import clear_prefix
from govlake.lake import s3_client
from govlake.registry import REGISTRY_DIR
from govlake.settings import BUCKETS, Settings, get_settings
from govlake.warehouse import connect

pytestmark = pytest.mark.integration

DEPT = "zz_province_days"
SEED = 5
RATE = 0.2  # many defects, so that a day of a tiny province re-keys some IDs
SOURCES = {HOUSEHOLD: "public_security", PAYMENTS: "finance"}
WATERMARK = {HOUSEHOLD: "gxsj", PAYMENTS: "updated_at"}


def _first_day_with_deletions(start: date) -> date:
    """The first date from ``start`` on which keys of both tables are gone (found in memory, deterministic)."""
    day = start
    for _ in range(120):
        day += timedelta(days=1)
        chunks = list(iter_province(1_000, SEED, day, RATE))
        if all(any(chunk.deleted[ds] for chunk in chunks) for ds in SOURCES):
            return day
    raise AssertionError("no day in 120 lost keys of both tables; raise RATE")


D2 = _first_day_with_deletions(date(2026, 11, 1))
D1 = D2 - timedelta(days=1)


def _cleanup(settings: Settings) -> None:
    s3 = s3_client(settings)
    for bucket in BUCKETS:
        clear_prefix(s3, bucket, f"{DEPT}/")
    with connect(settings, autocommit=True) as conn:
        for ds in SOURCES:
            conn.execute(f"drop table if exists raw.{DEPT}__{ds.split('__', 1)[1]}")
        for table in ("quarantine", "batches", "deliveries", "delivered_files"):
            if conn.execute("select to_regclass(%s)", (f"platform.{table}",)).fetchone()[0]:
                conn.execute(f"delete from platform.{table} where department = %s", (DEPT,))
    with connect(settings, database=department_systems(settings).database, autocommit=True) as conn:
        conn.execute(f"drop schema if exists {DEPT} cascade")


@pytest.fixture(scope="module")
def registry_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The two datasets as they are registered, re-homed under a scratch department and schema."""
    datasets = []
    for ds, department in SOURCES.items():
        doc = yaml.safe_load((REGISTRY_DIR / f"{department}.yaml").read_text(encoding="utf-8"))
        dataset = next(d for d in doc["datasets"] if f"{department}__{d['code']}" == ds)
        dataset["source"]["table"] = f"{DEPT}.{dataset['code']}"
        datasets.append(dataset)
    department = {"code": DEPT, "name": "测试厅", "provider_code": "00000000000000000X", "sensitivity": "low"}
    directory = tmp_path_factory.mktemp("registry")
    text = yaml.safe_dump({"department": department, "datasets": datasets}, allow_unicode=True)
    (directory / f"{DEPT}.yaml").write_text(text, encoding="utf-8")
    settings = get_settings()
    _cleanup(settings)
    yield directory
    _cleanup(settings)


def _generate(settings: Settings, day: date) -> ProvinceReport:
    """Generate ``day`` and copy the two department tables into the scratch department's schema."""
    report = generate_province(settings, "tiny", SEED, day, defect_rate=RATE)
    with connect(settings, database=department_systems(settings).database, autocommit=True) as conn:
        conn.execute(f"create schema if not exists {DEPT}")
        for ds in SOURCES:
            scratch = f"{DEPT}.{ds.split('__', 1)[1]}"
            conn.execute(f"drop table if exists {scratch}")
            conn.execute(f"create table {scratch} as select * from {DEPARTMENT_TABLES[ds]}")
    return report


def _source(settings: Settings, ds: str, day: date) -> tuple[int, int]:
    """(rows, rows whose watermark is on ``day``) in the scratch copy."""
    with connect(settings, database=department_systems(settings).database) as conn:
        return conn.execute(
            f"select count(*), count(*) filter (where ({WATERMARK[ds]} at time zone 'Asia/Shanghai')::date = %s)"
            f" from {DEPT}.{ds.split('__', 1)[1]}",
            (day,),
        ).fetchone()


def _tombstoned(settings: Settings, ds: str, day: date) -> list[str]:
    key = "resident_id" if ds == HOUSEHOLD else "payment_id"
    with connect(settings) as conn:
        rows = conn.execute(
            f"select {key} from raw.{DEPT}__{ds.split('__', 1)[1]} where _logical_date = %s and _deleted",
            (day,),
        ).fetchall()
    return sorted(r[0] for r in rows)


@pytest.fixture(scope="module")
def two_days(registry_dir: Path) -> dict:
    settings = get_settings()
    seen: dict = {}
    for n, day in enumerate((D1, D2)):
        report = _generate(settings, day)
        for ds in SOURCES:
            key = f"{DEPT}__{ds.split('__', 1)[1]}"
            result = ingest(key, day.isoformat(), settings=settings, registry_dir=registry_dir)
            seen[(n, ds)] = {
                "ingest": result,
                "source": _source(settings, ds, day),
                "deleted": report.deleted[ds],
                "tombstoned": _tombstoned(settings, ds, day),
            }
    return seen


@pytest.mark.parametrize("ds", list(SOURCES))
def test_the_first_day_is_a_full_extract(two_days, ds: str) -> None:
    first = two_days[(0, ds)]
    rows, _ = first["source"]
    assert first["ingest"]["rows_extracted"] == rows > 0 and first["ingest"]["tombstones"] == 0


@pytest.mark.parametrize("ds", list(SOURCES))
def test_the_second_day_extracts_only_what_changed(two_days, ds: str) -> None:
    second = two_days[(1, ds)]
    rows, changed_today = second["source"]
    extracted = second["ingest"]["rows_extracted"] - second["ingest"]["tombstones"]  # tombstones are read too
    assert extracted == changed_today > 0, (ds, second["ingest"], changed_today)
    assert changed_today <= 0.05 * rows, (ds, changed_today, rows)


@pytest.mark.parametrize("ds", list(SOURCES))
def test_the_tombstones_are_exactly_the_keys_the_generator_reports_gone(two_days, ds: str) -> None:
    second = two_days[(1, ds)]
    assert second["ingest"]["tombstones"] == len(second["deleted"]) > 0, (ds, second["ingest"])
    assert second["tombstoned"] == sorted(second["deleted"])
