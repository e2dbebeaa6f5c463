"""Ingest throughput and peak memory per source kind, next to a raw COPY of the same rows, in one run.

    python bench/ingest_bench.py --rows 1000000 [--xlsx-rows 200000] [--rest-rows 1000000] [--big-rows 5000000]
    python bench/ingest_bench.py --kinds rest_api --rest-rows 1000000 --big-rows 0     # one kind alone

Runs against the stack named by the environment (``GOVLAKE_HOME``, ports; see ``govlake stack env``) under a
bench-only department ``zz_bench`` and logical date 1999-03-01, and removes everything it created. Each
measurement runs ``land_and_normalize`` + ``load_raw`` (the two Airflow tasks: land, decode, normalise to
Parquet, S3, COPY into raw) in its own Python process, so its peak RSS is its own. ``raw COPY`` is a plain
``COPY ... FROM STDIN`` of the very rows the CSV ingest loaded (exported from raw as CSV), into the same
table, rolled back — the floor no ingest can beat. Results print as a table and go to
``<GOVLAKE_HOME>/bench/ingest-<timestamp>.json``.

The REST source is the stack's own simulated department API (``/api/v1/enrollments``, keyset paging, 5000
records a page) over a table this bench fills in the stack's department database.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import yaml
from bench.ingest_harness import write_market_csv

from demo_province.systems import department_systems
from govlake.ingest.landing import clear_prefix, upload_file
from govlake.lake import s3_client
from govlake.registry import REGISTRY_DIR
from govlake.settings import BUCKETS, Settings, get_settings
from govlake.warehouse import connect

DEPT = "zz_bench"
KINDS = ("csv_gbk", "csv_utf8", "database", "xlsx", "rest_api")
DAY = "1999-03-01"
MiB = 2**20

_CHILD = """
import json, sys, time
from pathlib import Path
import govlake.ingest, pyarrow, pyarrow.parquet, psycopg, openpyxl  # imports are not the ingest's memory
from govlake.ingest import land_and_normalize, load_raw
from bench.ingest_harness import PeakRss
key, day, registry = sys.argv[1], sys.argv[2], Path(sys.argv[3])
with PeakRss() as peak:
    t0 = time.perf_counter()
    manifest = land_and_normalize(key, day, registry_dir=registry)
    t1 = time.perf_counter()
    loaded = load_raw(key, day, manifest, registry_dir=registry)
    t2 = time.perf_counter()
print(json.dumps({"rows": loaded["rows_loaded"], "rejected": loaded["rows_rejected"], "land_s": t1 - t0,
                  "load_s": t2 - t1, "seconds": t2 - t0, "peak_rss": peak.peak}))
"""

_COPY_CHILD = """
import json, sys, time
from pathlib import Path
from bench.ingest_harness import PeakRss
import bench.ingest_harness as b
from govlake.settings import get_settings
b.BENCH_KEY, b.BENCH_DATE = sys.argv[1], sys.argv[2]
with PeakRss() as peak:
    seconds = min(b.plain_copy(get_settings(), Path(sys.argv[3])) for _ in range(2))
