"""Writers that put each source where, and how, its department really keeps it.

* 公安厅, 人社厅, 民政厅 (低保), 财政厅 and 统计局 keep their data in their own databases
  (``department_systems``); the tables are truncated and bulk-loaded with COPY in one transaction, so a
  re-run replaces them atomically. (Files in other dialects: ``deliveries.py``.)
* 市场监管局 delivers a GBK-encoded CSV file; it is encoded chunk by chunk and streamed to S3 as a
  multipart upload, so a large province never sits in memory whole.
"""

from __future__ import annotations

import csv
import io
import json
import queue
import threading
from types import TracebackType

import psycopg
from minio import Minio

from demo_province.systems import department_systems
from demo_province.tables import DIBAO, ENROLLMENT, HOUSEHOLD, INDICATORS, PAYMENTS, Table
from govlake.registry import get_dataset
from govlake.settings import Settings
from govlake.warehouse import connect

DEPARTMENT_TABLES: dict[str, str] = {
    HOUSEHOLD: "public_security.household_registration",
    ENROLLMENT: "human_resources.enrollment",
    DIBAO: "civil_affairs.dibao_recipients",
    PAYMENTS: "finance.subsidy_payments",
    INDICATORS: "statistics.macro_indicators",
}

_DDL = """
create schema if not exists public_security;
create table if not exists public_security.household_registration (
    gmsfhm text, xm text, xb text, mz text, csrq date, hjdqh text, zz text, hh text, yhzgx text,
    rkzt text, swrq date, gxsj timestamptz
);
create schema if not exists human_resources;
create table if not exists human_resources.enrollment (
    id text, aac002 text, aac003 text, aac006 date, aae140 text, aab998 text, aab301 text,
    aac030 date, aac008 text, aae005 text, aae036 timestamptz
);
create schema if not exists civil_affairs;
create table if not exists civil_affairs.dibao_recipients (
    recipient_id text, recipient_name text, family_id text, relation_to_applicant text, division_code text,
    monthly_amount numeric(10, 2), start_month text, approval_date date, status text,
    is_deleted smallint not null default 0, updated_at timestamptz
);
create schema if not exists finance;
create table if not exists finance.subsidy_payments (
    payment_id text, recipient_id text, recipient_name text, subsidy_type text, period text,
    amount numeric(12, 2), payment_date date, division_code text, bank_name text, bank_account text,
    updated_at timestamptz
);
create schema if not exists statistics;
create table if not exists statistics.macro_indicators (
    id text, zbdm text, zbmc text, dqdm text, dqmc text, pd text, sj text, sz numeric, jldw text,
    gxsj timestamptz
);
"""
# Built after the load (faster than maintaining them row by row); not unique, because the source
# really does contain rows delivered twice.
_INDEXES = {
    "public_security.household_registration": {
        "household_registration_gmsfhm_idx": "gmsfhm",
        "household_registration_gxsj_idx": "gxsj",
    },
    "human_resources.enrollment": {"enrollment_id_idx": "id", "enrollment_aae036_idx": "aae036"},
    "civil_affairs.dibao_recipients": {"dibao_recipients_updated_at_idx": "updated_at"},
    "finance.subsidy_payments": {
        "subsidy_payments_id_idx": "payment_id",
        "subsidy_payments_updated_at_idx": "updated_at",
    },
    "statistics.macro_indicators": {"macro_indicators_id_idx": "id", "macro_indicators_gxsj_idx": "gxsj"},
}
CSV_PART_SIZE = 8 * 1024 * 1024


def copy_text(table: Table) -> str:
    """The table in COPY text format. Values never contain tabs, newlines or backslashes by construction."""
    columns = [["\\N" if v is None else v for v in values] for values in table.values()]
    return "\n".join(map("\t".join, zip(*columns, strict=True))) + "\n"


