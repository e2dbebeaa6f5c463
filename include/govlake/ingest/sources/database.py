"""Department databases: a server-side ``COPY (SELECT ...) TO STDOUT`` extract of the source table.

The extract is streamed to a local file (bounded memory), landed as received — a UTF-8 CSV with a header —
at ``landing/<department>/<dataset>/<YYYY-MM-DD>/<dataset>_<YYYYMMDD>.csv``, and then parsed like any CSV
delivery, so source_row is the line number in the landed extract. Rows come ordered by watermark and
primary key so a re-run lands the same file.

Rows deleted outright are captured too (``deletes.py``): keys the source no longer has are landed as
``<dataset>_<YYYYMMDD>_deleted.csv`` and read as tombstones after the extract.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
from psycopg import sql

from govlake.connections import get_connection
from govlake.ingest.context import BatchContext
from govlake.ingest.errors import IngestError
from govlake.ingest.landing import clear_prefix, s3_uri, upload_file
from govlake.ingest.sources import SourceChunk, deletes
from govlake.ingest.sources.csv_files import read_csv_file
from govlake.ingest.watermark import Window
from govlake.registry import Column
from govlake.warehouse import connect


def _table_identifier(qualified: str) -> sql.Identifier:
    schema, _, table = qualified.rpartition(".")
    return sql.Identifier(schema, table) if schema else sql.Identifier(table)


def source_columns(conn: psycopg.Connection, qualified: str) -> list[str]:
    schema, _, table = qualified.rpartition(".")
    rows = conn.execute(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
        "order by ordinal_position",
        (schema or "public", table),
    ).fetchall()
    return [r[0] for r in rows]


def extract_query(qualified: str, order_by: list[str], window: Window | None) -> sql.Composed:
    """The ``COPY (SELECT * ...) TO STDOUT`` statement for the window; all of the table without one."""
    conditions: list[sql.Composable] = []
    if window is not None:
        column = sql.Identifier(window.column)
        conditions.append(sql.SQL("{} < {}").format(column, sql.Literal(window.high)))
        if window.low is not None:
            conditions.append(sql.SQL("{} > {}").format(column, sql.Literal(window.low)))
    where = sql.SQL(" where ") + sql.SQL(" and ").join(conditions) if conditions else sql.SQL("")
    order = (
        sql.SQL(" order by ") + sql.SQL(", ").join(map(sql.Identifier, order_by)) if order_by else sql.SQL("")
    )
    return sql.SQL("copy (select * from {}{}{}) to stdout with (format csv, header true)").format(
        _table_identifier(qualified), where, order
    )


class DatabaseReader:
    """One extract file per batch from the table named by the registry's ``source.table``."""

    kind = "database"

    def __init__(self, ctx: BatchContext, window: Window | None) -> None:
        self.ctx = ctx
        self.window = window
        self.table = str(ctx.dataset.source.get("table") or "")
        if not self.table:
            raise IngestError(
                f"{ctx.dataset.registry_file}: {ctx.dataset.key} has source.kind database but no source.table"
            )
        self.connection = get_connection(str(ctx.dataset.source.get("connection") or ""), ctx.settings)
        self.source = f"{self.connection.database}.{self.table}"
        self.landed_files: list[str] = []
        self.details: dict = {"table": self.source}
        self.capture_deletes = deletes.capture_enabled(ctx.dataset, window.column if window else None)
        self.tombstone_uri: str | None = None

    def _order_by(self, available: list[str]) -> list[str]:
        keys = [c.source_name for c in self.ctx.dataset.columns if c.name in self.ctx.dataset.primary_key]
        order = ([self.window.column] if self.window else []) + keys
        return [c for c in order if c in available]

    def _check_columns(self, available: list[str]) -> None:
        if not available:
            raise IngestError(
                f"source table {self.source} does not exist (registry {self.ctx.dataset.registry_file})"
            )
        if self.window and self.window.column not in available:
            raise IngestError(f"source table {self.source} has no watermark column {self.window.column!r}")

    def _watermark_column(self) -> Column:
        assert self.window is not None
        return next(c for c in self.ctx.dataset.columns if c.source_name == self.window.column)

    def _write_tombstones(self, conn: psycopg.Connection) -> str | None:
        """Keys gone from the source since the last load, as a landed CSV; None when there are none."""
        name = self.ctx.dataset.tombstone_file(self.ctx.logical_date)
        path = self.ctx.workdir / name
        with connect(self.ctx.settings) as warehouse:
            keys, tombstones = deletes.write_tombstones(
                conn,
                warehouse,
                self.ctx.dataset,
                self.table,
                self._watermark_column(),
                self.ctx.logical_date.isoformat(),
                self.ctx.day_end,
                path,
            )
        self.details["hard_deletes"] = {"source_keys": keys, "tombstones": tombstones}
        if not tombstones:
            path.unlink(missing_ok=True)
            return None
        return name

    def extract(self) -> str:
        """Stream the extract (and any tombstones) into local files and land them; returns the extract's URI."""
        name = f"{self.ctx.dataset.code}_{self.ctx.logical_date:%Y%m%d}.csv"
        path = self.ctx.workdir / name
        with psycopg.connect(self.connection.libpq_url) as conn:
            # One snapshot for the extract and the key list, so a row changed in between cannot be both.
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            # Local time with an explicit offset: readable for a clerk, unambiguous for the parser.
            conn.execute("set timezone to 'Asia/Shanghai'")
            conn.execute("set datestyle to 'ISO, YMD'")
            available = source_columns(conn, self.table)
            self._check_columns(available)
            query = extract_query(self.table, self._order_by(available), self.window)
            with conn.cursor() as cur, cur.copy(query) as copy, path.open("wb") as out:
                for data in copy:
                    out.write(data)
            # No low mark: nothing was loaded before this date, so nothing can have vanished since.
            first_run = self.window is None or self.window.low is None
            deleted = self._write_tombstones(conn) if self.capture_deletes and not first_run else None
        uri = s3_uri("landing", self.ctx.date_prefix + name)
        clear_prefix(self.ctx.s3, "landing", self.ctx.date_prefix)
        upload_file(self.ctx.s3, uri, path, "text/csv; charset=utf-8")
        self.landed_files.append(uri)
        if deleted:
            self.tombstone_uri = s3_uri("landing", self.ctx.date_prefix + deleted)
            upload_file(
                self.ctx.s3, self.tombstone_uri, self.ctx.workdir / deleted, "text/csv; charset=utf-8"
            )
            self.landed_files.append(self.tombstone_uri)
        return uri

    def chunks(self) -> Iterator[SourceChunk]:
        uri = self.extract()
        path = self.ctx.workdir / uri.rsplit("/", 1)[1]
        try:
            yield from read_csv_file(path, uri, "utf-8")
        finally:
            path.unlink(missing_ok=True)
        if self.tombstone_uri:
            path = self.ctx.workdir / self.tombstone_uri.rsplit("/", 1)[1]
            try:
                for chunk in read_csv_file(path, self.tombstone_uri, "utf-8"):
                    chunk.tombstones = True
                    yield chunk
            finally:
                path.unlink(missing_ok=True)
