"""Run dbt for the platform: build staging and the libraries into the audit area, generate docs.

dbt runs in a **subprocess** (``python -m dbt.cli.main`` with this interpreter), not in-process through
``dbtRunner``. Reasons: dbt keeps process-global state (flags, adapter registry, event loggers) and does not
support concurrent invocations in one process; its profile reads connection settings through ``env_var()``,
which in-process would mean writing the warehouse password into the Airflow worker's ``os.environ``; and a
crash or a hung connection in dbt must not take the Airflow task process with it. A subprocess gets its own
environment, is killed when the task is, and costs about a second of start-up. Results come from
``run_results.json``, the same artefact dbt Cloud and astronomer-cosmos read.

Invocations sharing a target directory are serialised with a file lock, so that two runs on one host
cannot interleave ``run_results.json``/partial-parse files or build the same audit tables at once.
"""

from __future__ import annotations

import collections
import fcntl
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from govlake.settings import PROJECT_DIR, Settings, get_settings

log = logging.getLogger(__name__)

DBT_PROJECT_DIR = Path(os.environ.get("GOVLAKE_DBT_PROJECT_DIR", PROJECT_DIR / "dbt_project"))

# Statuses in run_results.json that mean a node did not do its job (skipped nodes are reported apart:
# they are the consequence, not the cause).
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
_VARS_COMMANDS = frozenset(
    {
        "build",
        "run",
        "test",
        "seed",
        "snapshot",
        "compile",
        "show",
        "parse",
        "list",
        "ls",
        "run-operation",
        "docs",
        "source",
    }
)
_SCHEMA_PREFIX = re.compile(r"^[a-z][a-z0-9_]{0,30}_$")


class DbtError(RuntimeError):
    """A dbt invocation failed; ``result`` holds every node's outcome."""

    def __init__(self, message: str, result: DbtResult):
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class NodeResult:
    unique_id: str
    status: str
    message: str | None
    failures: int | None
    execution_time: float
    relation: str | None = None

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES

    def describe(self) -> str:
        detail = " | ".join(line.strip() for line in (self.message or "").splitlines() if line.strip())
        text = f"{self.unique_id} [{self.status}]"
        if self.failures:
            text += f" {self.failures} failing row(s)"
        if detail:
            text += f": {detail[:600]}"
        return text


@dataclass(frozen=True)
class DbtResult:
    args: tuple[str, ...]
    returncode: int
    elapsed: float
    nodes: tuple[NodeResult, ...] = ()
    output_tail: tuple[str, ...] = field(default=(), repr=False)
    target_path: Path | None = None

    @property
    def success(self) -> bool:
        return self.returncode == 0

    @property
    def failed_nodes(self) -> tuple[NodeResult, ...]:
        return tuple(n for n in self.nodes if n.failed)

    @property
    def skipped_nodes(self) -> tuple[NodeResult, ...]:
        return tuple(n for n in self.nodes if n.status == "skipped")

    @property
    def warned_nodes(self) -> tuple[NodeResult, ...]:
        return tuple(n for n in self.nodes if n.status == "warn")

    def to_dict(self) -> dict:
        """A small JSON-serialisable account of the run (for XCom and the cycle summary)."""
        return {
            "args": list(self.args),
            "success": self.success,
            "returncode": self.returncode,
            "elapsed_seconds": round(self.elapsed, 2),
            "statuses": dict(collections.Counter(n.status for n in self.nodes)),
            "failed": [n.describe() for n in self.failed_nodes],
            "warned": [n.describe() for n in self.warned_nodes],
        }

    def summary(self) -> str:
        counts = collections.Counter(n.status for n in self.nodes)
        parts = ", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "no nodes"
        return f"dbt {' '.join(self.args)}: exit {self.returncode} in {self.elapsed:.1f}s ({parts})"


