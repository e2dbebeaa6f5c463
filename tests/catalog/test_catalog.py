"""Catalog entries: national fields, mandatory-field errors, stable codes, search, DCAT-AP 3 (SHACL)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from govlake.catalog.catalog_search import search_catalog
from govlake.catalog.classify import suggest_column
from govlake.catalog.entries import build_entries, parse_classification
from govlake.catalog.export import dcat_catalog, gb_document
from govlake.catalog.model import CatalogError
from govlake.catalog.store import get_entry, list_entries, sync_catalog
from govlake.warehouse import connect

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ZZ = FIXTURES / "sharing" / "zz_health.yaml"


@pytest.fixture
def registry(tmp_path) -> Path:
    shutil.copy(ZZ, tmp_path / ZZ.name)
    return tmp_path


def test_every_real_registry_dataset_and_library_is_catalogued():
    errors: list[str] = []
    entries = build_entries(errors=errors)
    assert not errors, errors
    from govlake.registry import iter_datasets

    keys = {e.entry_key for e in entries}
    assert {ds.key for ds in iter_datasets()} <= keys
    assert {"population", "legal_entities"} <= keys
    population = next(e for e in entries if e.entry_key == "population")
    assert population.item("resident_id").sharing_type == "有条件共享"
    assert population.item("gender").sharing_type == "无条件共享"
    assert "one row per person" in population.summary.lower() or "人口" in population.summary
    # the theme libraries (主题库) too: findable, with their lineage and profile; not shared until classified
    themes = {
        "population_development",
        "entity_births_and_closures",
        "insurance_coverage",
        "subsidy_audit_findings",
        "crop_performance",
        "bijie_crops_vs_corn",
    }
    assert themes <= keys
    for entry in (e for e in entries if e.entry_key in themes):
        assert entry.kind == "library" and entry.classification.category == ("2", "主题信息资源类")
        assert entry.sharing_type == "不予共享" and entry.relation is None, entry.entry_key


def test_mandatory_field_errors_name_file_and_field(registry):
    text = ZZ.read_text(encoding="utf-8").replace("      classification:", "      unused:")
    (registry / ZZ.name).write_text(text, encoding="utf-8")
    errors: list[str] = []
    assert build_entries(registry, manifest_path=None, errors=errors) == []
    assert str(registry / ZZ.name) in errors[0] and "classification" in errors[0]
    with pytest.raises(CatalogError, match="8 digits"):
        parse_classification({"code": "1", "类": "a", "项": "b", "目": "c", "细目": "d"}, "f.yaml")


def test_gb_document_has_the_national_fields(registry):
    entry = build_entries(registry, manifest_path=None)[0]
    doc = gb_document(entry)
    for field in (
        "信息资源分类",
        "信息资源名称",
        "信息资源代码",
        "信息资源提供方",
        "信息资源提供方代码",
        "信息资源摘要",
        "信息资源格式",
        "信息项信息",
        "共享属性",
        "开放属性",
        "更新周期",
        "发布日期",
        "关联资源代码",
    ):
        assert field in doc
    assert doc["共享属性"]["共享类型"] == "有条件共享" and doc["共享属性"]["共享方式"] == "接口"
    items = {i["字段名"]: i for i in doc["信息项信息"]}
    assert (
        items["diagnosis"]["共享类型"] == "不予共享" and items["weight_grams"]["共享条件"] == "仅限妇幼统计"
    )


@pytest.mark.integration
def test_codes_are_stable_and_search_finds_chinese(stack, registry):
    with connect(stack, autocommit=True) as conn:
        conn.execute("delete from platform.catalog_entries where entry_key like 'zz\\_%%'")
        first = sync_catalog(conn, build_entries(registry, manifest_path=None), prune=False)[0]
        again = sync_catalog(conn, build_entries(registry, manifest_path=None), prune=False)[0]
        assert first.resource_code == again.resource_code and first.resource_code.startswith("30520199/")
        assert again.publish_date == "2026-01-15"
        assert [e.entry_key for e in list_entries(conn, "出生医学证明（测试")] == ["zz_health__zz_births"]
        assert get_entry(conn, first.resource_code).entry_key == "zz_health__zz_births"
        if any(e.entry_key == "population" for e in list_entries(conn)):
            assert "population" in [e.entry_key for e in list_entries(conn, "人口")]
        # the portal's in-memory index follows the catalog: a trigger bumps its version on every change
        version = conn.execute("select version from platform.catalog_version").fetchone()[0]
        found = search_catalog(conn, "出生医学证明（测试")
        assert "zz_health__zz_births" in [doc.key for doc, _ in found.hits]
        conn.execute("delete from platform.catalog_entries where entry_key like 'zz\\_%%'")
        assert conn.execute("select version from platform.catalog_version").fetchone()[0] > version
        found = search_catalog(conn, "出生医学证明（测试")
        assert "zz_health__zz_births" not in [doc.key for doc, _ in found.hits]


def test_dcat_ap_3_conforms_to_the_official_shapes(registry):
    pyshacl = pytest.importorskip("pyshacl")
    import dataclasses

    from rdflib import Graph

    entries = [
        dataclasses.replace(e, resource_code="30520199/000001", publish_date="2026-01-15")
        for e in build_entries(registry, manifest_path=None)
    ]
    doc = dcat_catalog(entries, "http://127.0.0.1:58070/api/v1")
    assert doc["dcat:dataset"][0]["dct:accessRights"]["@id"].endswith("/RESTRICTED")
    assert doc["dcat:dataset"][0]["dct:accrualPeriodicity"]["@id"].endswith("/DAILY")
    data = Graph().parse(data=json.dumps(doc), format="json-ld")
    # The official shapes (copied from SEMICeu/DCAT-AP releases/3.0.1, CC-BY 4.0). Its companion ranges.ttl
    # is not loadable by pyshacl 0.40 (property shapes without sh:path), so the class ranges are not checked.
    shapes = Graph().parse(FIXTURES / "dcat-ap-3.0.1" / "dcat-ap-SHACL.ttl", format="turtle")
    conforms, _, report = pyshacl.validate(data, shacl_graph=shapes, inference="none")
    assert conforms, report


@pytest.mark.parametrize(
    "name, values, grade, pi",
    [
        ("zjhm", ["520281197306033319", "52032519881009462X"], "重要", "direct"),
        ("lxdh", ["13812345678", "13987654321"], "重要", "direct"),
        ("card", ["4111111111111111", "6011000990139424"], "重要", "direct"),
        ("xinyong", ["92520102MA6DXXXX0Q"], "一般", "none"),  # check digit wrong: not recognised
        ("dz", ["贵州省贵阳市南明区花果园街道8号", "贵州省遵义市汇川区上海路12号"], "重要", "direct"),
        ("ren", ["张伟", "王芳", "李娜"], "重要", "direct"),
        ("qty", ["12", "7"], "一般", "none"),
    ],
)
def test_suggester_recognises_personal_information(name, values, grade, pi):
    s = suggest_column(name, values)
    assert (s.grade, s.pi) == (grade, pi), s.evidence


def test_suggester_flags_individual_business_credit_codes():
    from demo_province.identifiers import make_uscc

    codes = [make_uscc("92", "520102", f"MA6{n:05d}") for n in range(5)]
    s = suggest_column("credit_code", codes)
    assert (s.grade, s.pi) == ("重要", "direct") and "个体工商户" in s.evidence
