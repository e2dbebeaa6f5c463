"""The REST client the cycle runner watches Airflow with asks a read again when the server drops the
connection (seen mid-cycle under load at scale medium), and never repeats a trigger. A real HTTP server on
a local port plays the API server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from govlake.cycle.airflow_client import AirflowClient
from govlake.settings import Settings


class _FlakyAirflow(BaseHTTPRequestHandler):
    drop_first = {"GET": 1, "POST": 0}
    seen: list[str] = []

    def _answer(self, doc: dict) -> None:
        body = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.seen.append(f"{method} {self.path}")
        if self.path == "/auth/token":
            return self._answer({"access_token": "t"})
        if self.drop_first[method] > 0:
            self.drop_first[method] -= 1
            self.close_connection = True  # no status line: "Remote end closed connection without response"
            return None
        return self._answer({"dags": [{"dag_id": "ingest__x"}], "dag_run_id": "r", "state": "queued"})

    def do_GET(self) -> None:  # noqa: N802 (http.server's names)
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def flaky_airflow():
    _FlakyAirflow.seen = []
    _FlakyAirflow.drop_first = {"GET": 1, "POST": 1}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FlakyAirflow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _client(server) -> AirflowClient:
    settings = Settings(airflow_host="127.0.0.1", airflow_port=server.server_address[1])
    return AirflowClient(settings, timeout=5)


def test_a_read_the_server_drops_is_asked_again(flaky_airflow) -> None:
    assert _client(flaky_airflow).dag_ids() == {"ingest__x"}
    assert _FlakyAirflow.seen.count("GET /api/v2/dags?limit=1000") == 2


def test_a_trigger_the_server_drops_is_not_repeated(flaky_airflow) -> None:
    client = _client(flaky_airflow)
    with pytest.raises(Exception, match="Remote end closed connection"):
        client.request("POST", "/dags/ingest__x/dagRuns", json={"logical_date": None})
    assert [s for s in _FlakyAirflow.seen if s.startswith("POST /api")] == [
        "POST /api/v2/dags/ingest__x/dagRuns"
    ]
