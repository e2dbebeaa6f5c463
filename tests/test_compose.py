"""docker-compose.yaml is a valid Compose file whose every reference resolves.

There is no Docker engine here, so this is what `docker compose config` would check: the file against the
official Compose Specification schema (tests/fixtures/compose-spec.json, a copy of compose-spec's
schema/compose-spec.json), plus what the schema cannot know — that every service named in depends_on,
every named volume, env_file, build context, Dockerfile and bind-mounted host path exists.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from govlake.registry import iter_datasets
from govlake.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
SCHEMA_FILE = Path(__file__).parent / "fixtures" / "compose-spec.json"
AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def services(compose: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from compose["services"].items()


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as Compose reads them: comments and blanks skipped, one pair of quotes removed."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path}: line {line!r} is not KEY=VALUE"
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def env_files(service: dict[str, Any]) -> list[Path]:
    entries = service.get("env_file") or []
    if isinstance(entries, str):
        entries = [entries]
    return [ROOT / (e["path"] if isinstance(e, dict) else e) for e in entries]


def test_file_matches_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_the_platform_services_are_all_there(compose: dict[str, Any]) -> None:
    names = set(compose["services"])
    assert {"postgres", "s3", "s3-init", "department-api", "web", *AIRFLOW_SERVICES} <= names
    assert not [n for n, s in services(compose) if "minio" in str(s.get("image", ""))], (
        "one S3 server: SeaweedFS"
    )
    assert compose["services"]["postgres"]["image"].startswith("postgres:16")
    assert "healthcheck" in compose["services"]["postgres"]
    assert compose["services"]["department-api"]["command"][-1] == "demo_province.department_api"


def test_depends_on_names_existing_services(compose: dict[str, Any]) -> None:
    names = set(compose["services"])
    for name, service in services(compose):
        deps = service.get("depends_on") or {}
        missing = set(deps) - names  # list form and mapping form both iterate over service names
        assert not missing, f"service {name} depends on unknown {missing}"


def test_volumes_are_declared_or_exist_on_the_host(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in services(compose):
        for volume in service.get("volumes") or []:
            if isinstance(volume, dict):
                kind, source = volume.get("type", "volume"), volume.get("source")
            else:
                source = volume.split(":", 1)[0]
                kind = "bind" if source.startswith((".", "/", "~")) else "volume"
            if kind == "bind":
                assert (ROOT / source).exists(), f"service {name} bind-mounts missing host path {source}"
            elif source:
                assert source in declared, f"service {name} uses undeclared named volume {source}"


def test_env_files_exist(compose: dict[str, Any]) -> None:
    for name, service in services(compose):
        for path in env_files(service):
            assert path.is_file(), f"service {name} reads missing env_file {path}"


def test_build_contexts_and_dockerfiles_exist(compose: dict[str, Any]) -> None:
    built = 0
    for name, service in services(compose):
        build = service.get("build")
        if build is None:
            continue
        build = {"context": build} if isinstance(build, str) else build
        context = ROOT / build.get("context", ".")
        assert context.is_dir(), f"service {name}: build context {context} missing"
        assert (context / build.get("dockerfile", "Dockerfile")).is_file(), (
            f"service {name}: Dockerfile missing"
        )
        built += 1
    assert built >= len(AIRFLOW_SERVICES)
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "requirements.txt" in dockerfile and "pip install --no-deps ." in dockerfile


def test_scripts_run_inside_the_image_exist(compose: dict[str, Any]) -> None:
    command = compose["services"]["airflow-init"]["command"]
    script = next(part for part in command if part.startswith("/opt/govlake/"))
    assert (ROOT / script.removeprefix("/opt/govlake/")).is_file()


def test_env_file_speaks_the_settings_names(compose: dict[str, Any], tmp_path: Path) -> None:
    """Every GOVLAKE_* variable is a Settings field, so the code reads the deployment's values unchanged."""
    env = read_env_file(ROOT / "deploy" / "compose.env")
    fields = {f"GOVLAKE_{f.name.upper()}" for f in dataclasses.fields(Settings)} | {"GOVLAKE_PROJECT_DIR"}
    # GOVLAKE_DEPARTMENT_* configure the simulated department systems (demo_province.systems), not Settings
    unknown = {
        k for k in env if k.startswith("GOVLAKE_") and not k.startswith("GOVLAKE_DEPARTMENT_")
    } - fields
    assert not unknown, f"deploy/compose.env sets variables Settings does not read: {unknown}"

    settings = load_settings({**env, "GOVLAKE_HOME": str(tmp_path)})  # no stack.env there to fall back on
    assert settings.s3_endpoint == "s3:8333"
    assert (settings.pg_host, settings.pg_port) == ("postgres", 5432)
    for dataset in iter_datasets():  # every source connection the registry names is configured
        if "connection" in dataset.source:
            assert f"AIRFLOW_CONN_{dataset.source['connection'].upper()}" in env, dataset.key
    assert env["AIRFLOW_CONN_HUMAN_RESOURCES_API"].endswith("@department-api:8090")
    assert env["POSTGRES_PASSWORD"] == env["GOVLAKE_PG_PASSWORD"]
    assert env["AWS_SECRET_ACCESS_KEY"] == env["GOVLAKE_S3_SECRET_KEY"]
    assert env["AWS_ACCESS_KEY_ID"] == env["GOVLAKE_S3_ACCESS_KEY"]


def test_committed_secrets_are_marked_placeholders() -> None:
    env = read_env_file(ROOT / "deploy" / "compose.env")
    secret_keys = [k for k in env if k.endswith(("PASSWORD", "SECRET_KEY", "TOKEN", "JWT_SECRET"))]
    assert secret_keys
    for key in secret_keys:
        assert env[key].startswith("dev-only"), f"{key} in deploy/compose.env must be a dev-only placeholder"
