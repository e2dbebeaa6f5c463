"""Named connections to department systems (govlake.connections): ``AIRFLOW_CONN_<ID>`` from the
environment, else from the stack's ``stack.env``; URIs read the way psycopg and an HTTP client need them.
Pure unit tests: no stack."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from govlake.connections import Connection, ConnectionNotConfigured, env_key, get_connection
from govlake.registry import iter_datasets
from govlake.settings import Settings, record_env


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings of an empty home; no AIRFLOW_CONN_* of the calling shell leaks in."""
    for key in [k for k in os.environ if k.startswith("AIRFLOW_CONN_")]:
        monkeypatch.delenv(key)
    (tmp_path / "home").mkdir()
    return Settings(home=tmp_path / "home")


def test_the_variable_is_airflows_convention():
    assert env_key("public_security_db") == "AIRFLOW_CONN_PUBLIC_SECURITY_DB"


def test_the_environment_wins_over_stack_env(settings: Settings, monkeypatch: pytest.MonkeyPatch):
    record_env(settings, {"AIRFLOW_CONN_ZZ_DB": "postgresql://file:x@127.0.0.1:1/zz"})
    assert get_connection("zz_db", settings).uri == "postgresql://file:x@127.0.0.1:1/zz"
    monkeypatch.setenv("AIRFLOW_CONN_ZZ_DB", "postgresql://env:y@10.0.0.5:5432/zz")
    assert get_connection("zz_db", settings) == Connection("zz_db", "postgresql://env:y@10.0.0.5:5432/zz")


def test_a_connection_nobody_configured_says_which_variable_to_set(settings: Settings):
    with pytest.raises(ConnectionNotConfigured, match="'zz_api' is not configured: set AIRFLOW_CONN_ZZ_API"):
        get_connection("zz_api", settings)


@pytest.mark.parametrize(
    "uri",
    [
        "postgresql://reader:p%40ss@db.dept.example:5433/registry",
        "postgres://reader:p%40ss@db.dept.example:5433/registry",
        "postgresql+psycopg2://reader:p%40ss@db.dept.example:5433/registry",
    ],
)
def test_a_database_uri_is_handed_to_libpq_in_its_own_scheme(uri: str):
    conn = Connection("zz_db", uri)
    assert conn.libpq_url.startswith("postgresql://")
    parsed = conninfo_to_dict(conn.libpq_url)
    assert (parsed["user"], parsed["password"], parsed["host"], parsed["port"], parsed["dbname"]) == (
        "reader",
        "p@ss",
        "db.dept.example",
        "5433",
        "registry",
    )
    assert (conn.database, conn.password) == ("registry", "p@ss")


def test_an_api_uri_gives_the_bearer_token_and_a_base_url_without_it():
    conn = Connection("zz_api", "https://:s3cr%2Ft@api.dept.example:8443/v1/")
    assert (conn.scheme, conn.password) == ("https", "s3cr/t")
    assert conn.base_url == "https://api.dept.example:8443/v1"
    assert "s3cr" not in conn.base_url
    assert Connection("zz_api", "http://:t@127.0.0.1").base_url == "http://127.0.0.1"
    assert Connection("zz_api", "http://127.0.0.1:8080").password == ""


def test_every_connection_the_registry_names_is_a_valid_airflow_conn_id():
    named = {ds.source["connection"] for ds in iter_datasets() if ds.source.get("connection")}
    assert named  # the database and API sources name theirs
    for conn_id in named:
        assert conn_id.isidentifier() and conn_id == conn_id.lower(), conn_id
        assert env_key(conn_id).removeprefix("AIRFLOW_CONN_").isupper()
