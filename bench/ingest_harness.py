"""Benchmarks of the ingest path against the floor it cannot beat: a plain COPY of the same rows.

``bench_load(rows)`` lands a synthetic GBK CSV delivery for a bench-only department (``zz_bench``, logical
date 1999-03-01), normalises it, loads it with ``load_raw`` and then times a plain ``COPY ... FROM STDIN``
of the very same rows (exported from the raw table as CSV) into the same table, inside a transaction that
deletes the date first and is rolled back — the same work minus Parquet decoding and CSV encoding.
Everything it creates is removed afterwards. Peak RSS is sampled while each step runs.

    python -c "from bench.ingest_harness import bench_load; print(bench_load(1_000_000))"
"""

from __future__ import annotations

import resource
import shutil
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import yaml

from govlake.ingest.landing import clear_prefix, upload_file
from govlake.ingest.pipeline import land_and_normalize, load_raw
from govlake.lake import s3_client
from govlake.registry import REGISTRY_DIR
from govlake.settings import BUCKETS, Settings, get_settings
from govlake.warehouse import connect

BENCH_DEPARTMENT = "zz_bench"
BENCH_DATE = "1999-03-01"
BENCH_KEY = f"{BENCH_DEPARTMENT}__market_entities"


class PeakRss:
    """Samples this process's resident set size every few milliseconds; ``peak`` is the highest seen."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def current() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.current())
            time.sleep(self.interval)

    def __enter__(self) -> PeakRss:
        self._before_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self.peak = self.current()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        after_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        if after_max > self._before_max:  # the kernel's exact high-water mark, when this step set it
            self.peak = max(self.peak, after_max)


def write_market_csv(path: Path, rows: int, encoding: str = "gbk") -> int:
    """A synthetic 市场监管局 delivery of ``rows`` rows (Chinese header, GBK); returns its size in bytes."""
    header = "统一社会信用代码,企业名称,市场主体类型,法定代表人,法定代表人证件号码,行业门类,注册资本万元,成立日期,住所行政区划代码,住所,登记状态\r\n"
    with path.open("w", encoding=encoding, newline="") as f:
        f.write(header)
        for i in range(rows):
            f.write(
                f"91520100MA{i:08d},贵州省黔东南苗族侗族自治州测试{i}号农业科技有限公司,有限责任公司,张三,"
                f"52010219900101{i % 10000:04d},A,{i % 997}.25,20{i % 25:02d}-0{1 + i % 9}-1{i % 10},522601,"
                f"贵州省黔东南苗族侗族自治州凯里市某某路{i}号,存续\r\n"
            )
    return path.stat().st_size


def _bench_registry(directory: Path) -> Path:
    doc = yaml.safe_load((REGISTRY_DIR / "market_regulation.yaml").read_text(encoding="utf-8"))
    doc["department"]["code"] = BENCH_DEPARTMENT
    (directory / f"{BENCH_DEPARTMENT}.yaml").write_text(
        yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8"
    )
    return directory


def cleanup_bench(settings: Settings) -> None:
    s3 = s3_client(settings)
    for bucket in BUCKETS:
        clear_prefix(s3, bucket, f"{BENCH_DEPARTMENT}/")
    with connect(settings, autocommit=True) as conn:
        conn.execute(f"drop table if exists raw.{BENCH_KEY}")
        conn.execute("delete from platform.quarantine where department = %s", (BENCH_DEPARTMENT,))
        conn.execute("delete from platform.batches where department = %s", (BENCH_DEPARTMENT,))


def plain_copy(settings: Settings, csv_path: Path, block: int = 1 << 20) -> float:
    """Seconds for delete-the-date + COPY of an already-encoded CSV file, rolled back afterwards."""
    with connect(settings) as conn:
        started = time.perf_counter()
        conn.execute(f"delete from raw.{BENCH_KEY} where _logical_date = %s", (BENCH_DATE,))
        with (
            conn.cursor() as cur,
            cur.copy(f"copy raw.{BENCH_KEY} from stdin with (format csv)") as copy,
            csv_path.open("rb") as f,
        ):
            while data := f.read(block):
                copy.write(data)
        seconds = time.perf_counter() - started
        conn.rollback()
    return seconds


def _export_raw_csv(settings: Settings, path: Path) -> None:
    with (
        connect(settings) as conn,
        conn.cursor() as cur,
        path.open("wb") as out,
        cur.copy(
            psycopg.sql.SQL(
                "copy (select * from raw.{} where _logical_date = {}) to stdout with (format csv)"
            ).format(psycopg.sql.Identifier(BENCH_KEY), psycopg.sql.Literal(BENCH_DATE))
        ) as copy,
    ):
        for data in copy:
            out.write(data)


def plain_csv_to_parquet_rate(csv_path: Path, encoding: str = "gb18030") -> float:
    """Rows/s of pyarrow reading the CSV and writing Parquet with no checks: the normalise stage's floor."""
    started, rows = time.perf_counter(), 0
    reader = pcsv.open_csv(csv_path, read_options=pcsv.ReadOptions(encoding=encoding, block_size=8 << 20))
    with pq.ParquetWriter(
        csv_path.with_suffix(".plain.parquet"), reader.schema, compression="zstd"
    ) as writer:
        for batch in reader:
            writer.write_batch(batch)
            rows += batch.num_rows
    csv_path.with_suffix(".plain.parquet").unlink()
    return rows / (time.perf_counter() - started)


