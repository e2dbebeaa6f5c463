"""The department registry (include/govlake/config/departments/*.yaml): what a file declares, the names
derived from it, and errors that name the file and the field. Pure unit tests: no stack."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path

import pytest
import yaml

from govlake.registry import (
    REGISTRY_DIR,
    TOMBSTONE_FILE_SUFFIX,
    RegistryError,
    get_dataset,
    iter_datasets,
    load_departments,
    parse_department,
)

PROJECT = Path(__file__).resolve().parents[1]

# The smallest valid department file; each test changes one thing.
MINIMAL: dict = {
    "department": {"code": "zz_dept", "name": "测试厅", "provider_code": "11520000TEST00000X"},
    "datasets": [
        {
            "code": "permit",
            "name": "许可",
            "summary": "测试数据集。",
            "update_cycle": "每日",
            "source": {"kind": "csv", "encoding": "gbk", "connection": "zz_dept_db"},
            "primary_key": ["permit_no"],
            "columns": [
                {"name": "permit_no", "source_name": "许可证号", "label": "许可证号", "type": "string"},
                {"name": "issued_on", "label": "发证日期", "type": "date", "required": True},
            ],
        }
    ],
}


def _write(tmp_path: Path, doc: dict | str, name: str = "zz_dept.yaml") -> Path:
    path = tmp_path / name
    text = doc if isinstance(doc, str) else yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def _changed(change) -> dict:
    doc = copy.deepcopy(MINIMAL)
    change(doc)
    return doc


# -- what a valid file gives ----------------------------------------------------------------------------
def test_a_minimal_file_parses_with_the_documented_defaults(tmp_path: Path):
    dept = parse_department(_write(tmp_path, MINIMAL))
    (ds,) = dept.datasets
    assert (dept.code, dept.sensitivity, dept.front_end_processor) == ("zz_dept", "low", False)
    assert (ds.key, ds.schedule, ds.source_kind, ds.primary_key) == (
        "zz_dept__permit",
        "@daily",
        "csv",
        ("permit_no",),
    )
    permit_no, issued_on = ds.columns
    assert (permit_no.source_name, permit_no.required, permit_no.grade, permit_no.pi) == (
        "许可证号",
        False,
        "一般",
        "none",
    )
    assert issued_on.source_name == "issued_on"  # no source_name: the file calls it by its platform name
    assert (permit_no.sql_type, issued_on.sql_type) == ("text", "date")
    assert ds.source["connection"] == "zz_dept_db" and ds.catalog == {}
    assert ds.registry_file == tmp_path / "zz_dept.yaml"


def test_names_derived_from_the_dataset_key(tmp_path: Path):
    (ds,) = parse_department(_write(tmp_path, MINIMAL)).datasets
    assert ds.dag_id == "ingest__zz_dept__permit"
    assert ds.raw_table == "raw.zz_dept__permit"
    assert ds.landing_prefix == "zz_dept/permit/"
    assert ds.asset_uri == "s3://raw/zz_dept/permit"
    assert ds.batch_id("2026-01-15") == "zz_dept__permit__2026-01-15"
    assert ds.is_daily


@pytest.mark.parametrize(
    "code, view",
    [
        ("permit", "staging.stg_zz_dept__permits"),  # dbt's convention: the entity in the plural
        ("permits", "staging.stg_zz_dept__permits"),  # already plural: not doubled
        ("crop_production", "staging.stg_zz_dept__crop_productions"),
    ],
)
def test_staging_view_is_the_plural_entity(tmp_path: Path, code: str, view: str):
    doc = _changed(lambda d: d["datasets"][0].update(code=code))
    assert parse_department(_write(tmp_path, doc)).datasets[0].staging_view == view


def test_every_registry_dataset_has_the_staging_model_its_name_promises():
    for ds in iter_datasets():
        schema, model = ds.staging_view.split(".")
        assert schema == "staging"
        path = PROJECT / "dbt_project" / "models" / "staging" / ds.department / f"{model}.sql"
        assert path.exists(), f"{ds.key}: {ds.staging_view} expected in {path.relative_to(PROJECT)}"


def test_tombstone_file_is_named_for_the_dataset_and_date(tmp_path: Path):
    (ds,) = parse_department(_write(tmp_path, MINIMAL)).datasets
    name = ds.tombstone_file(date(2026, 1, 5))
    assert name == "permit_20260105_deleted.csv" and name.endswith(TOMBSTONE_FILE_SUFFIX)


def test_authoritative_is_off_unless_declared(tmp_path: Path):
    assert not parse_department(_write(tmp_path, MINIMAL)).datasets[0].authoritative
    doc = _changed(lambda d: d["datasets"][0].update(authoritative=True))
    assert parse_department(_write(tmp_path, doc)).datasets[0].authoritative


def test_the_committed_registry_is_valid_with_one_authoritative_register():
    errors: list[str] = []
    departments = load_departments(errors=errors)
    assert errors == []
    assert len(departments) == len(list(REGISTRY_DIR.glob("*.yaml")))
    datasets = [ds for dept in departments for ds in dept.datasets]
    assert len({ds.key for ds in datasets}) == len(datasets)
    assert [ds.key for ds in datasets if ds.authoritative] == ["public_security__household_registration"]


def test_front_end_processor_is_the_departments_and_reaches_its_datasets(tmp_path: Path):
    doc = _changed(lambda d: d["department"].update(front_end_processor=True))
    dept = parse_department(_write(tmp_path, doc))
    assert dept.front_end_processor and dept.datasets[0].front_end_processor


# -- errors name the file and the field --------------------------------------------------------------------
@pytest.mark.parametrize(
    "change, field",
    [
        (lambda d: d["datasets"][0].pop("summary"), "'datasets[0].summary'"),
        (lambda d: d["department"].pop("provider_code"), "'department.provider_code'"),
        (lambda d: d["datasets"][0]["columns"][1].pop("label"), "'datasets[0].columns[1].label'"),
        (lambda d: d["datasets"][0]["source"].update(kind="ftp"), "'datasets[0].source.kind' is 'ftp'"),
        (lambda d: d["datasets"][0].update(update_cycle="每天"), "'datasets[0].update_cycle' is '每天'"),
        (lambda d: d["datasets"][0]["columns"][0].update(type="text"), "'datasets[0].columns[0].type'"),
        (lambda d: d["datasets"][0]["columns"][0].update(grade="秘密"), "'datasets[0].columns[0].grade'"),
        (lambda d: d["datasets"][0]["columns"][1].update(pi="yes"), "'datasets[0].columns[1].pi'"),
        (lambda d: d["datasets"][0].update(primary_key=["nope"]), "'datasets[0].primary_key' names 'nope'"),
        (
            lambda d: d["datasets"][0].update(catalog={"sharing_type": "随便共享"}),
            "'datasets[0].catalog.sharing_type' is '随便共享'; expected one of 无条件共享",
        ),
        (
            lambda d: d["datasets"][0].update(catalog={"sharing_type": "有条件共享"}),
            "'datasets[0].catalog.sharing_condition' is required",
        ),
        (
            lambda d: d["datasets"][0].update(catalog={"open_type": "公开"}),
            "'datasets[0].catalog.open_type' is '公开'",
        ),
        (lambda d: d["datasets"][0].update(catalog=["x"]), "'datasets[0].catalog' must be a mapping"),
    ],
)
def test_a_mistake_is_reported_with_the_file_and_the_field(tmp_path: Path, change, field: str):
    path = _write(tmp_path, _changed(change))
    with pytest.raises(RegistryError) as err:
        parse_department(path)
    assert str(err.value).startswith(f"{path}: ")
    assert field in str(err.value)


def test_a_file_that_is_not_yaml_names_the_file(tmp_path: Path):
    path = _write(tmp_path, "department: {code: broken\n  name: [unclosed\n")
    with pytest.raises(RegistryError, match=f"^{path}: not valid YAML"):
        parse_department(path)


def test_a_bad_file_is_skipped_and_reported_while_the_others_load(tmp_path: Path):
    _write(tmp_path, MINIMAL, "a_good.yaml")
    _write(tmp_path, _changed(lambda d: d["datasets"][0].pop("columns")), "b_bad.yaml")
    errors: list[str] = []
    departments = load_departments(tmp_path, errors=errors)
    assert [d.registry_file.name for d in departments] == ["a_good.yaml"]
    assert len(errors) == 1 and "b_bad.yaml" in errors[0] and "'datasets[0].columns'" in errors[0]
    assert [ds.key for ds in iter_datasets(tmp_path)] == ["zz_dept__permit"]


def test_an_unknown_dataset_names_the_registry_searched(tmp_path: Path):
    _write(tmp_path, MINIMAL)
    assert get_dataset("zz_dept__permit", tmp_path).code == "permit"
    with pytest.raises(KeyError, match=str(tmp_path)):
        get_dataset("zz_dept__nothing", tmp_path)
