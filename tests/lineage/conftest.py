"""Lineage fixtures: the dbt project compiled once per session, its events collected into the stack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from govlake.settings import Settings

COMPILE_DATE = "2099-12-31"


@pytest.fixture(scope="session")
def compiled_manifest(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``dbt compile`` into a target of its own: every model's compiled SQL, as a build leaves it."""
    from govlake.transform.runner import run_dbt
    from govlake.warehouse import bootstrap_warehouse

    bootstrap_warehouse(stack)
    target = tmp_path_factory.mktemp("dbt-target")
    # A date after any build the session's cycles made: an incremental model refuses to compile for a date
    # earlier than the build it holds (its guard), and this is compile only — nothing is written.
    run_dbt(["compile", "--quiet"], stack, logical_date=COMPILE_DATE, target_path=target)
    return target / "manifest.json"


@pytest.fixture(scope="session")
def collected(stack: Settings, compiled_manifest: Path):
    """The registry's ingests and every dbt model as OpenLineage events, stored (one run per job)."""
    from govlake.lineage.collection import collect

    return collect(compiled_manifest, "2026-12-01", stack)


@pytest.fixture
def lineage_conn(stack: Settings) -> Iterator[psycopg.Connection]:
    from govlake.warehouse import connect

    with connect(stack, autocommit=True) as conn:
        yield conn
