"""Column lineage through the libraries, impact, sharing edges live from grants and reads, idempotency."""

from __future__ import annotations

import copy
import datetime as dt
import json

import yaml

from govlake.lineage.collection import model_lineage, warehouse_columns
from govlake.lineage.column_lineage import DerivationMemo, derive, load_manifest
from govlake.lineage.graph import load_graph
from govlake.lineage.queries import DOWN, UP, impact, trace
from govlake.registry import get_dataset, iter_datasets
from govlake.settings import PROJECT_DIR

HOUSEHOLD = "public_security__household_registration"


def _ids(result) -> set[str]:
    return {n["id"] for n in result["nodes"]}


def test_upstream_of_gender_reaches_each_tie_break_departments_source_column(collected, lineage_conn):
    graph = load_graph(lineage_conn)
    up = _ids(trace(graph, "base.population.gender", UP))
    source_name = get_dataset(HOUSEHOLD).column("gender").source_name  # the department's own name (xb)
    assert f"source.{HOUSEHOLD}.{source_name}" in up
    assert "staging.stg_public_security__household_registrations.gender" in up
    assert f"raw.{HOUSEHOLD}.gender" in up
    tie_break = yaml.safe_load((PROJECT_DIR / "dbt_project" / "dbt_project.yml").read_text(encoding="utf-8"))
    departments = [
        d for d in tie_break["vars"]["population_attributes"]["gender"]["sources"] if d != "resident_id"
    ]
    assert len(departments) >= 2
    for department in departments:
        assert f"department:{department}" in up, department
        assert any(n.startswith(f"source.{department}__") for n in up), department
    # depth limits the walk
    near = _ids(trace(graph, "base.population.gender", UP, depth=1))
    assert "intermediate.int_persons_versioned.gender" in near and f"raw.{HOUSEHOLD}.gender" not in near


def test_downstream_of_household_registration_reaches_exchange_open_and_grantees(collected, lineage_conn):
    # a department holding a grant on the population library (a real request and grant row, removed after)
    request_id = lineage_conn.execute(
        "insert into platform.share_requests (consumer, resource_key, resource_code, owner, items, purpose, "
        "legal_basis, period_start, period_end, state, due_at) values ('civil_affairs', 'population', 'x', "
        "'data_office', '{gender}', 'lineage test', 'test', current_date, current_date + 30, 'approved', now()) "
        "returning request_id"
    ).fetchone()[0]
    lineage_conn.execute(
        "insert into platform.share_grants (request_id, grantee, consumer, resource_key, items, valid_from, "
        "valid_until) values (%s, 'dept_civil_affairs', 'civil_affairs', 'population', '{gender}', now(), "
        "now() + interval '30 days')",
        (request_id,),
    )
    try:
        graph = load_graph(lineage_conn)
        down = _ids(trace(graph, f"dataset:{HOUSEHOLD}", DOWN))
        assert "exchange.population" in down
        assert "open.population-by-county-gender-age" in down
        grantees = {
            f"department:{r[0]}"
            for r in lineage_conn.execute(
                "select distinct consumer from platform.share_grants where revoked_at is null and now() < valid_until "
                "and resource_key in ('population', %s)",
                (HOUSEHOLD,),
            )
        }
        assert "department:civil_affairs" in grantees and grantees <= down
        # the column path of the department's own column reaches the open release's gender column
        col = get_dataset(HOUSEHOLD).column("gender").source_name
        col_down = _ids(trace(graph, f"source.{HOUSEHOLD}.{col}", DOWN))
        assert "exchange.population.gender" in col_down
        assert "open.population-by-county-gender-age.gender" in col_down
        affected = impact(graph, f"dataset:{HOUSEHOLD}")["affected"]
        assert "base.population" in {a["id"] for a in affected["libraries"]}
        assert "department:civil_affairs" in {a["id"] for a in affected["consumer_departments"]}
        # a delivery that feeds no column of 人口基础库 does not reach it, though every build's bookkeeping
        # (quarantine, accepted batches) and Airflow's event of the whole dbt build touch every dataset
        crops = impact(graph, "dataset:agriculture__crop_production")["affected"]
        assert "themes.crop_performance" in {a["id"] for a in crops["libraries"]}
        assert not {"base.population", "base.legal_entities"} & {a["id"] for a in crops["libraries"]}
        assert "department:civil_affairs" not in {a["id"] for a in crops["consumer_departments"]}
        # a late, missing, failed or held delivery's alert names them (the enricher every alert runs)
        from govlake.orchestration.dag_defaults import affected_consumers_lines
        from govlake.registry import load_departments

        civil_affairs = next(d.name for d in load_departments() if d.code == "civil_affairs")
        for fields in (
            {"kind": "timeliness", "department": "public_security", "dataset": "household_registration"},
            {"kind": "held_batches", "datasets": [HOUSEHOLD], "batches": [f"{HOUSEHOLD}__2026-12-01"]},
            {"kind": "task_failure", "dag_id": f"ingest__{HOUSEHOLD}"},
        ):
            lines = affected_consumers_lines(fields)
            assert civil_affairs in fields["affected"], fields
            assert "open.population-by-county-gender-age" in " ".join(fields["affected"])
            assert lines == [f"affected: {', '.join(fields['affected'])}"]
    finally:
        lineage_conn.execute("delete from platform.share_grants where request_id = %s", (request_id,))
        lineage_conn.execute("delete from platform.share_requests where request_id = %s", (request_id,))


