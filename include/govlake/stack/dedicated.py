"""A throwaway stack on its own home and ports, for a test module that must not share the suite's stack.

``make test`` runs pytest against one stack; a module that kills PostgreSQL and S3, or needs the stack
started with other settings (a registry directory, an alert webhook), starts one of its own here. Its
ports are a fixed family below the kernel's ephemeral range (32768-60999 here): by the time the
department API binds, an outgoing connection of the running suite may hold any ephemeral port as its
local end. The first family whose every port is free is taken, so a running demo/dev stack survives.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from govlake.settings import Settings, get_settings, load_settings
from govlake.stack.process import port_open

FAMILY_STEP = 200  # the next candidate family of ports
FAMILY_TRIES = 10


def stack_env(home: Path, base: int) -> dict[str, str]:
    """The ``GOVLAKE_*`` variables of a stack whose ports derive from ``base`` (27000: 27432, 27333, ...)."""
    return {
        "GOVLAKE_HOME": str(home),
        "GOVLAKE_PG_PORT": str(base + 432),
        "GOVLAKE_S3_ENDPOINT": f"127.0.0.1:{base + 333}",
        "GOVLAKE_AIRFLOW_PORT": str(base + 80),
        "GOVLAKE_DEPARTMENT_API_PORT": str(base + 90),
        "GOVLAKE_WEB_PORT": str(base + 70),
    }


def free_stack_env(home: Path, base: int) -> dict[str, str] | None:
    """The first port family from ``base`` (stepping by 200) whose every derived port is free, else None."""
    from govlake.stack.manager import stack_ports

    for shift in range(0, FAMILY_STEP * FAMILY_TRIES, FAMILY_STEP):
        env = stack_env(home, base + shift)
        with environment(env):  # stack services (e.g. the simulated systems) read their ports from it
            ports = stack_ports(load_settings())
        if not any(port_open("127.0.0.1", p, timeout=0.2) for p in ports.values()):
            return env
    return None


def make_stack_dir(prefix: str) -> Path:
    """A directory the postgres user can reach when we are root (pytest's own tmp dirs are mode 700)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set variables for the block (and its child processes), then restore them; settings are re-read."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()


@contextmanager
def dedicated_stack(
    home: Path,
    base: int,
    extra_env: dict[str, str] | None = None,
    *,
    start: bool = True,
    up_timeout: float = 300,
    down_timeout: float = 60,
) -> Iterator[Settings]:
    """Point this process at a stack of its own under ``home`` for the block; it is stopped afterwards.

    ``start=False`` leaves ``up`` to the caller (a test that times it). ``down`` always runs, bounded by
    about 2 x ``down_timeout``, and the previous environment and settings come back.
    """
    from govlake.stack.manager import down, up
    from govlake.stack.process import StackError

    env = free_stack_env(home, base)
    if env is None:
        raise StackError(
            f"no free family of ports for a dedicated stack from {base} "
            f"(tried {FAMILY_TRIES}, {FAMILY_STEP} apart): stop a leftover stack or pick another base"
        )
    with environment({**env, **(extra_env or {})}):
        settings = load_settings()
        try:
            if start:
                result = up(settings, timeout=up_timeout)
                if not result.healthy:
                    bad = [(c.name, c.detail) for c in result.components if not c.healthy]
                    raise StackError(f"the dedicated stack at {home} did not come up healthy: {bad}")
            yield load_settings()
        finally:
            down(settings, timeout=down_timeout)


def remove_stack_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
