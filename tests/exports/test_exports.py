"""Exports into real S3 as the consumer's own role: exactly the granted items, masked, neutralised."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pyarrow.parquet as pq
import pytest
import requests

from govlake.exports.export_files import neutralise
from govlake.exports.run import ExportError, run_export
from govlake.lake import s3_client
from govlake.sharing import dispatch
from govlake.sharing.subscriptions import Subscription, load_subscriptions, parse_subscription

DAY = "1999-01-01"


def _grant(zone, platform, items=("resident_id", "name")):
    request = zone.submit(platform, items, days=3)
    return dispatch.approve(platform, request.request_id, zone.provider, settings=zone.settings)


@pytest.fixture
def webhook():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


def test_formula_injection_is_neutralised():
    assert neutralise("=1+1") == "'=1+1" and neutralise("@SUM(A1)") == "'@SUM(A1)"
    assert neutralise("张三") == "张三" and neutralise(-5) == -5


def test_airflow_safe_mode_discovery_sees_the_exports_dag_file():
    """Airflow skips a file that never mentions "airflow"; the export DAGs and the sweep went unseen so."""
    from airflow.utils.file import might_contain_dag

    from govlake.settings import PROJECT_DIR

    assert might_contain_dag(str(PROJECT_DIR / "dags" / "exports.py"), safe_mode=True)


def test_subscription_errors_name_file_and_field(tmp_path):
    with pytest.raises(ValueError, match="format"):
        parse_subscription(
            {"consumer": "a", "resource": "b", "items": ["x"], "format": "pdf"}, "f.yaml: s[0]"
        )
    (tmp_path / "bad.yaml").write_text(
        "subscriptions:\n  - {consumer: a, resource: b, items: [x], filter: {y: 1}}\n"
    )
    errors: list[str] = []
    assert load_subscriptions([tmp_path], errors) == [] and "bad.yaml" in errors[0] and "filter" in errors[0]


@pytest.mark.integration
@pytest.mark.usefixtures("outboxes")
def test_export_without_grant_for_a_conditional_item_fails_before_writing(zone, platform):
    sub = Subscription(
        zone.consumer, zone.resource, ("record_id", "resident_id"), "csv", source_file="t.yaml"
    )
    with pytest.raises(ExportError, match="resident_id"):
        run_export(sub, DAY, zone.settings)
    objects = list(
        s3_client(zone.settings).list_objects("exchange", prefix=f"{zone.consumer}/exports/", recursive=True)
    )
    assert objects == []


@pytest.mark.integration
@pytest.mark.usefixtures("outboxes")
def test_csv_export_matches_its_grant_with_manifest_link_and_webhook(zone, platform, webhook):
    url, received = webhook
    _grant(zone, platform)
    sub = Subscription(
        zone.consumer,
        zone.resource,
        ("record_id", "resident_id", "name", "division_code"),
        "csv",
        filter={"division_code": ["520102", "520325"]},
        webhook=url,
        link_hours=1,
        source_file="t",
    )
    result = run_export(sub, DAY, zone.settings)
    prefix = f"exports/{zone.resource}/{DAY}/"
    data = zone.outbox(prefix + "data.csv")
    manifest = json.loads(zone.outbox(prefix + "_manifest.json"))
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest() and manifest["rows"] == 2
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [
        ["record_id", "resident_id", "name", "division_code"],
        ["B001", "520102********1237", "张*", "520102"],
        ["B002", "520325********462X", "李*", "520325"],
    ]
    assert received and received[0]["sha256"] == manifest["sha256"]
    assert requests.get(received[0]["download_url"], timeout=10).content == data
    logged = platform.execute(
        "select channel, row_count from platform.access_log where department = %s", (zone.consumer,)
    ).fetchall()
    assert logged == [("export", 2)]
    assert result["grant_ids"]


@pytest.mark.integration
@pytest.mark.usefixtures("outboxes")
def test_xlsx_neutralises_formulas_and_parquet_keeps_types(zone, platform):
    # weight_grams is conditional: granted here; diagnosis (不予共享, with a formula in B003) never exports.
    _grant(zone, platform, items=("weight_grams", "name"))
    for fmt in ("xlsx", "parquet"):
        sub = Subscription(
            zone.consumer,
            zone.resource,
            ("record_id", "name", "weight_grams", "birth_date"),
            fmt,
            source_file="t",
        )
        run_export(sub, DAY, zone.settings)
    prefix = f"exports/{zone.resource}/{DAY}/"
    table = pq.read_table(io.BytesIO(zone.outbox(prefix + "data.parquet")))
    assert table.column("weight_grams").to_pylist() == [3200, 2900, 3500]
    assert table.column("birth_date").to_pylist()[0] == dt.date(2026, 1, 2)
    with pytest.raises(ExportError, match="diagnosis"):
        run_export(
            Subscription(zone.consumer, zone.resource, ("record_id", "diagnosis"), "xlsx", source_file="t"),
            DAY,
            zone.settings,
        )


def test_xlsx_cells_that_look_like_formulas_are_text(tmp_path):
    from openpyxl import load_workbook

    from govlake.exports.export_files import write_xlsx

    path = tmp_path / "x.xlsx"
    write_xlsx(path, ["a", "b"], [('=HYPERLINK("http://x")', 1), ("+1", -2)])
    ws = load_workbook(path).active
    assert ws["A2"].value == '\'=HYPERLINK("http://x")' and ws["A2"].data_type == "s"
    assert ws["B3"].value == -2


@pytest.mark.integration
@pytest.mark.usefixtures("outboxes")
def test_presigned_link_expires(zone, platform):
    client = s3_client(zone.settings)
    client.put_object("exchange", f"{zone.consumer}/exports/zz/x.txt", io.BytesIO(b"x"), 1)
    link = client.presigned_get_object(
        "exchange", f"{zone.consumer}/exports/zz/x.txt", expires=dt.timedelta(seconds=1)
    )
    assert requests.get(link, timeout=10).status_code == 200
    time.sleep(2.5)
    assert requests.get(link, timeout=10).status_code in (400, 403)