class DepartmentDatabase:
    """The 公安厅 and 人社厅 tables, reloaded in a single transaction (readers see old or new, never half).

    The COPYs run on a thread of their own: the generator formats a chunk's COPY text and goes on to the
    next chunk while PostgreSQL parses and stores the last one (a second core's work, not the generator's).
    The connection is the thread's from ``__enter__`` to ``__exit__``, which waits for it before committing.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.conn: psycopg.Connection | None = None
        self._pending: queue.Queue = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._writer: threading.Thread | None = None

    def __enter__(self) -> DepartmentDatabase:
        self.conn = connect(self.settings, database=department_systems(self.settings).database)
        self.conn.execute("set local synchronous_commit = off")
        self.conn.execute("select pg_advisory_xact_lock(hashtext('demo_province.generate'))")
        self.conn.execute(_DDL)
        self._comment_columns()
        for table, indexes in _INDEXES.items():
            for index in indexes:
                self.conn.execute(f"drop index if exists {table.split('.')[0]}.{index}")
            self.conn.execute(f"truncate {table}")
        self._writer = threading.Thread(target=self._write, name="department-copy", daemon=True)
        self._writer.start()
        return self

    def _comment_columns(self) -> None:
        """Carry the registry's Chinese item names into the department schema, as a real system documents them."""
        assert self.conn is not None
        for dataset, table in DEPARTMENT_TABLES.items():
            for column in get_dataset(dataset).columns:
                self.conn.execute(f"comment on column {table}.{column.source_name} is '{column.label}'")

    def _write(self) -> None:
        assert self.conn is not None
        while (item := self._pending.get()) is not None:
            if self._error is not None:
                continue  # drain: the producer learns of the error at its next copy or at the end
            statement, text = item
            try:
                with self.conn.cursor() as cur, cur.copy(statement) as cp:
                    cp.write(text)
            except BaseException as exc:
                self._error = exc

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise RuntimeError(f"writing the department tables failed: {self._error}") from self._error

    def copy(self, dataset: str, table: Table) -> None:
        self._raise_if_failed()
        target = DEPARTMENT_TABLES[dataset]
        self._pending.put((f"copy {target} ({', '.join(table)}) from stdin", copy_text(table)))

    def _finish_writing(self) -> None:
        if self._writer is not None:
            self._pending.put(None)
            self._writer.join()
            self._writer = None

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        assert self.conn is not None
        try:
            self._finish_writing()
            if exc_type is None:
                self._raise_if_failed()
                for table, indexes in _INDEXES.items():
                    for index, column in indexes.items():
                        self.conn.execute(f"create index {index} on {table} ({column})")
                self.conn.commit()
                self.conn.autocommit = True
                for table in _INDEXES:
                    self.conn.execute(f"analyze {table}")
            else:
                self.conn.rollback()
        finally:
            self.conn.close()


def csv_bytes(table: Table, header: bool = False, encoding: str = "gbk") -> bytes:
    """Standard CSV (minimal quoting, CRLF) in the department's encoding; ``None`` becomes an empty field."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header:
        writer.writerow(list(table))
    writer.writerows(zip(*(["" if v is None else v for v in col] for col in table.values()), strict=True))
    return buffer.getvalue().encode(encoding)


_EOF = object()
_ABORT = object()


class _QueueReader(io.RawIOBase):
    """A read-only stream over byte chunks put into a queue by the producer (the generator)."""

    def __init__(self, chunks: queue.Queue) -> None:
        self._chunks = chunks
        self._pending = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._pending) < size):
            item = self._chunks.get()
            if item is _ABORT:
                raise RuntimeError("the generator failed; the upload is abandoned")
            if item is _EOF:
                self._done = True
            else:
                self._pending += item
        if size < 0:
            size = len(self._pending)
        out, self._pending = self._pending[:size], self._pending[size:]
        return out


class S3Stream:
    """Stream bytes into one S3 object as a multipart upload running in a background thread.

    The object appears (or is replaced) only when :meth:`close` completes the upload, so a failed run
    never leaves half a file behind.
    """

    def __init__(
        self, client: Minio, bucket: str, key: str, content_type: str, part_size: int = CSV_PART_SIZE
    ):
        self._chunks: queue.Queue = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self.bytes_written = 0

        def upload() -> None:
            try:
                client.put_object(
                    bucket,
                    key,
                    _QueueReader(self._chunks),
                    length=-1,
                    part_size=part_size,
                    content_type=content_type,
                )
            except BaseException as exc:  # handed to the producer thread in close()
                self._error = exc

        self._thread = threading.Thread(target=upload, name=f"s3-upload-{key}", daemon=True)
        self._thread.start()

    def _put(self, item: object) -> None:
        while True:
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"S3 upload stopped: {self._error}") from self._error
            try:
                self._chunks.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def write(self, data: bytes) -> None:
        if data:
            self._put(data)
            self.bytes_written += len(data)

    def close(self) -> None:
        self._put(_EOF)
        self._thread.join()
        if self._error is not None:
            raise RuntimeError(f"S3 upload failed: {self._error}") from self._error

    def abort(self) -> None:
        """Abandon the upload: the multipart upload is never completed, so no object appears."""
        while True:  # make room, so the abort marker is the next thing the reader sees
            try:
                self._chunks.get_nowait()
            except queue.Empty:
                break
        self._chunks.put_nowait(_ABORT)
        self._thread.join(timeout=30)


def put_json(client: Minio, bucket: str, key: str, document: object) -> None:
    data = json.dumps(document, ensure_ascii=False, indent=1, sort_keys=False).encode("utf-8")
    client.put_object(
        bucket, key, io.BytesIO(data), length=len(data), content_type="application/json; charset=utf-8"
    )


def entity_csv_key(logical_date: str) -> str:
    """Where 市场监管局's file for a day lands (ARCHITECTURE.md, department sources)."""
    return f"market_regulation/market_entities/{logical_date}/market_entities_{logical_date.replace('-', '')}.csv"