def dbt_env(settings: Settings, schema_prefix: str = "", target_path: Path | None = None) -> dict[str, str]:
    """The environment of a dbt subprocess: connection from Settings, paths, no telemetry."""
    env = dict(os.environ)
    env.update(
        {
            "GOVLAKE_PG_HOST": settings.pg_host,
            "GOVLAKE_PG_PORT": str(settings.pg_port),
            "GOVLAKE_PG_USER": settings.pg_user,
            "GOVLAKE_PG_PASSWORD": settings.pg_password,
            "GOVLAKE_WAREHOUSE_DB": settings.warehouse_db,
            "GOVLAKE_DBT_SCHEMA_PREFIX": schema_prefix,
            "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR),
            "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
            "DBT_TARGET_PATH": str(target_path or DBT_PROJECT_DIR / "target"),
            "DBT_LOG_PATH": str((target_path or DBT_PROJECT_DIR / "target") / "logs"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_USE_COLORS": "false",
            "DBT_PRINTER_WIDTH": "110",
            "PYTHONIOENCODING": "utf-8",
        }
    )
    env.pop("GOVLAKE_LOGICAL_DATE", None)  # only run_dbt's own logical_date, never one inherited
    return env


def _target_path(schema_prefix: str) -> Path:
    # A prefixed (test) build gets its own target directory: schema names are resolved at parse time,
    # so it must never reuse the partial-parse state of the real build.
    base = DBT_PROJECT_DIR / "target"
    return base / "prefixed" / schema_prefix.rstrip("_") if schema_prefix else base


@contextmanager
def _locked(target_path: Path):
    target_path.mkdir(parents=True, exist_ok=True)
    with open(target_path / ".govlake-dbt.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read_results(path: Path) -> tuple[NodeResult, ...]:
    if not path.exists():
        return ()
    doc = json.loads(path.read_text(encoding="utf-8"))
    return tuple(
        NodeResult(
            unique_id=r["unique_id"],
            status=str(r.get("status")),
            message=r.get("message"),
            failures=r.get("failures"),
            execution_time=float(r.get("execution_time") or 0.0),
            relation=r.get("relation_name"),
        )
        for r in doc.get("results", [])
    )


def _logical_date_env(args: list[str], logical_date: str | None) -> dict[str, str]:
    """The logical date for dbt, as GOVLAKE_LOGICAL_DATE (macros/logical_date.sql): a new --vars value on
    every run would make dbt parse the whole project again, a changed environment variable does not."""
    if logical_date is None:
        return {}
    date.fromisoformat(logical_date)  # a clear ValueError beats a dbt compile error three layers down
    if not args or args[0] not in _VARS_COMMANDS:
        return {}
    if any(a == "--vars" or a.startswith("--vars=") for a in args):
        raise ValueError("pass logical_date or --vars, not both")
    return {"GOVLAKE_LOGICAL_DATE": logical_date}


def run_dbt(
    args: Sequence[str],
    settings: Settings | None = None,
    logical_date: str | None = None,
    *,
    schema_prefix: str = "",
    check: bool = True,
    timeout: float | None = None,
    target_path: Path | None = None,
) -> DbtResult:
    """Run ``dbt <args>`` against the warehouse and return every node's outcome.

    ``logical_date`` (YYYY-MM-DD) is passed as the environment variable GOVLAKE_LOGICAL_DATE.
    ``schema_prefix`` (e.g. ``t1234_``) builds into prefixed schemas (``t1234_audit``), for tests in a shared
    warehouse.
    With ``check`` (the default) a failed invocation raises :class:`DbtError` naming the failed nodes.
    ``target_path`` overrides where artefacts go (default dbt_project/target, or a per-prefix folder).
    """
    settings = settings or get_settings()
    if schema_prefix and not _SCHEMA_PREFIX.match(schema_prefix):
        raise ValueError(f"schema_prefix {schema_prefix!r} must match {_SCHEMA_PREFIX.pattern}")
    full_args = list(args)
    date_env = _logical_date_env(full_args, logical_date)
    target_path = target_path or _target_path(schema_prefix)
    cmd = [sys.executable, "-c", "import sys; from dbt.cli.main import cli; sys.exit(cli())", *full_args]
    tail: collections.deque[str] = collections.deque(maxlen=200)
    with _locked(target_path):
        (target_path / "run_results.json").unlink(missing_ok=True)
        log.info("running dbt %s (target path %s)", " ".join(full_args), target_path)
        started = time.monotonic()
        proc = subprocess.Popen(
            cmd,
            cwd=DBT_PROJECT_DIR,
            env=dbt_env(settings, schema_prefix, target_path) | date_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                line = line.rstrip("\n")
                tail.append(line)
                log.info("dbt | %s", line)
                if timeout is not None and time.monotonic() - started > timeout:
                    raise TimeoutError(f"dbt {' '.join(full_args)} ran longer than {timeout:.0f}s")
            returncode = proc.wait()
        finally:
            if proc.poll() is None:  # interrupted (task killed, timeout): do not leave dbt running
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        result = DbtResult(
            args=tuple(full_args),
            returncode=returncode,
            elapsed=time.monotonic() - started,
            nodes=_read_results(target_path / "run_results.json"),
            output_tail=tuple(tail),
            target_path=target_path,
        )
    log.info("%s", result.summary())
    if check and not result.success:
        raise DbtError(_failure_message(result, logical_date), result)
    return result


def _failure_message(result: DbtResult, logical_date: str | None) -> str:
    when = f" for logical date {logical_date}" if logical_date else ""
    failed = result.failed_nodes
    if failed:
        lines = [f"dbt {result.args[0]}{when} failed: {len(failed)} node(s) did not succeed:"]
        lines += [f"  - {n.describe()}" for n in failed]
        if result.skipped_nodes:
            skipped = [n.unique_id for n in result.skipped_nodes]
            more = f" (+{len(skipped) - 10} more)" if len(skipped) > 10 else ""
            lines.append(f"  {len(skipped)} downstream node(s) skipped: {', '.join(skipped[:10])}{more}")
    else:  # compile/connection errors end the run before any node ran
        lines = [f"dbt {' '.join(result.args)}{when} failed (exit {result.returncode}) before running nodes:"]
        lines += [f"  {line}" for line in list(result.output_tail)[-25:]]
    lines.append(f"Logs: {result.target_path}/logs/dbt.log; results: {result.target_path}/run_results.json")
    return "\n".join(lines)


# -- what the DAGs and the CLI call ---------------------------------------------------------------------

STAGING_SELECTOR = ("tag:reference", "tag:staging")
LIBRARIES_SELECTOR = ("tag:libraries",)
HISTORY_SELECTOR = ("tag:history",)
# "buildable": a test runs when all its parents are selected or upstream of the selection, so the
# staging build does not pick up library tests that reference the divisions seed, while the library
# build keeps its relationships tests to the seed.
_INDIRECT = ("--indirect-selection", "buildable")


def build_staging(
    logical_date: str, settings: Settings | None = None, *, schema_prefix: str = ""
) -> DbtResult:
    """Seed ``reference.divisions`` and (re)create the staging views, with their tests."""
    return run_dbt(
        ["build", "--select", *STAGING_SELECTOR, *_INDIRECT],
        settings,
        logical_date,
        schema_prefix=schema_prefix,
    )


# Incremental models stamp each row with the logical date of the build that computed it.
INCREMENTAL_MODELS = ("int_persons_versioned",)


def incremental_state_is_ahead(settings: Settings, schema_prefix: str, logical_date: str) -> bool:
    """True when an incremental table in audit already holds a later build (a re-run of an earlier date):
    by its record in platform.table_builds (every incremental model's), or by its rows' _built_for_date
    (int_persons_versioned built before the records were kept)."""
    from govlake.warehouse import connect

    day = date.fromisoformat(logical_date)
    with connect(settings, autocommit=True) as conn:
        recorded = conn.execute(
            "select bool_or(b.built_for_date > %s) from platform.table_builds as b"
            " join pg_class as c on c.oid = b.relation_oid join pg_namespace as n on n.oid = c.relnamespace"
            " where n.nspname = %s",
            (day, f"{schema_prefix}audit"),
        ).fetchone()[0]
        if recorded:
            return True
        for model in INCREMENTAL_MODELS:
            relation = f"{schema_prefix}audit.{model}"
            if conn.execute("select to_regclass(%s)", (relation,)).fetchone()[0] is None:
                continue
            latest = conn.execute(f"select max(_built_for_date) from {relation}").fetchone()[0]
            if latest is not None and latest > day:
                return True
    return False


def build_libraries(
    logical_date: str,
    settings: Settings | None = None,
    *,
    schema_prefix: str = "",
    full_refresh: bool = False,
) -> DbtResult:
    """Build intermediate models and the libraries into ``audit`` for a logical date, with unit and data tests.

    Incremental models (e.g. int_persons_versioned) only re-rank keys delivered since their last build;
    ``full_refresh`` rebuilds them from all history (needed to build an earlier date than they hold).
    """
    settings = settings or get_settings()
    if not full_refresh and incremental_state_is_ahead(settings, schema_prefix, logical_date):
        log.warning("incremental models hold a build later than %s: rebuilding them in full", logical_date)
        full_refresh = True
    refresh = ["--full-refresh"] if full_refresh else []
    return run_dbt(
        ["build", "--select", *LIBRARIES_SELECTOR, "--exclude", *HISTORY_SELECTOR, *refresh, *_INDIRECT],
        settings,
        logical_date,
        schema_prefix=schema_prefix,
    )


def generate_docs(
    settings: Settings | None = None, *, schema_prefix: str = "", logical_date: str | None = None
) -> DbtResult:
    """``dbt docs generate`` into dbt_project/target (index.html, manifest.json, catalog.json)."""
    return run_dbt(["docs", "generate"], settings, logical_date, schema_prefix=schema_prefix)


def snapshot_history(
    logical_date: str, settings: Settings | None = None, *, schema_prefix: str = ""
) -> DbtResult:
    """SCD2 snapshots of the libraries into ``history`` (dbt_valid_from = the logical date).

    Run after the gate passed, so history holds what is published, never a blocked build. History moves
    forward: re-running the latest date first takes back what that date recorded (so a corrected
    re-delivery replaces the day's versions instead of adding a second version on one day), and a date
    earlier than the latest recorded one leaves history as it is — rewriting it would need every later
    date re-run — and says so in the result.
    """
    settings = settings or get_settings()
    latest = _rewind_history(settings, date.fromisoformat(str(logical_date)[:10]), schema_prefix)
    if latest is not None:
        message = (
            f"history already records {latest}, later than {logical_date}: an earlier date does not rewrite "
            "it (history moves forward; re-run the later dates to rebuild it)"
        )
        log.warning("%s", message)
        return DbtResult(args=("snapshot", "skipped"), returncode=0, elapsed=0.0, output_tail=(message,))
    return run_dbt(
        ["build", "--select", *HISTORY_SELECTOR, *_INDIRECT],
        settings,
        logical_date,
        schema_prefix=schema_prefix,
    )


HISTORY_TABLES = ("population_history", "legal_entities_history")


def _rewind_history(settings: Settings, day: date, schema_prefix: str) -> date | None:
    """Take back what ``day`` recorded in each history table; returns a later recorded date, if any."""
    from psycopg import sql

    from govlake.warehouse import connect

    schema = f"{schema_prefix}history"
    with connect(settings) as conn, conn.transaction():
        relations = [
            sql.Identifier(schema, table)
            for table in HISTORY_TABLES
            if conn.execute("select to_regclass(%s)", (f"{schema}.{table}",)).fetchone()[0] is not None
        ]
        for relation in relations:
            latest = conn.execute(
                sql.SQL("select cast(max(dbt_valid_from) as date) from {}").format(relation)
            ).fetchone()[0]
            if latest is not None and latest > day:
                return latest
        # ranges on the stamps, not casts: population_history indexes them (models/history), so taking a
        # day back reads that day's versions only, not the whole history
        midnight = datetime.min.time()
        day_range = (datetime.combine(day, midnight), datetime.combine(day + timedelta(days=1), midnight))
        for relation in relations:
            conn.execute(
                sql.SQL("delete from {} where dbt_valid_from >= %s and dbt_valid_from < %s").format(relation),
                day_range,
            )
            conn.execute(
                sql.SQL(
                    "update {} set dbt_valid_to = null where dbt_valid_to >= %s and dbt_valid_to < %s"
                ).format(relation),
                day_range,
            )
    return None


def ensure_validity_functions(settings: Settings | None = None, *, schema_prefix: str = "") -> DbtResult:
    """Create/replace ``reference.is_valid_resident_id(text)`` and ``reference.is_valid_credit_code(text)``."""
    return run_dbt(["run-operation", "run_create_validity_functions"], settings, schema_prefix=schema_prefix)