def test_approve_adds_the_sharing_edge_at_once_revoke_ends_it_reads_are_counted(zone, platform):
    from govlake.sharing import dispatch
    from govlake.sharing.access import record_access

    edge = (f"exchange.{zone.resource}", f"department:{zone.consumer}")

    def kinds() -> set[str]:
        graph = load_graph(platform)
        if not graph.g.has_edge(*edge):
            return set()
        return {d.get("kind") for d in graph.g.get_edge_data(*edge).values()}

    assert "grant" not in kinds()
    request = zone.submit(platform)
    dispatch.approve(platform, request.request_id, zone.provider, settings=zone.settings)
    assert "grant" in kinds()  # no rebuild: the grant is read live
    record_access(platform, zone.consumer, "api", zone.resource, ["resident_id", "name"], 3)
    record_access(platform, zone.consumer, "api", zone.resource, ["resident_id"], 2)
    graph = load_graph(platform)
    read = graph.g.get_edge_data(*edge)["read"]
    assert read["reads"] == 2 and read["weight"] == 5
    assert read["days"][-1] == {"day": dt.date.today().isoformat(), "reads": 2, "rows": 5}
    dispatch.revoke(platform, request.request_id, zone.provider, "测试撤销", settings=zone.settings)
    assert "grant" not in kinds()


def test_re_running_changes_no_edge_but_adds_runs(collected, compiled_manifest, stack, lineage_conn):
    from govlake.lineage.collection import collect

    def snapshot():
        edges = set(lineage_conn.execute("select source, target, job_name from platform.lineage_edges"))
        columns = set(
            lineage_conn.execute(
                "select source, source_column, target, target_column from platform.lineage_column_edges"
            )
        )
        runs = lineage_conn.execute("select count(*) from platform.lineage_runs").fetchone()[0]
        return edges, columns, runs

    edges, columns, runs = snapshot()
    again = collect(compiled_manifest, "2026-12-01", stack)
    edges2, columns2, runs2 = snapshot()
    assert edges2 == edges and columns2 == columns
    assert runs2 == runs + again.events


