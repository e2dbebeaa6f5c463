"""The simulated department REST APIs: a real HTTP server over the department systems' tables.

    GET /api/v1/enrollments?page=N&page_size=M[&updated_since=ISO8601][&after_id=ID]    人社厅 参保信息
        -> {"page": N, "page_size": M, "total": T, "pages": P, "data": [{id, aac002, ...}, ...]}
           (with after_id: {"page": N, "page_size": M, "data": [...]} — no count, see below)
    GET /api/v1/indicators?page=N&page_size=M[&updated_since=ISO8601][&after_id=ID]     统计局 宏观经济指标
        -> the same envelope, records {id, zbdm, zbmc, dqdm, dqmc, pd, sj, sz, jldw, gxsj}
    (both: Authorization: Bearer <GOVLAKE_DEPARTMENT_API_TOKEN>)
    GET /healthz -> {"status": "ok"}

Rows are ordered by ``id`` so pages are stable; ``updated_since`` keeps rows whose watermark (``aae036``,
``gxsj``) is ``>= since``
(inclusive, so a watermark never skips rows sharing its timestamp); ``after_id`` gives keyset paging for
clients that prefer it (``page`` then only labels the response). As a real API does, a keyset page
reports no total: counting the filter on every page would cost a scan per page (the walk's first
request, without ``after_id``, states ``total`` and ``pages`` once; an empty page ends the walk). Dates are ``YYYY-MM-DD``, timestamps ISO
8601 in China time. ``GOVLAKE_DEPARTMENT_API_FAIL_RATE`` (0-1) answers that share of data requests with
503 and ``Retry-After``, as a struggling department system does, for fault-tolerance tests.

Run it with ``python -m demo_province.department_api`` (host, port and token from settings); SIGTERM
or Ctrl-C stops it cleanly.
"""

from __future__ import annotations

import json
import logging
import math
import os
import queue
import random
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg

from demo_province.systems import department_systems
from govlake.settings import Settings, get_settings
from govlake.warehouse import connect

log = logging.getLogger("govlake.department_api")

FIELDS = (
    "id",
    "aac002",
    "aac003",
    "aac006",
    "aae140",
    "aab998",
    "aab301",
    "aac030",
    "aac008",
    "aae005",
    "aae036",
)
TABLE = "human_resources.enrollment"
MAX_PAGE_SIZE = 5000
DEFAULT_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Resource:
    """One paged collection: the table behind it, the fields it returns and its watermark field."""

    table: str
    fields: tuple[str, ...]
    watermark: str
    decimals: tuple[str, ...] = ()  # numeric fields, sent as JSON numbers with a fraction (12.0), as before

    def select_list(self) -> str:
        return ", ".join(_decimal_json(f) if f in self.decimals else f for f in self.fields)


def _decimal_json(field: str) -> str:
    """A numeric as a JSON number that always reads back as a float (``12.0``, not ``12``)."""
    return (
        f"(case when {field} = trunc({field}) then trunc({field})::text || '.0' "
        f"else {field}::float8::text end)::json as {field}"
    )


RESOURCES: dict[str, Resource] = {
    "/api/v1/enrollments": Resource(TABLE, FIELDS, "aae036"),
    "/api/v1/indicators": Resource(
        "statistics.macro_indicators",
        ("id", "zbdm", "zbmc", "dqdm", "dqmc", "pd", "sj", "sz", "jldw", "gxsj"),
        "gxsj",
        decimals=("sz",),
    ),
}


class ApiError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ConnectionPool:
    """A few reusable connections: connecting per request would dominate the cost of a page."""

    def __init__(self, settings: Settings, size: int = 4) -> None:
        self.settings = settings
        self._idle: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        with self._slots:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = connect(
                    self.settings, database=department_systems(self.settings).database, autocommit=True
                )
                conn.execute("set timezone = 'Asia/Shanghai'")
            try:
                yield conn
            except psycopg.OperationalError:
                conn.close()
                raise
            else:
                self._idle.put(conn)

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


def _int_param(params: dict[str, list[str]], name: str, default: int, lo: int, hi: int) -> int:
    raw = params.get(name, [str(default)])[-1]
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(HTTPStatus.BAD_REQUEST, f"{name} must be an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ApiError(HTTPStatus.BAD_REQUEST, f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _since_param(params: dict[str, list[str]]) -> datetime | None:
    raw = params.get("updated_since", [""])[-1].strip()
    if not raw:
        return None
    try:
        # '+' in a query string arrives as a space when the client did not escape it.
        return datetime.fromisoformat(raw.replace(" ", "+") if "T" in raw else raw)
    except ValueError:
        raise ApiError(HTTPStatus.BAD_REQUEST, f"updated_since must be ISO 8601, got {raw!r}") from None


def _records_json(conn: psycopg.Connection, query: str, args: list) -> str:
    """The page's records as a JSON array, built by PostgreSQL (Python per-value conversion cost more
    than the query). Dates stay ``YYYY-MM-DD``, timestamps ISO 8601 in the session's China time."""
    sql = f"select coalesce(json_agg(t order by t.id), '[]')::text from ({query}) t"
    return conn.execute(sql, args).fetchone()[0]  # type: ignore[index]


def page_json(
    conn: psycopg.Connection,
    page: int,
    page_size: int,
    since: datetime | None,
    after_id: str | None,
    resource: Resource = RESOURCES["/api/v1/enrollments"],
) -> bytes:
    """One page of a resource as the response body; offset pages also state the totals for the filter,
    keyset pages do not."""
    table, columns = resource.table, resource.select_list()
    where, args = (f"where {resource.watermark} >= %s", [since]) if since else ("", [])
    envelope: dict[str, Any] = {"page": page, "page_size": page_size}
    if after_id is not None:  # an index range scan from the last key: flat cost, no count
        keyset = f"{where} {'and' if where else 'where'} id > %s"
        data = _records_json(
            conn,
            f"select {columns} from {table} {keyset} order by id limit %s",
            [*args, after_id, page_size],
        )
    else:
        total = conn.execute(f"select count(*) from {table} {where}", args).fetchone()[0]  # type: ignore[index]
        envelope.update(total=total, pages=math.ceil(total / page_size))
        data = _records_json(
            conn,
            f"select {columns} from {table} {where} order by id limit %s offset %s",
            [*args, page_size, (page - 1) * page_size],
        )
    head = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))[:-1]
    return f'{head},"data":{data}}}'.encode()


