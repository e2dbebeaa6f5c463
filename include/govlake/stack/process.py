"""Starting, finding and stopping the stack's long-running processes.

Every managed process is started in its own session (``start_new_session=True``), so it leads a process
group that holds everything it forks (Airflow's executor workers and task supervisors, gunicorn workers).
Stopping signals that whole group. A PID file under ``<home>/run`` records the pid *and* the kernel's start
time of the process, so a PID that the kernel has since handed to an unrelated process is never mistaken
for ours (a stale PID file is simply removed).

Each child also carries ``GOVLAKE_STACK_HOME`` in its environment; :func:`find_stack_processes` uses it to
sweep up anything that escaped its process group, so ``down`` leaves nothing of a stack behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from govlake.settings import Settings

STACK_HOME_ENV = "GOVLAKE_STACK_HOME"
STACK_COMPONENT_ENV = "GOVLAKE_STACK_COMPONENT"


class StackError(RuntimeError):
    """A component could not be started or stopped; the message names it and where to look."""


def run_dir(settings: Settings) -> Path:
    return settings.home / "run"


def log_path(settings: Settings, name: str) -> Path:
    return settings.logs_dir / f"{name}.log"


def pid_path(settings: Settings, name: str) -> Path:
    return run_dir(settings) / f"{name}.pid"


# -- process identity --------------------------------------------------------------------------------


def process_start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat), or None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may contain spaces and parentheses: split after its closing paren.
    fields = stat[stat.rfind(")") + 2 :].split()
    state = fields[0]
    if state in ("Z", "X"):
        return None
    return int(fields[19])


def pid_alive(pid: int, start_time: int | None = None) -> bool:
    """True if ``pid`` runs and, when ``start_time`` is given, is still the same process."""
    current = process_start_time(pid)
    if current is None:
        return False
    return start_time is None or current == start_time


def group_alive(pgid: int) -> bool:
    """True while any process of the group ``pgid`` is left (zombies count as gone)."""
    for pid in _all_pids():
        try:
            if os.getpgid(pid) == pgid and process_start_time(pid) is not None:
                return True
        except ProcessLookupError:
            continue
    return False


def _all_pids() -> Iterable[int]:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            yield int(entry.name)


# -- PID files ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PidRecord:
    pid: int
    start_time: int | None

    @property
    def alive(self) -> bool:
        return pid_alive(self.pid, self.start_time)


def write_pid(settings: Settings, name: str, pid: int) -> None:
    path = pid_path(settings, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{pid}\n{process_start_time(pid) or ''}\n", encoding="utf-8")


def read_pid(settings: Settings, name: str) -> PidRecord | None:
    """The recorded process if it still runs; a stale file (process gone or PID reused) is removed."""
    path = pid_path(settings, name)
    try:
        lines = path.read_text(encoding="utf-8").split()
    except FileNotFoundError:
        return None
    try:
        record = PidRecord(int(lines[0]), int(lines[1]) if len(lines) > 1 else None)
    except (ValueError, IndexError):
        path.unlink(missing_ok=True)
        return None
    if not record.alive:
        path.unlink(missing_ok=True)
        return None
    return record


# -- start / stop ------------------------------------------------------------------------------------


def spawn(
    settings: Settings,
    name: str,
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: Path | None = None,
) -> int:
    """Start ``argv`` detached in its own session, output appended to ``<home>/logs/<name>.log``."""
    log = log_path(settings, name)
    log.parent.mkdir(parents=True, exist_ok=True)
    child_env = {**env, STACK_HOME_ENV: str(settings.home), STACK_COMPONENT_ENV: name}
    with open(log, "ab") as out:
        out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {name}: {' '.join(argv)}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            list(argv),
            env=child_env,
            cwd=str(cwd or settings.home),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    write_pid(settings, name, proc.pid)
    return proc.pid


def reap(pid: int) -> None:
    """Collect an exited child of this process so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def terminate_group(pgid: int, timeout: float, sig: int = signal.SIGTERM) -> bool:
    """Signal the process group, wait up to ``timeout`` s, then SIGKILL it. True if it ended gracefully."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reap(pgid)
        if not group_alive(pgid):
            return True
        time.sleep(0.2)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    kill_deadline = time.monotonic() + 5
    while time.monotonic() < kill_deadline and group_alive(pgid):
        reap(pgid)
        time.sleep(0.1)
    return False


def stop_managed(settings: Settings, name: str, timeout: float) -> str:
    """Stop one managed process and its group; returns a one-line account for the CLI."""
    record = read_pid(settings, name)
    if record is None:
        pid_path(settings, name).unlink(missing_ok=True)
        return "not running"
    started = time.monotonic()
    graceful = terminate_group(record.pid, timeout)
    pid_path(settings, name).unlink(missing_ok=True)
    took = time.monotonic() - started
    return f"stopped in {took:.1f}s" if graceful else f"killed after {took:.1f}s (did not stop on SIGTERM)"


def _ancestors() -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            pid = int(stat[stat.rfind(")") + 2 :].split()[1])
        except (OSError, ValueError):
            break
    return pids


def find_stack_processes(home: Path) -> list[int]:
    """Every live process whose environment marks it as part of the stack at ``home``."""
    marker = f"{STACK_HOME_ENV}={home}".encode() + b"\0"
    mine = _ancestors()
    found = []
    for pid in _all_pids():
        if pid in mine:
            continue
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes() + b"\0"
        except OSError:
            continue
        if marker in environ and process_start_time(pid) is not None:
            found.append(pid)
    return found


def kill_pids(pids: Iterable[int], timeout: float = 5.0) -> None:
    """SIGTERM, then after ``timeout`` SIGKILL, a set of stray processes."""
    pids = list(pids)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        time.sleep(0.2)
    for pid in pids:
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


# -- ports ---------------------------------------------------------------------------------------------


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True if something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_bindable(host: str, port: int) -> bool:
    """True if a listener could bind host:port now: unlike ``port_open`` this also sees a port held as the
    local end of an outgoing connection (the kernel hands those out from its ephemeral range)."""
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log, for error messages a person reads."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])
