"""Redis as the Celery broker: Debian's ``redis-server``, one process per stack, data under ``<home>/redis``.

Bound to 127.0.0.1 on ``GOVLAKE_REDIS_PORT`` with a password generated once (kept with the Airflow secrets),
append-only file on, so queued Celery messages survive a restart of Redis (the fault test restarts it in
the middle of a cycle). When ``redis-server`` is missing and we are root, it is installed with apt
(``make system-deps`` does the same on a fresh machine); otherwise the error says what to install.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

from govlake.settings import Settings
from govlake.stack.process import StackError, log_path

NAME = "redis"
DEBIAN_PACKAGE = "redis-server"


def redis_binary(install: bool = True) -> Path:
    """``redis-server`` on PATH (or /usr/bin), installed with apt when missing and we are root."""
    for candidate in (shutil.which("redis-server"), "/usr/bin/redis-server"):
        if candidate and os.access(candidate, os.X_OK):
            return Path(candidate)
    if install and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for argv in (
            ["apt-get", "update"],
            ["apt-get", "install", "-y", "--no-install-recommends", DEBIAN_PACKAGE],
        ):
            out = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)
            if out.returncode != 0:
                raise StackError(f"installing {DEBIAN_PACKAGE} failed: {' '.join(argv)}\n{out.stderr[-800:]}")
        return redis_binary(install=False)
    raise StackError(
        f"redis-server not found: install Debian's {DEBIAN_PACKAGE} (apt-get install {DEBIAN_PACKAGE}, or "
        "`make system-deps` as root) for the Celery executor."
    )


def data_dir(settings: Settings) -> Path:
    return settings.home / "redis"


def password(settings: Settings) -> str:
    from govlake.stack.airflow import load_secrets

    return load_secrets(settings)["redis_password"]


def broker_url(settings: Settings) -> str:
    return f"redis://:{password(settings)}@127.0.0.1:{settings.redis_port}/0"


def write_config(settings: Settings) -> Path:
    """redis.conf: loopback, the stack's port and password, AOF on, no RDB snapshots, no daemonising."""
    directory = data_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "redis.conf"
    lines = [
        "bind 127.0.0.1",
        f"port {settings.redis_port}",
        "protected-mode yes",
        f"requirepass {password(settings)}",
        f"dir {directory}",
        "daemonize no",
        'save ""',
        "appendonly yes",
        "appendfsync everysec",
        "maxmemory 256mb",
        "maxmemory-policy noeviction",
        f"logfile {log_path(settings, NAME)}",
    ]
    conf.write_text("# Written by `govlake stack up`.\n" + "\n".join(lines) + "\n", encoding="utf-8")
    conf.chmod(0o600)
    return conf


def argv(settings: Settings) -> list[str]:
    return [str(redis_binary()), str(write_config(settings))]


def ping(settings: Settings, timeout: float = 2) -> str:
    """The server's answer to AUTH + PING over RESP, without a client library."""
    pw = password(settings).encode()
    request = b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n*1\r\n$4\r\nPING\r\n" % (len(pw), pw)
    with socket.create_connection(("127.0.0.1", settings.redis_port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while data.count(b"\r\n") < 2:
            chunk = sock.recv(256)
            if not chunk:
                break
            data += chunk
    return data.decode(errors="replace")


def health(settings: Settings) -> tuple[bool, str]:
    try:
        answer = ping(settings)
    except OSError as exc:
        return False, f"not answering: {exc}"
    ok = "+PONG" in answer
    return ok, f"redis on 127.0.0.1:{settings.redis_port}" if ok else f"unexpected answer {answer[:80]!r}"