def query_page(
    conn: psycopg.Connection,
    page: int,
    page_size: int,
    since: datetime | None,
    after_id: str | None,
    resource: Resource = RESOURCES["/api/v1/enrollments"],
) -> dict[str, Any]:
    """:func:`page_json`, parsed (for callers that want the page as Python values)."""
    return json.loads(page_json(conn, page, page_size, since, after_id, resource))


class Handler(BaseHTTPRequestHandler):
    server: DepartmentApiServer
    protocol_version = "HTTP/1.1"
    server_version = "hrss-api/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.info("%s %s", self.address_string(), format % args)

    def _send(
        self, status: HTTPStatus, body: dict[str, Any] | bytes, headers: dict[str, str] | None = None
    ) -> None:
        data = (
            body
            if isinstance(body, bytes)
            else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        )
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: HTTPStatus, message: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, {"error": status.phrase, "status": int(status), "message": message}, headers)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        url = urlsplit(self.path)
        try:
            if url.path == "/healthz":
                self._send(HTTPStatus.OK, {"status": "ok"})
            elif url.path in RESOURCES:
                self._page(RESOURCES[url.path], parse_qs(url.query))
            else:
                raise ApiError(HTTPStatus.NOT_FOUND, f"no such resource {url.path}")
        except ApiError as exc:
            extra = (
                {"WWW-Authenticate": 'Bearer realm="hrss"'} if exc.status == HTTPStatus.UNAUTHORIZED else None
            )
            if exc.status == HTTPStatus.SERVICE_UNAVAILABLE:
                extra = {"Retry-After": "1"}
            self._error(exc.status, exc.message, extra)
        except psycopg.Error as exc:
            log.exception("database error")
            self._error(
                HTTPStatus.SERVICE_UNAVAILABLE,
                f"department database unavailable: {type(exc).__name__}",
                {"Retry-After": "5"},
            )

    def _page(self, resource: Resource, params: dict[str, list[str]]) -> None:
        expected = f"Bearer {self.server.token}"
        if not self.server.token or self.headers.get("Authorization", "") != expected:
            raise ApiError(HTTPStatus.UNAUTHORIZED, "missing or invalid bearer token")
        if self.server.fail_rate and random.random() < self.server.fail_rate:
            raise ApiError(HTTPStatus.SERVICE_UNAVAILABLE, "service temporarily unavailable, retry later")
        page = _int_param(params, "page", 1, 1, 10**9)
        page_size = _int_param(params, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        since = _since_param(params)
        after_id = params.get("after_id", [None])[-1]
        with self.server.pool.connection() as conn:
            self._send(HTTPStatus.OK, page_json(conn, page, page_size, since, after_id, resource))


class DepartmentApiServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, settings: Settings, host: str, port: int, token: str, fail_rate: float = 0.0) -> None:
        super().__init__((host, port), Handler)
        self.token = token
        self.fail_rate = fail_rate
        self.pool = ConnectionPool(settings)

    def server_close(self) -> None:
        super().server_close()
        self.pool.close()


def make_server(
    settings: Settings | None = None, host: str | None = None, port: int | None = None
) -> DepartmentApiServer:
    settings = settings or get_settings()
    fail_rate = float(os.environ.get("GOVLAKE_DEPARTMENT_API_FAIL_RATE", "0") or 0)
    systems = department_systems(settings)
    return DepartmentApiServer(
        settings,
        host or systems.api_host,
        systems.api_port if port is None else port,
        systems.api_token,
        fail_rate,
    )


def serve(settings: Settings | None = None) -> None:
    """Serve until SIGTERM/SIGINT, then finish in-flight requests and close the pool."""
    server = make_server(settings)

    def stop(signum: int, _frame: object) -> None:
        log.info("received signal %s, shutting down", signum)
        # shutdown() waits for serve_forever to return, so it must not run on the serving thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.server_address[:2]
    log.info("department APIs listening on http://%s:%s%s", host, port, " and ".join(RESOURCES))
    if not server.token:
        log.warning("GOVLAKE_DEPARTMENT_API_TOKEN is empty: every data request will be refused")
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    log.info("stopped")


def main() -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