def bench_load(rows: int = 1_000_000, settings: Settings | None = None, repeat: int = 2) -> dict:
    """Rows/s and peak RSS of normalise and load vs a plain COPY of the same rows into the same table.

    ``load_rows_per_s`` is ``load_raw`` end to end (S3 download, checksum, delete + COPY, quarantine, batch row).
    """
    settings = settings or get_settings()
    work = Path(tempfile.mkdtemp(prefix="govlake-bench-"))
    registry = _bench_registry(work)
    cleanup_bench(settings)
    try:
        source = work / "market_entities_19990301.csv"
        size = write_market_csv(source, rows)
        upload_file(
            s3_client(settings),
            f"s3://landing/{BENCH_DEPARTMENT}/market_entities/{BENCH_DATE}/{source.name}",
            source,
        )
        plain_parquet = plain_csv_to_parquet_rate(source)
        with PeakRss() as normalize_rss:
            started = time.perf_counter()
            manifest = land_and_normalize(BENCH_KEY, BENCH_DATE, settings=settings, registry_dir=registry)
            normalize_s = time.perf_counter() - started
        load_s, copy_s = float("inf"), float("inf")
        raw_csv = work / "raw_rows.csv"
        rss_before = PeakRss.current()
        # Best of `repeat`: the first COPY into a fresh table pays warm-up costs the others do not.
        for _ in range(repeat):
            with PeakRss() as load_rss:
                started = time.perf_counter()
                loaded = load_raw(BENCH_KEY, BENCH_DATE, manifest, settings=settings, registry_dir=registry)
                load_s = min(load_s, time.perf_counter() - started)
            if not raw_csv.exists():
                _export_raw_csv(settings, raw_csv)
            with PeakRss() as copy_rss:
                copy_s = min(copy_s, plain_copy(settings, raw_csv))
        copy_rate = rows / copy_s
        return {
            "rows": rows,
            "csv_bytes": size,
            "normalize_rows_per_s": round(rows / normalize_s),
            "plain_csv_to_parquet_rows_per_s": round(plain_parquet),
            "load_rows_per_s": round(rows / load_s),
            "load_transaction_rows_per_s": loaded["rows_per_second"],
            "raw_copy_rows_per_s": round(copy_rate),
            "load_vs_raw_copy": round(rows / load_s / copy_rate, 3),
            "rss_before_load_mb": round(rss_before / 2**20),
            "peak_rss_mb": {
                "normalize": round(normalize_rss.peak / 2**20),
                "load": round(load_rss.peak / 2**20),
                "raw_copy": round(copy_rss.peak / 2**20),
            },
            "rows_loaded": loaded["rows_loaded"],
        }
    finally:
        cleanup_bench(settings)
        shutil.rmtree(work, ignore_errors=True)
