"""docker-compose.distributed.yaml: valid, and the distributed shape of issue 18 once merged over
docker-compose.yaml (what `docker compose -f docker-compose.yaml -f docker-compose.distributed.yaml config`
would produce, for the keys that matter here: services merge key by key, environment maps merge)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "docker-compose.yaml"
OVERRIDE = ROOT / "docker-compose.distributed.yaml"
SCHEMA = Path(__file__).parent / "fixtures" / "compose-spec.json"


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    return override


@pytest.fixture(scope="module")
def merged() -> dict[str, Any]:
    return _merge(yaml.safe_load(BASE.read_text()), yaml.safe_load(OVERRIDE.read_text()))


def test_override_and_merge_match_the_compose_specification(merged: dict[str, Any]) -> None:
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    for doc in (yaml.safe_load(OVERRIDE.read_text()), merged):
        errors = list(validator.iter_errors(doc))
        assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_references_resolve(merged: dict[str, Any]) -> None:
    names, declared = set(merged["services"]), set(merged["volumes"])
    for name, service in merged["services"].items():
        assert "image" in service or "build" in service, f"{name} has neither image nor build"
        assert not set(service.get("depends_on") or {}) - names, name
        for volume in service.get("volumes") or []:
            source = volume.split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared, f"{name} uses undeclared volume {source}"
        for env_file in service.get("env_file") or []:
            assert (ROOT / env_file).is_file(), f"{name} reads missing {env_file}"


def test_the_distributed_shape(merged: dict[str, Any]) -> None:
    services = merged["services"]
    assert {"postgres", "postgres-standby", "redis", "seaweed-master", "seaweed-filer", "s3", "web"} <= set(
        services
    )
    assert len([n for n in services if n.startswith("seaweed-volume-")]) >= 2
    assert "-defaultReplication=001" in services["seaweed-master"]["command"]
    assert "weed s3" in " ".join(services["s3"]["command"]), "the S3 name is the cluster's gateway"
    queues = {
        q
        for name, s in services.items()
        if name.startswith("airflow-worker-")
        for q in s["command"][s["command"].index("--queues") + 1].split(",")
    }
    assert {"ingest", "transform", "publish", "default"} <= queues
    edge = services["edge-worker-public-security"]["command"]
    preloaded = ["python", "-m", "govlake.stack.preload"]  # airflow, with the task code imported before forks
    assert edge[:5] == [*preloaded, "edge", "worker"] and "public_security" in edge
    for name, s in services.items():
        if name.startswith("airflow-worker-"):
            assert s["command"][:5] == [*preloaded, "celery", "worker"], name
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        executors = services[name]["environment"]["AIRFLOW__CORE__EXECUTOR"].split(",")
        assert executors[0] == "CeleryExecutor" and executors[1].endswith("EdgeExecutor"), name
    assert not [n for n, s in services.items() if "minio" in str(s.get("image", ""))]
