"""One distributed stack shared by the scale-out suite (pytest -m scaleout): CeleryExecutor with two workers
on Redis, EdgeExecutor with the registry's front-end processors (公安厅, 财政厅), the lake on a SeaweedFS
cluster (master, three volume servers, replication 001, filer, S3 gateway) and a PostgreSQL hot standby.

It is a stack of its own (own home, ports from 30000 — a family below the kernel's ephemeral range), started
once for the suite and stopped after it, so the suite's faults (killed workers and volume servers, a
restarted broker) never touch the main test stack.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from govlake.settings import Settings, load_settings
from govlake.stack.dedicated import environment, free_stack_env, make_stack_dir, remove_stack_dir
from govlake.stack.process import StackError

BASE_PORT = 30000
UP_TIMEOUT = 900  # a 2-core runner starts ~20 processes


def scaleout_env(base_env: dict[str, str]) -> dict[str, str]:
    """The dedicated stack's variables plus the distributed options and their ports (same family)."""
    base = int(base_env["GOVLAKE_PG_PORT"]) - 432
    return {
        **base_env,
        "GOVLAKE_EXECUTOR": "celery",
        "GOVLAKE_CELERY_WORKERS": "2",
        "GOVLAKE_EDGE_WORKERS": "true",
        "GOVLAKE_S3_CLUSTER": "true",
        "GOVLAKE_STANDBY": "true",
        "GOVLAKE_REDIS_PORT": str(base + 479),
        "GOVLAKE_FLOWER_PORT": str(base + 481),
        "GOVLAKE_PG_STANDBY_PORT": str(base + 450),
    }


@pytest.fixture(scope="session")
def dist() -> Iterator[Settings]:
    """The running distributed stack's settings; `down` afterwards, always."""
    from govlake.stack.manager import down, up

    home = make_stack_dir("govlake-scaleout-")
    env = free_stack_env(home, BASE_PORT)
    if env is None:
        raise StackError(f"no free port family from {BASE_PORT} for the scale-out stack")
    # The cycle runner's REST calls wait up to 30 s; on a 2-core runner shared with ~20 stack processes the
    # API server has been slower than that for a moment. Same calls, more patience.
    from govlake.cycle.airflow_client import AirflowClient

    patience = pytest.MonkeyPatch()
    patience.setattr(AirflowClient.__init__, "__defaults__", (None, 120))
    with environment(scaleout_env(env)):
        settings = load_settings()
        try:
            result = up(settings, timeout=UP_TIMEOUT)
            if not result.healthy:
                bad = [(c.name, c.detail) for c in result.components if not c.healthy]
                raise StackError(f"the scale-out stack did not come up healthy: {bad}")
            yield load_settings()
        finally:
            down(settings, timeout=60)
            patience.undo()
            remove_stack_dir(home)


@pytest.fixture(scope="session")
def stack(dist: Settings) -> Settings:
    """The e2e tests' name for the stack they check (reused here over the distributed stack)."""
    return dist


@pytest.fixture
def warehouse(dist: Settings):
    from govlake.warehouse import connect

    with connect(dist, autocommit=True) as conn:
        yield conn
