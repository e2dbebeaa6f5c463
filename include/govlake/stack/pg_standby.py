"""A read-only PostgreSQL hot standby by streaming replication (``govlake stack up --standby``).

``pg_basebackup -R`` copies the primary into ``<home>/postgres-standby`` as the same unprivileged user that
runs the primary (:func:`govlake.stack.postgres.server_user`), over the primary's own ``host replication``
rule (scram, 127.0.0.1) with the stack superuser, then the standby starts on ``GOVLAKE_PG_STANDBY_PORT``
and streams the WAL. It is a physical copy: the roles, grants, row-level security policies and masking
views are those of the primary, so a department role reading the standby sees exactly what it may see on
the primary, and heavy ad-hoc SQL there never slows the daily cycle on the primary. A replication slot on
the primary keeps the WAL the standby has not replayed yet, so a standby that was down catches up.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import psycopg

from govlake.settings import Settings
from govlake.stack import postgres
from govlake.stack.process import StackError, log_path, tail

NAME = "postgres-standby"
SLOT = "govlake_standby"


def data_dir(settings: Settings) -> Path:
    return settings.home / "postgres-standby"


def socket_dir(settings: Settings) -> Path:
    return Path(str(postgres.socket_dir(settings)) + "-standby")


def standby_pid(settings: Settings) -> int | None:
    """The standby postmaster's pid from its postmaster.pid, if that process still runs."""
    from govlake.stack.process import pid_alive

    try:
        pid = int((data_dir(settings) / "postmaster.pid").read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError, PermissionError):
        return None
    return pid if pid_alive(pid) else None


def standby_config(settings: Settings, wal_compression: str) -> dict[str, str]:
    """The primary's settings with the standby's port and socket, plus what a read replica needs."""
    config = postgres.server_config(settings, socket_dir(settings), wal_compression)
    config.update(
        {
            "port": str(settings.pg_standby_port),
            "hot_standby": "on",
            # Long analyst queries are not cancelled by replay of vacuumed rows: the primary keeps them.
            "hot_standby_feedback": "on",
            "max_standby_streaming_delay": "30s",
            "wal_receiver_status_interval": "1s",
            "shared_buffers": "128MB",
        }
    )
    return config


def _ensure_slot(settings: Settings) -> None:
    with postgres.connect_admin(settings) as conn:
        exists = conn.execute("select 1 from pg_replication_slots where slot_name = %s", (SLOT,)).fetchone()
        if not exists:
            conn.execute("select pg_create_physical_replication_slot(%s)", (SLOT,))


def _write_config(settings: Settings, binaries: postgres.PgBinaries, run_as: postgres.RunAs) -> None:
    sock = socket_dir(settings)
    sock.mkdir(parents=True, exist_ok=True)
    sock.chmod(0o755)
    run_as.own(sock)
    config = standby_config(settings, binaries.wal_compression())
    conf = data_dir(settings) / "govlake.conf"
    conf.write_text(
        "# Written by `govlake stack up --standby`; edit standby_config() instead.\n"
        + "\n".join(f"{k} = {v}" for k, v in config.items())
        + "\n"
    )
    run_as.own(conf)


def base_backup(settings: Settings, binaries: postgres.PgBinaries, run_as: postgres.RunAs, log: Path) -> None:
    """``pg_basebackup -R -X stream -S <slot>`` from the primary into an empty standby directory."""
    target = data_dir(settings)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    target.chmod(0o700)
    run_as.own(target)
    _ensure_slot(settings)
    env = {**postgres._server_env(), "PGPASSWORD": settings.pg_password}
    argv = [
        str(binaries.bin_dir / "pg_basebackup"), "-h", settings.pg_host, "-p", str(settings.pg_port),
        "-U", settings.pg_user, "-D", str(target), "-R", "-X", "stream", "-S", SLOT, "-c", "fast",
        "--no-password",
    ]  # fmt: skip
    postgres._run(run_as.wrap(argv), "pg_basebackup", log, env=env, timeout=600)


def start(settings: Settings, timeout: float = 120) -> str:
    """Create (first time: a base backup of the running primary) and start the standby."""
    if standby_pid(settings) is not None:
        return "already running"
    if postgres.postmaster_pid(settings) is None:
        raise StackError("the standby needs the primary running: start PostgreSQL first")
    log = log_path(settings, NAME)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.touch()
    binaries = postgres.find_binaries(postgres.data_dir(settings))
    run_as = postgres.server_user()
    run_as.own(log)
    created = not (data_dir(settings) / "standby.signal").exists()
    if created:
        base_backup(settings, binaries, run_as, log)
    _write_config(settings, binaries, run_as)
    argv = [
        str(binaries.pg_ctl), "-D", str(data_dir(settings)), "-l", str(log), "-w", "-t", str(int(timeout)),
        "start",
    ]  # fmt: skip
    try:
        postgres._run(
            run_as.wrap(argv), "pg_ctl start (standby)", log, env=postgres._server_env(), timeout=timeout + 10
        )
    except StackError as exc:
        raise StackError(f"{exc}\n--- last lines of {log} ---\n{tail(log)}") from exc
    return "created from a base backup and started" if created else "started"


def stop(settings: Settings, timeout: float = 60) -> str:
    pid = standby_pid(settings)
    if pid is None:
        return "not running"
    argv = postgres.pg_ctl_stop_argv(data_dir(settings), timeout)
    try:
        postgres._run(
            postgres.server_user().wrap(argv), "pg_ctl stop (standby)", log_path(settings, NAME),
            env=postgres._server_env(), timeout=timeout + 10,
        )  # fmt: skip
        return "stopped (fast)"
    except StackError:
        from govlake.stack.process import kill_pids

        kill_pids([pid], timeout=5)
        return "killed"


def connect(
    settings: Settings, database: str | None = None, user: str | None = None, password: str | None = None
):
    return psycopg.connect(settings.standby_url(database, user, password), connect_timeout=3, autocommit=True)


def replay_lag(settings: Settings) -> float | None:
    """Seconds between the primary's current WAL position being written and the standby replaying it."""
    with postgres.connect_admin(settings) as conn:
        row = conn.execute(
            "select extract(epoch from replay_lag) from pg_stat_replication where application_name <> ''"
        ).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def wait_caught_up(settings: Settings, timeout: float = 30) -> float:
    """Block until the standby has replayed everything the primary has written now; returns seconds."""
    started = time.monotonic()
    with postgres.connect_admin(settings) as conn:
        target = conn.execute("select pg_current_wal_lsn()").fetchone()[0]
    with connect(settings, "postgres") as standby:
        while time.monotonic() - started < timeout:
            done = standby.execute(
                "select pg_last_wal_replay_lsn() >= %s::pg_lsn", (str(target),)
            ).fetchone()[0]
            if done:
                return time.monotonic() - started
            time.sleep(0.2)
    raise StackError(f"the standby did not replay up to {target} within {timeout:.0f}s")


def health(settings: Settings) -> tuple[bool, str]:
    try:
        with connect(settings, "postgres") as conn:
            recovering = conn.execute("select pg_is_in_recovery()").fetchone()[0]
            receiver = conn.execute("select status from pg_stat_wal_receiver").fetchone()
    except psycopg.Error as exc:
        return False, f"cannot connect: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc}"
    if not recovering:
        return False, "not in recovery (promoted?): it is no longer a standby"
    status = receiver[0] if receiver else "no WAL receiver"
    return status == "streaming", f"hot standby, WAL receiver {status}"
