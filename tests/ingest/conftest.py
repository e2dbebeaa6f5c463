"""Fixtures for ingest tests: a test-only department in a scratch registry, cleaned up before and after.

Everything is real — the local stack's PostgreSQL and S3 — but lives under the department code
``zz_ingest_test`` and 1999 logical dates, so tests never touch what other engineers are working on.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import psycopg
import pytest
import yaml

from govlake.ingest.landing import clear_prefix, upload_bytes
from govlake.lake import s3_client
from govlake.registry import REGISTRY_DIR
from govlake.settings import BUCKETS, Settings, get_settings
from govlake.warehouse import connect

DEPT = "zz_ingest_test"
SCRATCH_SCHEMA = "zz_ingest_test"  # in the department_systems database
TOKEN = "test-token-not-a-secret"


def _test_department_yaml(api_url: str) -> dict:
    """The three real datasets, re-homed under the test department (same declared columns)."""
    datasets = []
    for name in ("market_regulation", "public_security", "human_resources"):
        doc = yaml.safe_load((REGISTRY_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
        datasets += doc["datasets"]
    for ds in datasets:
        if ds["source"]["kind"] == "database":
            ds["source"]["table"] = f"{SCRATCH_SCHEMA}.{ds['code']}"
        if ds["source"]["kind"] == "rest_api":
            ds["source"].update(url=api_url + "/api/v1/enrollments", page_size=3, retry_backoff_seconds=0.05)
    department = {"code": DEPT, "name": "测试厅", "provider_code": "00000000000000000X", "sensitivity": "low"}
    return {"department": department, "datasets": datasets}


def cleanup(settings: Settings) -> None:
    s3 = s3_client(settings)
    for bucket in BUCKETS:
        clear_prefix(s3, bucket, f"{DEPT}/")
    with connect(settings, autocommit=True) as conn:
        tables = conn.execute(
            "select table_name from information_schema.tables where table_schema = 'raw' and table_name like %s",
            (f"{DEPT}\\_\\_%",),
        ).fetchall()
        for (table,) in tables:
            conn.execute(psycopg.sql.SQL("drop table raw.{}").format(psycopg.sql.Identifier(table)))
        if conn.execute("select to_regclass('platform.batches')").fetchone()[0]:
            conn.execute("delete from platform.quarantine where department = %s", (DEPT,))
            conn.execute("delete from platform.batches where department = %s", (DEPT,))
    with connect(settings, database=settings.department_db, autocommit=True) as conn:
        conn.execute(f"drop schema if exists {SCRATCH_SCHEMA} cascade")


class EnrollmentApi:
    """A tiny stand-in for the 人社厅 API: paging, updated_since, Bearer auth and injectable 503s."""

    def __init__(self) -> None:
        self.records: list[dict] = []
        self.fail_next: dict[int, int] = {}  # page -> how many 503s to answer first
        self.requests: list[tuple[int, int]] = []  # (page, status)

    def answer(self, path: str, auth: str | None) -> tuple[int, bytes]:
        url = urlparse(path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        page, size = int(query.get("page", 1)), int(query.get("page_size", 100))
        if auth != f"Bearer {TOKEN}":
            return 401, b'{"detail": "bad token"}'
        if self.fail_next.get(page):
            self.fail_next[page] -= 1
            self.requests.append((page, 503))
            return 503, b'{"detail": "busy"}'
        rows = (
            [r for r in self.records if r["aae036"] >= query["updated_since"]]
            if "updated_since" in query
            else self.records
        )
        pages = max(1, -(-len(rows) // size))
        body = {
            "page": page,
            "page_size": size,
            "total": len(rows),
            "pages": pages,
            "data": rows[(page - 1) * size : page * size],
        }
        self.requests.append((page, 200))
        return 200, json.dumps(body, ensure_ascii=False).encode("utf-8")


@pytest.fixture(scope="session")
def api() -> Iterator[tuple[EnrollmentApi, str]]:
    state = EnrollmentApi()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            status, body = state.answer(self.path, self.headers.get("Authorization"))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def settings() -> Settings:
    return replace(get_settings(), department_api_token=TOKEN)


@pytest.fixture(scope="session")
def registry_dir(
    tmp_path_factory: pytest.TempPathFactory, api: tuple[EnrollmentApi, str], settings: Settings
) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("registry")
    doc = _test_department_yaml(api[1])
    (directory / f"{DEPT}.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    cleanup(settings)
    yield directory
    cleanup(settings)


def market_csv(rows: list[dict], header: list[str], encoding: str = "gbk", bom: bool = False) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header])
    data = out.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def land_csv(settings: Settings, logical_date: str, name: str, data: bytes) -> str:
    uri = f"s3://landing/{DEPT}/market_entities/{logical_date}/{name}"
    upload_bytes(s3_client(settings), uri, data, "text/csv")
    return uri
