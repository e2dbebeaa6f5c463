"""Settings: environment first, then the stack's ``stack.env``, then defaults; the stack's secrets and what
its services recorded survive a restart. Pure unit tests: a temporary GOVLAKE_HOME, no stack."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from govlake.settings import Settings, ensure_secrets, load_settings, read_env_file, record_env

SECRETS = ("GOVLAKE_PG_PASSWORD", "GOVLAKE_S3_SECRET_KEY", "GOVLAKE_AIRFLOW_PASSWORD")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh GOVLAKE_HOME, with every GOVLAKE_* variable of the calling shell removed."""
    for key in [k for k in os.environ if k.startswith("GOVLAKE_")]:
        monkeypatch.delenv(key)
    home = tmp_path / "govlake-home"
    monkeypatch.setenv("GOVLAKE_HOME", str(home))
    return home


def _env(home: Path, **values: str) -> dict[str, str]:
    return {"GOVLAKE_HOME": str(home), **values}


def test_defaults_sit_below_the_ephemeral_port_range(home: Path):
    s = load_settings(_env(home))
    assert (s.home, s.env_file, s.logs_dir) == (home, home / "stack.env", home / "logs")
    assert (s.pg_port, s.s3_endpoint, s.airflow_port, s.web_port) == (15432, "127.0.0.1:18333", 18080, 18070)
    assert all(port < 32768 for port in (s.pg_port, s.airflow_port, s.web_port, int(s.s3_endpoint[-5:])))
    assert s.pg_password == "" and s.dbt_tasks == "per_model" and s.executor == "local"


def test_the_environment_wins_over_stack_env_which_wins_over_defaults(home: Path):
    home.mkdir()
    (home / "stack.env").write_text(
        "# written by stack up\nGOVLAKE_PG_PORT=25432\nexport GOVLAKE_AIRFLOW_PORT='25080'\n"
        'GOVLAKE_PG_PASSWORD="from-file"\n',
        encoding="utf-8",
    )
    s = load_settings(_env(home, GOVLAKE_PG_PORT="35432", GOVLAKE_WEB_PORT="35070"))
    assert s.pg_port == 35432  # environment over stack.env
    assert s.airflow_port == 25080 and s.pg_password == "from-file"  # stack.env over the default
    assert s.web_port == 35070  # environment over the default
    assert s.s3_endpoint == "127.0.0.1:18333"  # neither: the default


def test_values_are_typed_from_their_field(home: Path):
    s = load_settings(
        _env(home, GOVLAKE_EDGE_WORKERS="yes", GOVLAKE_STANDBY="0", GOVLAKE_CELERY_WORKERS="4",
             GOVLAKE_DBT_TASKS="whole", GOVLAKE_OPEN_K_ANONYMITY="5")
    )  # fmt: skip
    assert (s.edge_workers, s.standby, s.celery_workers) == (True, False, 4)
    assert (s.dbt_tasks, s.open_k_anonymity) == ("whole", 5)
    assert isinstance(s.home, Path)


def test_addresses_quote_the_password_and_export_lines_reach_the_stack(home: Path):
    s = Settings(home=home, pg_port=25432, pg_password="p@ss/word:1", s3_secret_key="k", airflow_port=25080)
    assert s.warehouse_url == "postgresql://govlake:p%40ss%2Fword%3A1@127.0.0.1:25432/govlake"
    parsed = conninfo_to_dict(s.warehouse_url)  # as libpq reads it
    assert (parsed["password"], parsed["port"], parsed["dbname"]) == ("p@ss/word:1", "25432", "govlake")
    assert s.airflow_db_url.startswith("postgresql+psycopg2://") and s.airflow_db_url.endswith("/airflow")
    assert s.standby_url() == s.warehouse_url.replace(":25432/", f":{s.pg_standby_port}/")
    exports = dict(line.removeprefix("export ").split("=", 1) for line in s.export_lines())
    assert exports["PGPORT"] == "'25432'" and exports["PGPASSWORD"] == "'p@ss/word:1'"
    assert exports["GOVLAKE_AIRFLOW_URL"] == "'http://127.0.0.1:25080'"
    assert exports["AWS_ENDPOINT_URL"] == "'http://127.0.0.1:18333'"


def test_secrets_are_not_shown_in_repr():
    assert "hunter2" not in repr(Settings(pg_password="hunter2", airflow_password="hunter2"))


def test_read_env_file_skips_comments_and_blank_lines_and_strips_quotes(tmp_path: Path):
    path = tmp_path / "x.env"
    assert read_env_file(path) == {}  # no file yet
    path.write_text("# c\n\nA=1\nexport B='two words'\nC=\"3\"\nnot a pair\nD=x=y\n", encoding="utf-8")
    assert read_env_file(path) == {"A": "1", "B": "two words", "C": "3", "D": "x=y"}


def test_record_env_adds_and_replaces_keys_and_keeps_the_others(home: Path):
    home.mkdir()
    s = load_settings(_env(home))
    s.env_file.write_text(
        "GOVLAKE_PG_PASSWORD=kept\nAIRFLOW_CONN_OLD=postgresql://a@h/db\n", encoding="utf-8"
    )
    record_env(s, {"AIRFLOW_CONN_OLD": "postgresql://b@h/db", "AIRFLOW_CONN_NEW": "http://:t@h:1"})
    assert read_env_file(s.env_file) == {
        "GOVLAKE_PG_PASSWORD": "kept",
        "AIRFLOW_CONN_OLD": "postgresql://b@h/db",
        "AIRFLOW_CONN_NEW": "http://:t@h:1",
    }
    assert stat.S_IMODE(s.env_file.stat().st_mode) == 0o600


def test_ensure_secrets_generates_them_once_and_keeps_what_services_recorded(home: Path):
    first = ensure_secrets(load_settings(_env(home)))
    generated = {key: read_env_file(first.env_file)[key] for key in SECRETS}
    assert all(len(value) >= 20 for value in generated.values())
    assert len(set(generated.values())) == len(SECRETS)
    assert first.pg_password == generated["GOVLAKE_PG_PASSWORD"]
    assert stat.S_IMODE(first.env_file.stat().st_mode) == 0o600

    # a stack service records its connection; the next `stack up` must keep it and every secret
    record_env(first, {"AIRFLOW_CONN_ZZ_DEPT_DB": "postgresql://u:p@127.0.0.1:1/zz"})
    again = ensure_secrets(load_settings(_env(home)))
    recorded = read_env_file(again.env_file)
    assert {key: recorded[key] for key in SECRETS} == generated
    assert recorded["AIRFLOW_CONN_ZZ_DEPT_DB"] == "postgresql://u:p@127.0.0.1:1/zz"
    assert again.airflow_password == generated["GOVLAKE_AIRFLOW_PASSWORD"]


def test_ensure_secrets_keeps_a_secret_given_by_the_environment(home: Path, monkeypatch):
    monkeypatch.setenv("GOVLAKE_PG_PASSWORD", "from-the-environment")
    s = ensure_secrets(load_settings())
    assert s.pg_password == "from-the-environment"
    assert read_env_file(s.env_file)["GOVLAKE_PG_PASSWORD"] == "from-the-environment"


def test_ensure_secrets_returns_the_settings_of_the_home_it_wrote(home: Path, tmp_path: Path):
    other = tmp_path / "other-home"  # not GOVLAKE_HOME: the caller's settings decide where
    s = ensure_secrets(load_settings(_env(other)))
    assert s.home == other and s.pg_password == read_env_file(other / "stack.env")["GOVLAKE_PG_PASSWORD"]
