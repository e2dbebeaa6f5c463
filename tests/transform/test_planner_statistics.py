"""What keeps the libraries' plans honest at scale (found at `large`, where a daily build took minutes).

* Sources get fresh statistics before a build reads them: a day's delivery is a logical date the
  statistics have never seen, far under autovacuum's 10 % (macros/planner_statistics.sql).
* accepted_rows() narrows the batches and the quarantine records to the staging model's own dataset, so
  the anti-join is estimated on that dataset's records, not every dataset's (macros/accepted_rows.sql).
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import psycopg
import pytest

from govlake.transform.runner import run_dbt

pytestmark = pytest.mark.integration

TABLE = "raw.transport__passenger_volumes"
BATCH = f"transport__passenger_volumes__1998-06-30__stats{os.getpid()}"


def _mod_since_analyze(conn: psycopg.Connection) -> int:
    return conn.execute("select pg_stat_get_mod_since_analyze(%s::regclass)", (TABLE,)).fetchone()[0]


def test_a_build_first_analyses_the_sources_a_delivery_changed(warehouse, schema_prefix, settings):
    warehouse.execute(f"analyze {TABLE}")
    with psycopg.connect(settings.warehouse_url, autocommit=True) as loader:  # a load, as ingest does it
        loader.execute(
            f"insert into {TABLE} (_batch_id, _logical_date, _source_file, _source_row, _ingested_at)"
            " values (%s, '1998-06-30', 'pytest.csv', 1, now())",
            (BATCH,),
        )
    try:
        deadline = time.monotonic() + 30  # the loader's counters reach the statistics when it disconnects
        while _mod_since_analyze(warehouse) == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _mod_since_analyze(warehouse) > 0
        run_dbt(
            ["run", "--select", "stg_platform__accepted_batches"],
            settings,
            "1998-06-30",
            schema_prefix=schema_prefix,
        )
        assert _mod_since_analyze(warehouse) == 0
    finally:
        warehouse.execute(f"delete from {TABLE} where _batch_id = %s", (BATCH,))


def test_every_library_model_reads_only_its_datasets_quarantine(warehouse, schema_prefix, settings):
    result = run_dbt(
        ["compile", "--select", "path:models/intermediate path:models/base"],
        settings,
        "1999-01-01",
        schema_prefix=schema_prefix,
    )
    target = Path(result.target_path)
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    raw_of = {  # staging model -> the raw table (department__dataset) it reads
        node["name"]: node["sources"][0][1]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["sources"][:1] and node["sources"][0][0] == "raw"
    }
    assert len(raw_of) >= 11, raw_of
    # the SQL this compile rendered (run_results.json), not the files under compiled/: a unit test run
    # before it writes a model's fixture-fed SQL there, which reads no staging model at all
    compiled = json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]
    checked = 0
    for node in sorted(compiled, key=lambda r: r["unique_id"]):
        sql = node.get("compiled_code") or ""
        for staging in re.findall(r'"(stg_\w+)" as candidate', sql):  # an accepted_rows() of that model
            department, dataset = raw_of[staging].split("__", 1)
            narrowed = f"quarantined.department = '{department}' and quarantined.dataset = '{dataset}'"
            assert narrowed in sql, f"{node['unique_id']} reads {staging} against every dataset's quarantine"
            checked += 1
    assert checked >= 12, checked
