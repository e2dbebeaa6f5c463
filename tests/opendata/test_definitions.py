"""open_datasets.yaml: it loads, every published item is allowed by its open type, and mistakes are named."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from support.opendata_scratch import ENTITIES, POPULATION, RECORDS

from govlake.opendata.definitions import (
    check_against_catalog,
    grade_violations,
    item_grades,
    load_open_registry,
    source_classes,
)
from govlake.opendata.rules import OpenDataConfigError, Rule


def test_the_registry_defines_the_three_kinds_of_open_dataset():
    registry = load_open_registry()
    kinds = {ds.name: ds.kind for ds in registry.datasets}
    assert kinds[POPULATION] == kinds[ENTITIES] == "aggregate"
    assert kinds[RECORDS] == "deidentified_records"
    for ds in registry.datasets:
        assert grade_violations(ds.open_type, item_grades(ds, source_classes(ds))) == [], ds.name
        assert ds.organization and ds.groups and ds.title["en"] and ds.description["zh"]
    population = registry.get(POPULATION)
    assert [c.name for c in population.dictionary()] == [
        "prefecture_code", "prefecture_name", "county_code", "county_name", "gender", "age_band", "population",
        "suppressed",
    ]  # fmt: skip


def test_records_never_carry_direct_identifiers():
    ds = load_open_registry().get(RECORDS)
    published = {
        c.name
        for level in range(3)
        for c in ds.dictionary({q.name: min(level, len(q.levels) - 1) for q in ds.quasi_identifiers})
    }
    assert not published & {"legal_rep_name", "legal_rep_id", "address"}


def test_keeping_a_direct_identifier_or_an_important_item_is_refused():
    ds = load_open_registry().get(RECORDS)
    spec = dataclasses.replace(
        ds.columns[0], name="legal_rep_name", source="legal_rep_name", levels=(Rule("keep"),)
    )
    leaking = dataclasses.replace(ds, columns=(*ds.columns, spec))
    problems = grade_violations(leaking.open_type, item_grades(leaking, source_classes(leaking)))
    assert problems == [
        "column legal_rep_name (legal_entities.legal_rep_name as stored) is a direct identifier"
    ]
    rep_id = dataclasses.replace(spec, name="legal_rep_id", source="legal_rep_id")
    leaking = dataclasses.replace(ds, columns=(*ds.columns, rep_id))
    assert (
        "direct identifier"
        in grade_violations(leaking.open_type, item_grades(leaking, source_classes(leaking)))[0]
    )


def test_records_of_a_resource_the_catalog_does_not_open_are_refused():
    ds = load_open_registry().get(RECORDS)
    assert check_against_catalog(ds, {ds.catalog_entry: "无条件开放"}) == []
    assert "不予开放" in check_against_catalog(ds, {ds.catalog_entry: "不予开放"})[0]
    aggregate = load_open_registry().get(POPULATION)
    assert check_against_catalog(aggregate, {"population": "不予开放"}) == []  # a new, aggregated resource


@pytest.mark.parametrize(
    "mutation, message",
    [
        ("kind: aggregate", "datasets[0] (zz-x).kind"),
        ("open_type: 无条件开放", "open_type must be"),
        ("rule: {date_trunc: week}", "columns(c).rule.date_trunc must be"),
        ("rule: {shuffle: 1}", "unknown rule 'shuffle'"),
    ],
)
def test_mistakes_name_the_file_dataset_and_field(tmp_path: Path, mutation: str, message: str):
    good = {
        "kind: aggregate": "kind: pie_chart",
        "open_type: 无条件开放": "open_type: 不予开放",
        "rule: {date_trunc: week}": "rule: {date_trunc: week}",
        "rule: {shuffle: 1}": "rule: {shuffle: 1}",
    }
    text = f"""
groups: {{g: {{zh: 组, en: Group}}}}
datasets:
  - name: zz-x
    title: {{zh: 标题, en: Title}}
    description: {{zh: 说明, en: About}}
    kind: aggregate
    source: {{library: legal_entities}}
    organization: market_regulation
    groups: [g]
    open_type: 无条件开放
    columns:
      - {{name: c, from: established_date{", " + mutation if mutation.startswith("rule") else ""}}}
    measure: {{name: n}}
"""
    if not mutation.startswith("rule"):
        text = text.replace(mutation, good[mutation])
    path = tmp_path / "open_datasets.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(OpenDataConfigError) as err:
        load_open_registry(path)
    assert str(path) in str(err.value) and message in str(err.value)
