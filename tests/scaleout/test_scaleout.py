"""Beyond one machine (issue 18): faults survived on real processes, nothing lost.

Two daily cycles on the shared distributed stack (tests/scaleout/conftest.py):

* Day 1, undisturbed, through CeleryExecutor with two workers: the e2e suite's own checks of the
  LocalExecutor cycle (tests/e2e/test_daily_cycle.py — reconciliation, quarantine = injected defects,
  valid people only, the consumer's grants, every zone) run again here, unchanged, on this cycle. Meanwhile
  a poller watches the publication reach the hot standby.
* Day 2, with faults injected while it runs: 公安厅's front-end processor (edge worker) is stopped before
  the deliveries start and started again once every other department's delivery has landed; a Celery
  worker is SIGKILLed while it runs an ingest task; a SeaweedFS volume server is SIGKILLed during ingest;
  Redis is restarted. The cycle must still publish, every batch once, reconciled.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from govlake.settings import Settings
from govlake.stack import distributed, pg_standby, redis_broker, s3_cluster, scaleout
from govlake.stack.process import read_pid, stop_managed

pytestmark = [pytest.mark.scaleout, pytest.mark.integration]

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
_e2e = importlib.import_module("e2e.test_daily_cycle")
_cycles = importlib.import_module("e2e.cycles")

# The LocalExecutor cycle's own expectations, collected again here against the Celery cycle (`cycle`).
test_every_batch_reconciles = _e2e.test_every_batch_reconciles
test_the_injected_defects_are_quarantined = _e2e.test_the_injected_defects_are_quarantined
test_published_libraries_hold_only_valid_people = _e2e.test_published_libraries_hold_only_valid_people
test_a_department_reads_only_the_unconditional_items = (
    _e2e.test_a_department_reads_only_the_unconditional_items
)
test_every_zone_has_the_day = _e2e.test_every_zone_has_the_day

EDGE_DEPARTMENT = "public_security"
EDGE_DAG = "ingest__public_security__household_registration"
KILL_VOLUME = s3_cluster.volume_name(3)
SEED = 7
WATCHES: dict[str, StandbyWatch] = {}


def _days() -> tuple[str, str]:
    today = datetime.now(UTC).date()
    return (today - timedelta(days=1)).isoformat(), today.isoformat()


def _airflow(settings: Settings):
    return psycopg.connect(settings.pg_url(settings.airflow_db), autocommit=True, connect_timeout=5)


# -- day 1: the undisturbed cycle, and the standby following it -------------------------------------------


@dataclass
class StandbyWatch:
    """When the primary and the standby each first showed the day's publication."""

    day: str
    on_primary: float | None = None
    on_standby: float | None = None
    errors: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self, settings: Settings) -> None:
        query = "select count(*) from platform.publications where logical_date = %s and status = 'published'"
        while not self.stop.is_set() and self.on_standby is None:
            try:
                if self.on_primary is None:
                    asked_primary = time.monotonic()
                    with psycopg.connect(settings.warehouse_url, connect_timeout=3) as conn:
                        if conn.execute(query, (self.day,)).fetchone()[0]:
                            self.on_primary = time.monotonic()
                with pg_standby.connect(settings, settings.warehouse_db) as conn:
                    if conn.execute(query, (self.day,)).fetchone()[0]:
                        self.on_standby = time.monotonic()
                        # Committed between the two looks: the primary said no at `asked_primary`, so the
                        # publication reached it after that, and the lag is at most on_standby - asked_primary.
                        if self.on_primary is None:
                            self.on_primary = asked_primary
            except psycopg.Error as exc:  # e.g. the table not there yet on a fresh stack
                self.errors.append(str(exc).splitlines()[0])
            time.sleep(0.25)


@pytest.fixture(scope="module")
def cycle(dist: Settings):
    """Day 1 through Celery (the e2e tests' `cycle`: day, province report, outcome)."""
    day, _ = _days()
    report = _cycles.generate_day(dist, day, scale="small", seed=SEED, defect_rate=0.03)
    watch = StandbyWatch(day)
    poller = threading.Thread(target=watch.run, args=(dist,), daemon=True)
    poller.start()
    outcome = _cycles.run_day(dist, day)
    poller.join(timeout=60)
    watch.stop.set()
    WATCHES[day] = watch
    return day, report, outcome


