"""The scale-out options' pure parts: ports, executor configuration, task placement (no stack needed)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from govlake.orchestration import task_queues
from govlake.registry import iter_datasets
from govlake.settings import load_settings
from govlake.stack import s3_cluster, scaleout
from govlake.stack.manager import port_collisions, stack_ports
from govlake.stack.process import StackError


@pytest.fixture
def settings(tmp_path):
    return load_settings({"GOVLAKE_HOME": str(tmp_path), "GOVLAKE_PG_PORT": "30432",
                          "GOVLAKE_S3_ENDPOINT": "127.0.0.1:30333", "GOVLAKE_AIRFLOW_PORT": "30080",
                          "GOVLAKE_DEPARTMENT_API_PORT": "30090", "GOVLAKE_WEB_PORT": "30070",
                          "GOVLAKE_REDIS_PORT": "30479", "GOVLAKE_FLOWER_PORT": "30481",
                          "GOVLAKE_PG_STANDBY_PORT": "30450"})  # fmt: skip


def test_the_cluster_stays_inside_weed_minis_port_block():
    ports = s3_cluster.cluster_ports(30333, 3).all()
    assert len(set(ports.values())) == len(ports)
    assert all(30333 <= p <= 30333 + 13 for p in ports.values())
    with pytest.raises(StackError):
        s3_cluster.cluster_ports(30333, 1)


def test_every_option_on_has_no_port_collision(settings):
    on = replace(settings, executor="celery", edge_workers=True, s3_cluster=True, standby=True)
    assert not port_collisions(on)
    assert {"redis.server", "flower.http", "postgres-standby.server"} <= set(stack_ports(on))


def test_executors(settings):
    assert scaleout.core_executor(settings) == "LocalExecutor"
    both = replace(settings, executor="celery", edge_workers=True)
    assert scaleout.core_executor(both) == f"CeleryExecutor,{scaleout.EDGE_EXECUTOR}"
    assert scaleout.core_executor(replace(settings, edge_workers=True)).startswith("LocalExecutor,")
    with pytest.raises(StackError):
        scaleout.scaleout_settings(settings, executor="kubernetes")
    with pytest.raises(StackError):
        scaleout.scaleout_settings(settings, s3="raid")
    assert scaleout.scaleout_settings(settings, "celery", 3, True, "cluster", True).celery_workers == 3


def test_worker_concurrency_shares_the_machines_slots(settings):
    assert scaleout.worker_concurrency(replace(settings, celery_workers=1), cpus=2) == 4
    assert scaleout.worker_concurrency(replace(settings, celery_workers=2), cpus=2) == 2
    assert scaleout.worker_concurrency(replace(settings, celery_workers=2), cpus=16) == 16


def test_front_end_departments_ingest_on_their_edge_worker_only_when_edge_runs(monkeypatch):
    assert set(scaleout.front_end_departments()) == {"public_security", "finance"}
    police = next(ds for ds in iter_datasets() if ds.department == "public_security")
    other = next(ds for ds in iter_datasets() if ds.department == "civil_affairs")
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "LocalExecutor")
    assert task_queues.ingest_args(police) == {"queue": "ingest"}
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", f"CeleryExecutor,{scaleout.EDGE_EXECUTOR}")
    assert task_queues.ingest_args(police) == {"executor": "EdgeExecutor", "queue": "public_security"}
    assert task_queues.ingest_args(other) == {"queue": "ingest"}
