"""Fixtures for ingest tests: a test-only department in a scratch registry, cleaned up before and after.

Everything is real — the local stack's PostgreSQL and S3 — but lives under the department code
``zz_ingest_test`` and 1999 logical dates, so tests never touch what other engineers are working on.
"""

from __future__ import annotations

import csv
import io
import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import psycopg
import pytest
import yaml

from demo_province.systems import department_systems
from govlake.ingest.landing import clear_prefix, upload_bytes
from govlake.lake import s3_client
from govlake.registry import REGISTRY_DIR
from govlake.settings import BUCKETS, Settings, get_settings
from govlake.warehouse import connect

DEPT = "zz_ingest_test"
SCRATCH_SCHEMA = "zz_ingest_test"  # in the department_systems database
TOKEN = "test-token-not-a-secret"
TOKEN_ENV = "GOVLAKE_TEST_DEPARTMENT_API_TOKEN"


def _test_department_yaml(api_url: str) -> dict:
    """Four real datasets, re-homed under the test department (same declared columns)."""
    datasets = []
    for name in ("market_regulation", "public_security", "human_resources", "finance"):
        doc = yaml.safe_load((REGISTRY_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
        datasets += doc["datasets"]
    datasets += extra_datasets(api_url)
    for ds in datasets:
        if ds["source"]["kind"] == "database" and not ds["source"]["table"].startswith(SCRATCH_SCHEMA):
            ds["source"]["table"] = f"{SCRATCH_SCHEMA}.{ds['code']}"
        if ds["source"]["kind"] == "rest_api" and "url" not in ds["source"]:  # the 人社厅 dataset
            ds["source"].update(
                url=api_url + "/api/v1/enrollments",
                token_env=TOKEN_ENV,
                page_size=3,
                retry_backoff_seconds=0.05,
            )
    department = {"code": DEPT, "name": "测试厅", "provider_code": "00000000000000000X", "sensitivity": "low"}
    return {"department": department, "datasets": datasets}


def _col(name: str, source: str, kind: str = "string", required: bool = False) -> dict:
    return {"name": name, "source_name": source, "label": source, "type": kind, "required": required}


def extra_datasets(api_url: str) -> list[dict]:
    """Datasets shaped like the new departments' (XLSX, ;-CSV, soft-deleting database, keyset API)."""
    common = {"update_cycle": "每日", "schedule": "@daily", "summary": "测试。"}
    return [
        {
            **common,
            "code": "birth_certificates",
            "name": "出生医学证明",
            "source": {"kind": "xlsx", "header_row": 3, "sheets": "all", "merged_cells": "fill"},
            "primary_key": ["certificate_no"],
            "columns": [
                _col("certificate_no", "出生医学证明编号", required=True),
                _col("child_name", "新生儿姓名", required=True),
                _col("birth_date", "出生日期", "date", required=True),
                _col("weight_g", "出生体重（克）", "integer"),
                _col("issuer", "签发机构", required=True),
            ],
        },
        {
            **common,
            "code": "passenger_volumes",
            "name": "客运量",
            "source": {"kind": "csv"},  # no encoding, no delimiter: both detected
            "primary_key": ["division_code", "period"],
            "columns": [
                _col("division_code", "行政区划代码", required=True),
                _col("period", "统计期", required=True),
                _col("passengers", "客运量", "integer"),
                _col("note", "备注"),
            ],
        },
        {
            **common,
            "code": "dibao_recipients",
            "name": "低保对象",
            "source": {
                "kind": "database",
                "connection": "civil_affairs_db",
                "table": f"{SCRATCH_SCHEMA}.dibao_recipients",
                "watermark": "updated_at",
                "deleted_flag": "is_deleted",
            },
            "primary_key": ["recipient_id"],
            "columns": [
                _col("recipient_id", "recipient_id", required=True),
                _col("name", "name", required=True),
                _col("amount", "amount", "decimal", required=True),
                _col("updated_at", "updated_at", "timestamp", required=True),
            ],
        },
        {
            **common,
            "code": "indicators",
            "name": "指标",
            "source": {
                "kind": "rest_api",
                "url": api_url + "/api/v1/enrollments",
                "token_env": TOKEN_ENV,
                "paging": "keyset",
                "after_param": "after_id",
                "keyset_key": "id",
                "page_size": 2,
                "data_key": "data",
                "requests_per_second": 5,
                "retry_backoff_seconds": 0.05,
            },
            "primary_key": ["enrollment_id"],
            "columns": [
                _col("enrollment_id", "id", required=True),
                _col("resident_id", "aac002", required=True),
                _col("updated_at", "aae036", "timestamp", required=True),
            ],
        },
    ]


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
            conn.execute("delete from platform.reconciliation where department = %s", (DEPT,))
        if conn.execute("select to_regclass('platform.deliveries')").fetchone()[0]:
            conn.execute("delete from platform.deliveries where department = %s", (DEPT,))
            conn.execute("delete from platform.delivered_files where department = %s", (DEPT,))
    with connect(settings, database=department_systems(settings).database, autocommit=True) as conn:
        conn.execute(f"drop schema if exists {SCRATCH_SCHEMA} cascade")


class EnrollmentApi:
    """A tiny stand-in for the 人社厅 API: paging, updated_since, Bearer auth and injectable 503s."""

    def __init__(self) -> None:
        self.records: list[dict] = []
        self.fail_next: dict[int, int] = {}  # page -> how many 503s to answer first
        self.requests: list[tuple[int, int]] = []  # (page, status)
        self.throttle_next: dict[int, int] = {}  # page -> how many 429s (Retry-After: retry_after) first
        self.retry_after = "1"
        self.times: list[float] = []  # monotonic arrival time of every request
        self.queries: list[dict] = []

    def answer(self, path: str, auth: str | None) -> tuple[int, bytes, dict]:
        url = urlparse(path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        page, size = int(query.get("page", 1)), int(query.get("page_size", 100))
        self.times.append(time.monotonic())
        self.queries.append(query)
        if auth != f"Bearer {TOKEN}":
            return 401, b'{"detail": "bad token"}', {}
        if self.fail_next.get(page):
            self.fail_next[page] -= 1
            self.requests.append((page, 503))
            return 503, b'{"detail": "busy"}', {}
        if self.throttle_next.get(page):
            self.throttle_next[page] -= 1
            self.requests.append((page, 429))
            return 429, b'{"detail": "slow down"}', {"Retry-After": self.retry_after}
        rows = (
            [r for r in self.records if r["aae036"] >= query["updated_since"]]
            if "updated_since" in query
            else self.records
        )
        pages = max(1, -(-len(rows) // size))
        if "after_id" in query:  # keyset paging, as the 人社厅 API offers it: no count on these pages
            data = [r for r in rows if int(r["id"]) > int(query["after_id"])][:size]
            body = {"page": page, "page_size": size, "data": data}
        else:
            data = rows[(page - 1) * size : page * size]
            body = {"page": page, "page_size": size, "total": len(rows), "pages": pages, "data": data}
        self.requests.append((page, 200))
        return 200, json.dumps(body, ensure_ascii=False).encode("utf-8"), {}


@pytest.fixture(scope="session")
def api() -> Iterator[tuple[EnrollmentApi, str]]:
    state = EnrollmentApi()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            status, body, headers = state.answer(self.path, self.headers.get("Authorization"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
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
def settings() -> Iterator[Settings]:
    # The test API's Bearer token, named by the test registry's `token_env` (a full `url:` source).
    os.environ[TOKEN_ENV] = TOKEN
    yield get_settings()
    os.environ.pop(TOKEN_ENV, None)


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


def land_csv(
    settings: Settings, logical_date: str, name: str, data: bytes, dataset: str = "market_entities"
) -> str:
    uri = f"s3://landing/{DEPT}/{dataset}/{logical_date}/{name}"
    upload_bytes(s3_client(settings), uri, data, "text/csv")
    return uri