print(json.dumps({"seconds": seconds, "peak_rss": peak.peak}))
"""


# -- registry and data ------------------------------------------------------------------------------------


def bench_registry(directory: Path, settings: Settings) -> Path:
    """zz_bench: the real 市场监管局/公安厅/人社厅 column sets under each source kind, plus a births workbook."""

    def load(name: str) -> dict:
        return yaml.safe_load((REGISTRY_DIR / f"{name}.yaml").read_text(encoding="utf-8"))["datasets"][0]

    market, persons, enrollments = load("market_regulation"), load("public_security"), load("human_resources")
    datasets = [
        {**market, "code": "csv_gbk", "source": {"kind": "csv", "encoding": "gbk"}},
        {**market, "code": "csv_utf8", "source": {"kind": "csv"}},
        {
            **persons,
            "code": "database",
            "source": {**persons["source"], "table": f"{DEPT}.household_registration"},
        },
        {
            **enrollments,
            "code": "rest_api",
            "source": {**enrollments["source"], "retry_backoff_seconds": 0.2},
        },
        {
            **market,
            "code": "xlsx",
            "source": {"kind": "xlsx", "header_row": 3, "sheets": "all", "merged_cells": "fill"},
        },
    ]
    doc = {
        "department": {"code": DEPT, "name": "基准测试", "provider_code": "00000000000000000X"},
        "datasets": datasets,
    }
    (directory / f"{DEPT}.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return directory


def land(settings: Settings, dataset: str, path: Path) -> None:
    upload_file(s3_client(settings), f"s3://landing/{DEPT}/{dataset}/{DAY}/{path.name}", path)


def write_xlsx(path: Path, rows: int) -> None:
    """A workbook like 卫健委's: two sheets, a title and a 填报单位 line above the header on row 3.

    Written in openpyxl's streaming write-only mode (which cannot merge cells), so merged ranges are not
    part of this measurement; tests/ingest/test_xlsx_source.py covers them."""
    from openpyxl import Workbook

    header = "统一社会信用代码,企业名称,市场主体类型,法定代表人,法定代表人证件号码,行业门类,注册资本万元,成立日期,住所行政区划代码,住所,登记状态"
    wb = Workbook(write_only=True)
    per_sheet = -(-rows // 2)
    for s, city in enumerate(("贵阳市", "遵义市")):
        ws = wb.create_sheet(city)
        ws.append([f"{city}市场主体登记"])
        ws.append([f"填报单位：{city}市场监管局"])
        ws.append(header.split(","))
        for i in range(s * per_sheet, min(rows, (s + 1) * per_sheet)):
            ws.append(
                [
                    f"91520100MA{i:08d}",
                    f"测试{i}号有限公司",
                    "有限责任公司",
                    "张三",
                    f"52010219900101{i % 10000:04d}",
                    "A",
                    i % 997 + 0.25,
                    datetime(2000 + i % 25, 1 + i % 9, 10 + i % 10),
                    "520102",
                    f"某路{i}号",
                    "存续",
                ]
            )
    wb.save(path)


def fill_database(settings: Settings, rows: int) -> None:
    with psycopg.connect(department_systems(settings).database_url(settings), autocommit=True) as conn:
        conn.execute(f"drop schema if exists {DEPT} cascade")
        conn.execute(f"create schema {DEPT}")
        conn.execute(
            f"create table {DEPT}.household_registration as select "
            "lpad(g::text, 18, '5') as gmsfhm, '王' || g as xm, case when g % 2 = 0 then '男' else '女' end as xb, "
            "'汉族' as mz, date '1960-01-01' + (g % 20000) as csrq, '520102' as hjdqh, '贵阳市南明区某路' || g || '号' as zz, "
            "lpad((g / 3)::text, 9, '0') as hh, '户主' as yhzgx, '正常' as rkzt, null::date as swrq, "
            "timestamptz '1999-02-28 08:00:00+08' + (g % 86000) * interval '1 second' as gxsj "
            f"from generate_series(1, {rows}) g"
        )


def fill_enrollments(settings: Settings, rows: int) -> bool:
    """The stack's simulated 人社厅 table; False if it already holds data this bench must not replace."""
    with psycopg.connect(department_systems(settings).database_url(settings), autocommit=True) as conn:
        exists = conn.execute("select to_regclass('human_resources.enrollment')").fetchone()[0]
        if exists and conn.execute("select count(*) from human_resources.enrollment").fetchone()[0]:
            return False
        conn.execute("create schema if not exists human_resources")
        conn.execute("drop table if exists human_resources.enrollment")
        conn.execute(
            "create table human_resources.enrollment as select lpad(g::text, 10, '0') as id, "
            "lpad(g::text, 18, '5') as aac002, '王' || g as aac003, date '1960-01-01' + (g % 20000) as aac006, "
            "'110' as aae140, null::text as aab998, '520102' as aab301, date '2010-01-01' + (g % 5000) as aac030, "
            "'参保缴费' as aac008, null::text as aae005, "
            "timestamptz '1999-02-28 08:00:00+08' + (g % 86000) * interval '1 second' as aae036 "
            f"from generate_series(1, {rows}) g"
        )
        conn.execute("create index on human_resources.enrollment (id)")
        conn.execute("create index on human_resources.enrollment (aae036)")
    return True


def cleanup(settings: Settings, drop_enrollments: bool) -> None:
    s3 = s3_client(settings)
    for bucket in BUCKETS:
        clear_prefix(s3, bucket, f"{DEPT}/")
    with connect(settings, autocommit=True) as conn:
        for (table,) in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'raw' and table_name like %s",
            (f"{DEPT}\\_\\_%",),
        ).fetchall():
            conn.execute(psycopg.sql.SQL("drop table raw.{}").format(psycopg.sql.Identifier(table)))
        for table in ("quarantine", "batches", "deliveries", "delivered_files"):
            if conn.execute("select to_regclass(%s)", (f"platform.{table}",)).fetchone()[0]:
                conn.execute(f"delete from platform.{table} where department = %s", (DEPT,))
    with psycopg.connect(department_systems(settings).database_url(settings), autocommit=True) as conn:
        conn.execute(f"drop schema if exists {DEPT} cascade")
        if drop_enrollments:
            conn.execute("drop table if exists human_resources.enrollment")


# -- measurements -----------------------------------------------------------------------------------------