def test_the_cycle_completes_on_two_celery_workers(cycle, dist):
    day, _, outcome = cycle
    assert outcome.ok, f"cycle failed: {outcome.failed}"
    # the cycle's runs: the ingests of the day and the build and publish runs their Assets triggered (no
    # logical date in Airflow 3), by the run ids the cycle runner followed
    runs = [(dag_id, run.run_id) for dag_id, run in outcome.runs.items() if run is not None]
    with _airflow(dist) as conn:
        rows = conn.execute(
            "select ti.queue, ti.dag_id, count(*) from task_instance ti "
            "join unnest(%s::text[], %s::text[]) as r(dag_id, run_id) using (dag_id, run_id) "
            "where ti.state = 'success' group by 1, 2",
            ([d for d, _ in runs], [r for _, r in runs]),
        ).fetchall()
    queues = {q for q, _, _ in rows}
    assert {"ingest", "transform", "publish"} <= queues, rows
    # every kind of work on its own queue: nothing of the cycle left on `default` (e.g. dbt's build)
    assert "default" not in queues, [r for r in rows if r[0] == "default"]
    workers = scaleout.celery_workers_online(dist)
    assert workers == ["worker1@govlake", "worker2@govlake"]
    ran = {
        name: (dist.logs_dir / f"{name}.log").read_text(errors="replace").count("Executing workload")
        for name in (scaleout.worker_name(1), scaleout.worker_name(2))
    }
    assert all(ran.values()), f"both workers took tasks: {ran}"


def test_the_edge_worker_ran_its_department_and_nothing_else(cycle, dist):
    day, _, _ = cycle
    with _airflow(dist) as conn:
        placed = conn.execute(
            "select ti.dag_id, ti.executor, ti.queue from task_instance ti join dag_run r using (dag_id, run_id) "
            "where r.logical_date::date = %s and ti.dag_id like 'ingest__%%'",
            (day,),
        ).fetchall()
        jobs = conn.execute("select dag_id, edge_worker, state from edge_job").fetchall()
    for dag_id, executor, queue in placed:
        department = dag_id.split("__")[1]
        if department in scaleout.front_end_departments():
            assert (executor, queue) == ("EdgeExecutor", department), dag_id
        else:
            assert executor in (None, "CeleryExecutor") and queue == "ingest", dag_id
    mine = [j for j in jobs if j[0] == EDGE_DAG]
    assert mine and all(worker == f"fep-{EDGE_DEPARTMENT}" for _, worker, _ in mine), jobs
    assert all(j[0].split("__")[1] in scaleout.front_end_departments() for j in jobs), jobs