def test_a_model_added_to_dbt_appears_without_code_changes(compiled_manifest):
    manifest = load_manifest(compiled_manifest)
    manifest = copy.deepcopy(manifest)
    population = manifest["nodes"]["model.govlake.population"]
    new = copy.deepcopy(population)
    new.update(
        unique_id="model.govlake.zz_gender_counts",
        name="zz_gender_counts",
        alias="zz_gender_counts",
        original_file_path="models/themes/zz/zz_gender_counts.sql",
        relation_name='"govlake"."audit"."zz_gender_counts"',
        compiled_code=f"select p.gender as sex, count(*) as persons from {population['relation_name']} as p group by 1",
        depends_on={"nodes": ["model.govlake.population"], "macros": []},
        columns={},
    )
    manifest["nodes"][new["unique_id"]] = new
    models = derive(manifest, iter_datasets(), PROJECT_DIR / "dbt_project")
    added = models["themes.zz_gender_counts"]
    assert added.inputs == ("base.population",)
    assert added.column_sources["sex"] == (("base.population", "gender"),)


def test_the_memo_derives_the_same_lineage_and_only_changed_models_again(compiled_manifest, stack):
    manifest = load_manifest(compiled_manifest)
    args = (iter_datasets(), PROJECT_DIR / "dbt_project", warehouse_columns(stack))
    fresh = derive(manifest, *args)
    first = DerivationMemo()
    assert derive(manifest, *args, first) == fresh and first.hits == 0
    derived = len(first.used)
    compiled = [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] in ("model", "snapshot") and n.get("compiled_code")
    ]
    assert derived == len(compiled) > 0  # every compiled model and snapshot, once

    # as the next build reads it back from the file beside its manifest
    again = DerivationMemo(json.loads(json.dumps(first.used)))
    assert derive(manifest, *args, again) == fresh
    assert again.hits == derived

    # a changed model is derived again, and so is every model downstream of it (its parents' columns changed)
    population = manifest["nodes"]["model.govlake.population"]
    population["compiled_code"] = f"select p.*, 1 as zz_flag from ({population['compiled_code']}) as p"
    changed = DerivationMemo(json.loads(json.dumps(first.used)))
    models = derive(manifest, *args, changed)
    assert "zz_flag" in models["base.population"].columns
    downstream = {r for r, m in models.items() if "base.population" in m.inputs}
    assert downstream, "population feeds no model"
    assert changed.hits <= derived - 1 - len(downstream)
    assert set(changed.used) != set(first.used)


def test_lateral_values_and_newest_version_columns_are_traced(compiled_manifest, stack):
    # as collection derives it: the platform's own tables' columns from the warehouse (its sources in dbt
    # list only the columns they document)
    models = model_lineage(compiled_manifest, stack)
    assert {r: m.error for r, m in models.items() if m.error} == {}
    # parents' names come through `cross join lateral (values ...)` by position
    certified = models["intermediate.int_persons_certified"].column_sources
    assert {c for _r, c in certified["name"]} == {"newborn_name", "mother_name", "father_name"}
    assert {"mother_id", "father_id"} <= {c for _r, c in certified["resident_id"]}
    assert certified["role"] == ()  # a literal in the VALUES rows
    # newest_version's `ranked.*` is expanded from the staging model's columns
    versioned = models["intermediate.int_persons_versioned"].column_sources["gender"]
    assert versioned == (("staging.stg_public_security__household_registrations", "gender"),)
    # no model lists itself as its own source (incremental models read {{ this }})
    for relation, model in models.items():
        assert relation not in model.inputs
        assert all(src != relation for refs in model.column_sources.values() for src, _c in refs)
    json.dumps({r: m.column_sources for r, m in models.items()})  # serialisable as event facets


def test_cli_prints_one_relation_column_per_line(collected, stack):
    from typer.testing import CliRunner

    from govlake.cli import app

    out = CliRunner().invoke(app, ["lineage", "upstream", "base.population.gender", "--depth", "2"])
    assert out.exit_code == 0, out.output
    lines = out.output.strip().splitlines()
    assert "staging.stg_public_security__household_registrations.gender" in lines
    assert all(" " not in line for line in lines)
    as_json = CliRunner().invoke(
        app, ["lineage", "downstream", f"dataset:{HOUSEHOLD}", "--json", "--depth", "1"]
    )
    assert json.loads(as_json.output)["nodes"][0]["depth"] == 1
    missing = CliRunner().invoke(app, ["lineage", "upstream", "no.such.relation"])
    assert missing.exit_code == 2