def run_child(code: str, *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=3600,
        env=os.environ.copy(),
    )
    if out.returncode != 0:
        raise RuntimeError(f"bench step {args[:1]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(kind: str, registry: Path, rows: int, day: str = DAY) -> dict:
    result = run_child(_CHILD, f"{DEPT}__{kind}", day, str(registry))
    assert result["rows"] + result["rejected"] == rows, f"{kind}: {result} for {rows} rows"
    return {"kind": kind, **result, "rows_per_s": round(result["rows"] / result["seconds"])}


def raw_copy(settings: Settings, work: Path, rows: int) -> dict:
    """A plain COPY of the rows the GBK CSV ingest loaded, exported from raw, into the same table."""
    path = work / "raw_rows.csv"
    key = f"{DEPT}__csv_gbk"
    with connect(settings) as conn, conn.cursor() as cur, path.open("wb") as out:
        query = psycopg.sql.SQL(
            "copy (select * from raw.{} where _logical_date = {}) to stdout with (format csv)"
        )
        with cur.copy(query.format(psycopg.sql.Identifier(key), psycopg.sql.Literal(DAY))) as copy:
            for data in copy:
                out.write(data)
    result = run_child(_COPY_CHILD, key, DAY, str(path))
    path.unlink()
    return {
        "kind": "raw COPY",
        "rows": rows,
        "seconds": result["seconds"],
        "peak_rss": result["peak_rss"],
        "rows_per_s": round(rows / result["seconds"]),
    }


def print_table(results: list[dict], copy_rate: float | None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Ingest per source kind vs raw COPY ({DAY}, stack {get_settings().home})")
    for col in ("source kind", "rows", "seconds", "rows/s", "vs raw COPY", "peak RSS MiB"):
        table.add_column(col, justify="left" if col == "source kind" else "right")
    for r in results:
        table.add_row(
            r["kind"],
            f"{r['rows']:,}",
            f"{r['seconds']:.1f}",
            f"{r['rows_per_s']:,}",
            f"{r['rows_per_s'] / copy_rate:.0%}" if copy_rate else "-",
            f"{r['peak_rss'] / MiB:,.0f}",
        )
    Console(width=120).print(table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=200_000)
    parser.add_argument("--rest-rows", type=int, default=None, help="default: --rows")
    parser.add_argument("--big-rows", type=int, default=5_000_000, help="0 skips the big-CSV memory run")
    parser.add_argument(
        "--kinds",
        default=",".join(KINDS),
        help=f"comma-separated subset of {','.join(KINDS)}; raw COPY runs when csv_gbk does",
    )
    args = parser.parse_args()
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        parser.error(f"unknown --kinds {', '.join(unknown)}; choose from {', '.join(KINDS)}")
    settings = get_settings()
    rest_rows = args.rest_rows or args.rows
    work = Path(tempfile.mkdtemp(prefix="govlake-ingest-bench-"))
    registry = bench_registry(work, settings)
    cleanup(settings, drop_enrollments=False)
    own_enrollments = False
    results: list[dict] = []
    try:
        print(f"preparing {args.rows:,} rows per kind ({args.xlsx_rows:,} for XLSX) in {work}", flush=True)
        for dataset, encoding in (("csv_gbk", "gbk"), ("csv_utf8", "utf-8")):
            if dataset not in kinds:
                continue
            path = work / f"{dataset}.csv"
            write_market_csv(path, args.rows, encoding)
            land(settings, dataset, path)
            path.unlink()
        if "xlsx" in kinds:
            xlsx = work / "births.xlsx"
            write_xlsx(xlsx, args.xlsx_rows)
            land(settings, "xlsx", xlsx)
        if "database" in kinds:
            fill_database(settings, args.rows)
        if "rest_api" in kinds:
            own_enrollments = fill_enrollments(settings, rest_rows)
        for kind, rows in (
            ("csv_gbk", args.rows),
            ("csv_utf8", args.rows),
            ("database", args.rows),
            ("xlsx", args.xlsx_rows),
            ("rest_api", rest_rows if own_enrollments else 0),
        ):
            if kind not in kinds:
                continue
            if not rows:
                print(f"skipping {kind}: the stack's human_resources.enrollment holds data", flush=True)
                continue
            print(f"measuring {kind} ...", flush=True)
            results.append(measure(kind, registry, rows))
        copy = raw_copy(settings, work, args.rows) if "csv_gbk" in kinds else None
        if copy:
            results.append(copy)
        if args.big_rows and "csv_gbk" in kinds:
            big_day = "1999-03-02"
            path = work / "big.csv"
            print(f"measuring a {args.big_rows:,}-row GBK CSV ...", flush=True)
            size = write_market_csv(path, args.big_rows, "gbk")
            upload_file(s3_client(settings), f"s3://landing/{DEPT}/csv_gbk/{big_day}/{path.name}", path)
            path.unlink()
            big = measure("csv_gbk", registry, args.big_rows, big_day)
            results.append({**big, "kind": f"csv_gbk {args.big_rows / 1e6:g}M rows ({size / 1e9:.2f} GB)"})
        copy_rate = copy["rows_per_s"] if copy else None
        print_table(results, copy_rate)
        out_dir = settings.home / "bench"
        out_dir.mkdir(parents=True, exist_ok=True)
        out = out_dir / f"ingest-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
        out.write_text(
            json.dumps({"rows": args.rows, "results": results, "raw_copy_rows_per_s": copy_rate}, indent=2),
            encoding="utf-8",
        )
        print(f"written {out}")
    finally:
        cleanup(settings, drop_enrollments=own_enrollments)
    return 0


if __name__ == "__main__":
    sys.exit(main())