def test_a_department_on_the_standby_sees_what_it_sees_on_the_primary(cycle, dist):
    from govlake.catalog.model import CONDITIONAL, UNCONDITIONAL
    from govlake.catalog.store import get_entry

    pg_standby.wait_caught_up(dist)
    from govlake.warehouse.department_roles import department_password, role_name

    role, password = role_name("civil_affairs"), department_password("civil_affairs", dist)
    with psycopg.connect(dist.warehouse_url, autocommit=True) as conn:
        entry = get_entry(conn, "population")
    free = ", ".join(entry.items_of(UNCONDITIONAL))
    with (
        pg_standby.connect(dist, dist.warehouse_db) as admin,
        pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
    ):
        admin.execute("create table public.scaleout_probe (i int)")  # the standby refuses writes
    query = f"select md5(string_agg(t::text, '|' order by t::text)), count(*) from (select {free} from exchange.population) t"
    with psycopg.connect(dist.pg_url(user=role, password=password), autocommit=True) as primary:
        on_primary = primary.execute(query).fetchone()
    with pg_standby.connect(dist, dist.warehouse_db, role, password) as standby:
        assert standby.execute("select pg_is_in_recovery()").fetchone()[0]
        assert standby.execute(query).fetchone() == on_primary and on_primary[1] > 0
        hidden = next(iter(entry.items_of(CONDITIONAL)))
        for forbidden in ("exchange.population", "share.population", "base.population"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                standby.execute(f"select {hidden} from {forbidden} limit 1")


def test_the_publish_swap_reaches_the_standby_within_seconds(cycle):
    watch = WATCHES[cycle[0]]
    assert watch.on_primary is not None, f"the poller never saw the publication: {watch.errors[-3:]}"
    assert watch.on_standby is not None, "the standby never showed the publication"
    assert watch.on_standby - watch.on_primary < 5.0, f"{watch.on_standby - watch.on_primary:.1f}s"


# -- day 2: the same cycle with faults injected -------------------------------------------------------------


@dataclass
class Faults:
    """What the fault injector did and saw while day 2's cycle ran."""

    killed_worker: str | None = None
    killed_task: tuple[str, str, str, int] | None = None  # dag_id, task_id, run_id, try_number
    volume_killed_at: float | None = None
    redis_restarted_at: float | None = None
    late_seen: dict | None = None
    objects_read: int = 0
    unreadable: list[str] = field(default_factory=list)
    others_landed_while_edge_down: list[str] = field(default_factory=list)
    edge_restarted_at: float | None = None
    log: list[str] = field(default_factory=list)


def _whole_file_ingests() -> list[str]:
    """The daily deliveries that are whole files (CSV, XLSX): their batch has rows every day, where a
    database or API source delivers only what changed — a day may bring none, and then a task killed
    mid-ingest would prove nothing about loading once."""
    from govlake.registry import iter_datasets

    return [ds.dag_id for ds in iter_datasets() if ds.is_daily and ds.source_kind in ("csv", "xlsx")]


def _running_ingest(settings: Settings) -> list[tuple[str, str, str, int, int]]:
    with _airflow(settings) as conn:
        return conn.execute(
            "select dag_id, task_id, run_id, try_number, pid from task_instance "
            "where state = 'running' and queue = 'ingest' and pid is not null and dag_id = any(%s)",
            (_whole_file_ingests(),),
        ).fetchall()


def _worker_of(settings: Settings, pid: int) -> str | None:
    """The Celery worker running ``pid``: the task process leads a process group of its own (Airflow's
    supervisor starts it so), so walk up its parents to the worker that leads theirs."""
    workers = {}
    for i in range(1, settings.celery_workers + 1):
        record = read_pid(settings, scaleout.worker_name(i))
        if record:
            workers[record.pid] = scaleout.worker_name(i)
    while pid > 1:
        try:
            if os.getpgid(pid) in workers:
                return workers[os.getpgid(pid)]
            stat = Path(f"/proc/{pid}/stat").read_text()
            pid = int(stat[stat.rfind(")") + 2 :].split()[1])
        except (OSError, ValueError):
            return None
    return None


def _daily_ingests_done(settings: Settings, day: str) -> tuple[list[str], str | None]:
    """(daily ingest DAGs whose run of ``day`` succeeded, the edge DAG's state)."""
    from govlake.registry import iter_datasets

    daily = [ds.dag_id for ds in iter_datasets() if ds.is_daily]
    with _airflow(settings) as conn:
        states = dict(
            conn.execute(
                "select dag_id, state from dag_run where logical_date::date = %s and dag_id = any(%s)",
                (day, daily),
            ).fetchall()
        )
    return [d for d in daily if states.get(d) == "success"], states.get(EDGE_DAG)


def _inject(settings: Settings, day: str, faults: Faults, finished: threading.Event) -> None:
    """Kill a worker mid-ingest, a volume server, restart Redis; bring the edge worker back when due."""
    from govlake.registry import iter_datasets, load_departments
    from govlake.warehouse import connect
    from govlake.web.routers.home_pages import cycle_status

    daily_others = [ds.dag_id for ds in iter_datasets() if ds.is_daily and ds.department != EDGE_DEPARTMENT]
    deadline = time.monotonic() + 1500
    while not finished.is_set() and time.monotonic() < deadline:
        try:
            _inject_step(settings, day, faults, daily_others, cycle_status, load_departments, connect)
        except Exception as exc:  # noqa: BLE001 - a busy database or API must not end the injector
            faults.log.append(f"{time.monotonic():.0f} injector: {type(exc).__name__}: {exc}")
        time.sleep(0.3)


def _inject_step(settings, day, faults, daily_others, cycle_status, load_departments, connect) -> None:  # noqa: ANN001
    """One look at the running cycle; each fault is injected once."""
    if faults.killed_worker is None:
        for dag_id, task_id, run_id, try_number, pid in _running_ingest(settings):
            worker = _worker_of(settings, pid)
            if worker:
                os.killpg(read_pid(settings, worker).pid, signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)  # the task process, in a process group of its own
                faults.killed_worker, faults.killed_task = worker, (dag_id, task_id, run_id, try_number)
                faults.log.append(f"{time.monotonic():.0f} SIGKILL {worker} running {dag_id}.{task_id}")
                break
    if faults.killed_worker and faults.volume_killed_at is None:
        record = read_pid(settings, KILL_VOLUME)
        os.kill(record.pid, signal.SIGKILL)
        faults.volume_killed_at = time.monotonic()
        faults.log.append(f"{faults.volume_killed_at:.0f} SIGKILL {KILL_VOLUME}")
    if faults.volume_killed_at and faults.redis_restarted_at is None:
        time.sleep(5)
        stop_managed(settings, redis_broker.NAME, 10)
        distributed.start_component(settings, redis_broker.NAME)
        faults.redis_restarted_at = time.monotonic()
        faults.log.append(f"{faults.redis_restarted_at:.0f} restarted redis")
    if faults.edge_restarted_at is None:
        landed, edge_state = _daily_ingests_done(settings, day)
        if set(daily_others) <= set(landed):
            with connect(settings, autocommit=True) as conn:
                _, rows = cycle_status(conn, load_departments())
            faults.late_seen = {r["code"]: (r["state"], r["missing"], r["late"]) for r in rows}
            faults.others_landed_while_edge_down = landed
            faults.log.append(f"{time.monotonic():.0f} others landed, {EDGE_DAG} {edge_state}: start edge")
            if faults.killed_worker and read_pid(settings, faults.killed_worker) is None:
                distributed.start_component(settings, faults.killed_worker)
            distributed.start_component(settings, scaleout.edge_name(EDGE_DEPARTMENT))
            faults.edge_restarted_at = time.monotonic()


@pytest.fixture(scope="module")
def faulty_day(dist: Settings, cycle):
    _, day = _days()
    _cycles.generate_day(dist, day, scale="small", seed=SEED, defect_rate=0.03)
    stop_managed(dist, scaleout.edge_name(EDGE_DEPARTMENT), 30)  # 公安厅's 前置机 is down
    faults = Faults()
    finished = threading.Event()
    injector = threading.Thread(target=_inject, args=(dist, day, faults, finished), daemon=True)
    injector.start()
    try:
        outcome = _cycles.run_day(dist, day)
        _read_every_object(dist, faults)  # still with the volume server down
    finally:
        finished.set()
        injector.join(timeout=60)
        for name in (KILL_VOLUME, scaleout.edge_name(EDGE_DEPARTMENT), redis_broker.NAME):
            if read_pid(dist, name) is None:
                distributed.start_component(dist, name)
    return day, outcome, faults


def test_the_faulty_cycle_still_publishes(faulty_day):
    _, outcome, faults = faulty_day
    assert outcome.ok, f"cycle failed: {outcome.failed}; faults: {faults.log}"
    assert faults.killed_worker and faults.volume_killed_at and faults.redis_restarted_at, faults.log


def test_a_killed_workers_task_is_retried_on_the_other_worker_and_loaded_once(faulty_day, dist):
    from govlake.registry import get_dataset
    from govlake.warehouse import connect

    day, _, faults = faulty_day
    dag_id, task_id, run_id, killed_try = faults.killed_task
    with _airflow(dist) as conn:
        state, final_try = conn.execute(
            "select state, try_number from task_instance where dag_id = %s and task_id = %s and run_id = %s",
            (dag_id, task_id, run_id),
        ).fetchone()
    assert state == "success" and final_try > killed_try, (state, final_try, killed_try)
    other = next(
        scaleout.worker_name(i)
        for i in range(1, dist.celery_workers + 1)
        if scaleout.worker_name(i) != faults.killed_worker
    )
    other_log = (dist.logs_dir / f"{other}.log").read_text(errors="replace")
    assert f"dag_id={dag_id}/run_id={run_id}/task_id={task_id}/attempt={final_try}" in other_log
    dataset = get_dataset(dag_id.removeprefix("ingest__"))
    with connect(dist, autocommit=True) as conn:
        total = conn.execute(
            f"select count(*) from {dataset.raw_table} where _logical_date = %s", (day,)
        ).fetchone()[0]
        loaded = conn.execute(
            "select rows_loaded from platform.batches where batch_id = %s", (dataset.batch_id(day),)
        ).fetchone()[0]
        balanced = conn.execute(
            "select bool_and(balanced), count(*) from platform.reconciliation where logical_date = %s", (day,)
        ).fetchone()
    assert total == loaded > 0, f"{dag_id}: raw holds {total} rows of a batch of {loaded}"
    assert balanced[0] and balanced[1] > 0


def test_a_stopped_front_end_processor_holds_only_its_department(faulty_day):
    _, _, faults = faulty_day
    assert faults.late_seen is not None, f"the other departments never all landed: {faults.log}"
    state, missing, _ = faults.late_seen[EDGE_DEPARTMENT]
    assert state == "延迟" and "household_registration" in missing, faults.late_seen
    assert EDGE_DAG not in faults.others_landed_while_edge_down
    # The day under test is today (UTC), due by 06:00 CST tomorrow = 22:00 UTC today: a run after 22:00 UTC
    # finishes every batch after the cut-off, so a department with nothing missing and only `late` batches
    # delivered as it should -- it is 延迟 by the clock, not by the stopped front-end processor.
    on_time = [
        code
        for code, (s, missing, late) in faults.late_seen.items()
        if s == "按时" or (s == "延迟" and not missing and late)
    ]
    assert len(on_time) >= len(faults.late_seen) - 2, faults.late_seen  # 财政厅's 前置机 ran on


def test_the_restarted_front_end_processor_catches_up(faulty_day, dist):
    from govlake.warehouse import connect

    day, outcome, faults = faulty_day
    assert faults.edge_restarted_at is not None
    assert outcome.runs[EDGE_DAG] is not None and outcome.runs[EDGE_DAG].state == "success"
    with connect(dist, autocommit=True) as conn:
        status = conn.execute(
            "select status from platform.batches where batch_id = %s",
            (f"{EDGE_DAG.removeprefix('ingest__')}__{day}",),
        ).fetchone()
    assert status and status[0] == "loaded"


def _read_every_object(settings: Settings, faults: Faults) -> None:
    from govlake.lake import s3_client
    from govlake.settings import BUCKETS

    client = s3_client(settings)
    for bucket in BUCKETS:
        for obj in client.list_objects(bucket, recursive=True):
            try:
                response = client.get_object(bucket, obj.object_name)
                try:
                    data = response.read()
                finally:
                    response.close()
                    response.release_conn()
            except Exception as exc:  # noqa: BLE001 - recorded, the test reports it
                faults.unreadable.append(f"s3://{bucket}/{obj.object_name}: {exc}")
                continue
            if len(data) != obj.size:
                faults.unreadable.append(f"s3://{bucket}/{obj.object_name}: {len(data)} of {obj.size} bytes")
            faults.objects_read += 1


def test_with_a_volume_server_lost_every_object_is_readable(faulty_day, dist):
    from govlake.lake import s3_client

    day, _, faults = faulty_day
    assert faults.volume_killed_at is not None
    assert faults.objects_read > 0 and not faults.unreadable, faults.unreadable[:5]
    raw_days = {o.object_name.split("/")[2] for o in s3_client(dist).list_objects("raw", recursive=True)}
    assert day in raw_days
