"""The seven departments added in issue 3, in memory: registry, determinism, linkage, defects, realism."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import pytest
from stdnum.cn import ric

from demo_province import defects as d
from demo_province import findings as f
from demo_province import reference as ref
from demo_province.civil import POOR_COUNTIES
from demo_province.crops import CROP_NAMES
from demo_province.defects import DefectPlanner, manifest
from demo_province.generator import WATERMARKS, iter_province, regional_tables
from demo_province.identifiers import is_valid_ric
from demo_province.indicators import INDICATORS
from demo_province.payments import luhn_digit
from demo_province.tables import (
    ALL_DATASETS,
    BIRTHS,
    COLUMNS,
    CROPS,
    DIBAO,
    DIVISIONS,
    HOUSEHOLD,
    MARRIAGES,
    NEW_DATASETS,
    PASSENGERS,
    PAYMENTS,
    PERSON_LINKED,
    REGIONAL,
    Table,
    row_count,
    row_key,
)
from demo_province.tables import (
    INDICATORS as INDICATOR_DS,
)
from govlake.registry import RegistryError, get_dataset, load_departments, parse_department

DAY = date(2024, 6, 1)
PERSONS = 20_000
CHUNK = 7_000  # three chunks: serials, defect spreading and findings cross chunk boundaries


def _province(seed: int = 42, rate: float = 0.02, persons: int = PERSONS):
    planner = DefectPlanner(rate)
    tables: dict[str, Table] = {ds: {c: [] for c in COLUMNS[ds]} for ds in ALL_DATASETS}
    defects: list[d.Defect] = []
    findings = []
    for chunk in iter_province(persons, seed, DAY, rate, chunk_size=CHUNK, planner=planner):
        for ds, table in chunk.tables.items():
            for column, values in table.items():
                tables[ds][column] += values
        defects += chunk.defects
        findings.append(chunk.findings)
    regional, regional_defects = regional_tables(seed, DAY, planner)
    tables.update(regional)
    return tables, defects + regional_defects, f.merge_findings(findings)


@pytest.fixture(scope="module")
def province():
    return _province()


def _rows(table: Table) -> list[dict]:
    return [dict(zip(table, values, strict=True)) for values in zip(*table.values(), strict=True)]


def _touched(defects: list[d.Defect], ds: str) -> set[str]:
    return {x.key for x in defects if x.dataset == ds}


def _clean(province, ds: str) -> list[dict]:
    """Rows of ``ds`` without an injected defect (a duplicated row's copies are dropped too)."""
    tables, defects, _ = province
    touched = _touched(defects, ds)
    return [r for i, r in enumerate(_rows(tables[ds])) if row_key(ds, tables[ds], i) not in touched]


@pytest.fixture(scope="module")
def registry(province) -> dict[str, dict]:
    """公安厅's clean rows by resident ID."""
    return {r["gmsfhm"]: r for r in _clean(province, HOUSEHOLD)}


# -- registry ----------------------------------------------------------------------------------------------


def test_every_department_file_parses_with_catalog() -> None:
    errors: list[str] = []
    departments = load_departments(errors=errors)
    assert errors == []
    assert {dept.code for dept in departments} == {
        "public_security", "market_regulation", "human_resources", "health", "civil_affairs", "agriculture",
        "statistics", "natural_resources", "transport", "finance",
    }  # fmt: skip
    kinds = Counter(ds.source_kind for dept in departments for ds in dept.datasets)
    assert kinds == {"database": 3, "csv": 4, "rest_api": 2, "xlsx": 2}
    for dept in departments:
        for ds in dept.datasets:
            assert ds.catalog["sharing_type"] in ("无条件共享", "有条件共享", "不予共享"), ds.key
            assert ds.catalog["open_type"] in ("无条件开放", "有条件开放", "不予开放"), ds.key
            assert ds.catalog["resource_code"].startswith(ds.catalog["classification"]["code"] + "/")
            assert {"类", "项", "目", "细目"} <= set(ds.catalog["classification"])


def test_new_datasets_are_declared_as_the_brief_says() -> None:
    births = get_dataset(BIRTHS)
    assert births.source == {"kind": "xlsx", "header_row": 3, "sheets": "all", "merged_cells": "fill"}
    assert get_dataset(PASSENGERS).source == {"kind": "xlsx", "header_row": 2, "sheets": "all"}
    assert get_dataset(CROPS).source["encoding"] == "gb18030" and get_dataset(CROPS).schedule == "@yearly"
    assert get_dataset(INDICATOR_DS).source["path"] == "/api/v1/indicators"
    assert get_dataset(DIBAO).source["table"] == "civil_affairs.dibao_recipients"
    assert get_dataset(PAYMENTS).column("bank_account").grade == "核心"
    assert get_dataset(PAYMENTS).column("bank_account").pi == "direct"
    assert get_dataset(DIBAO).primary_key == ("recipient_id", "family_id")


@pytest.mark.parametrize("ds", NEW_DATASETS)
def test_generated_columns_are_the_registry_source_names(ds: str) -> None:
    assert COLUMNS[ds] == tuple(c.source_name for c in get_dataset(ds).columns)


def _write(tmp_path: Path, catalog: str) -> Path:
    source = (Path(__file__).parents[2] / "include/govlake/config/departments/transport.yaml").read_text(
        "utf-8"
    )
    head, _, _ = source.partition("    catalog:\n")
    path = tmp_path / "transport.yaml"
    path.write_text(head + catalog, encoding="utf-8")
    return path


def test_a_wrong_sharing_or_open_type_names_the_file_and_field(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match=r"transport\.yaml: field 'datasets\[0\]\.catalog\.sharing_type'"):
        parse_department(_write(tmp_path, "    catalog: {sharing_type: 随便共享}\n"))
    with pytest.raises(RegistryError, match=r"catalog\.open_type' is '公开'; expected one of 无条件开放"):
        parse_department(_write(tmp_path, "    catalog: {sharing_type: 无条件共享, open_type: 公开}\n"))
    with pytest.raises(RegistryError, match=r"catalog\.sharing_condition' is required"):
        parse_department(_write(tmp_path, "    catalog: {sharing_type: 有条件共享}\n"))
    with pytest.raises(RegistryError, match="must be a mapping"):
        parse_department(_write(tmp_path, "    catalog: [a, b]\n"))
    assert parse_department(_write(tmp_path, "")).datasets[0].catalog == {}


# -- determinism and defects -------------------------------------------------------------------------------


def test_same_seed_same_rows_and_different_seed_different_rows(province) -> None:
    again = _province()
    for ds in NEW_DATASETS:
        assert again[0][ds] == province[0][ds], ds
    assert [x.as_dict() for x in again[1]] == [x.as_dict() for x in province[1]]
    assert again[2] == province[2]
    other = _province(seed=43, persons=5_000)
    for ds in NEW_DATASETS:
        assert other[0][ds] != province[0][ds], ds


@pytest.mark.parametrize("rate", [0.0, 0.02, 0.1])
def test_defect_counts_are_exact_per_dataset(rate: float) -> None:
    """Files: exactly round(rate x rows). Department databases: each row version is defective with
    probability ``rate`` (see ``defects.version_defects``), so the count is binomial around it."""
    tables, defects, _ = _province(rate=rate, persons=6_000)
    counts = manifest(defects)
    for ds in NEW_DATASETS:
        base = row_count(tables[ds]) - counts[ds][d.DUPLICATE_ROW]
        if ds in WATERMARKS:
            assert abs(sum(counts[ds].values()) - rate * base) <= 4 * (rate * base) ** 0.5 + 1, ds
        else:
            assert sum(counts[ds].values()) == int(rate * base + 0.5), ds
        keys = [x.key for x in defects if x.dataset == ds]
        assert len(keys) == len(set(keys)), ds
        if rate == 0.1 and base >= 20 * len(d.KINDS[ds]):
            assert all(v > 0 for v in counts[ds].values()), (ds, counts[ds])


def test_each_new_defect_is_what_the_manifest_says(province, registry) -> None:
    tables, defects, _ = province
    codes = ref.geography().division_codes
    keyed = {
        ds: Counter(row_key(ds, tables[ds], i) for i in range(row_count(tables[ds]))) for ds in NEW_DATASETS
    }
    rows = {
        ds: {row_key(ds, tables[ds], i): r for i, r in enumerate(_rows(tables[ds]))} for ds in NEW_DATASETS
    }
    required = {ds: {c.source_name for c in get_dataset(ds).columns if c.required} for ds in NEW_DATASETS}
    seen = Counter()
    for x in (x for x in defects if x.dataset in NEW_DATASETS):
        row = rows[x.dataset][x.key]
        seen[x.kind] += 1
        if x.kind == d.BAD_CHECK_CHAR:
            assert not is_valid_ric(row[x.column])
        elif x.kind == d.MISSING_REQUIRED:
            assert row[x.column] is None and x.column in required[x.dataset]
        elif x.kind == d.DUPLICATE_ROW:
            assert keyed[x.dataset][x.key] == 2
        elif x.kind == d.FUTURE_DATE:
            assert date.fromisoformat(row[x.column]) > DAY
        elif x.kind == d.UNKNOWN_DIVISION:
            assert row[x.column] not in codes
        elif x.kind == d.CROSS_DEPARTMENT_CONFLICT:
            assert x.column in ("出生日期", "男方姓名", "女方姓名")
            if x.dataset == MARRIAGES:
                person = registry[row[x.column.replace("姓名", "身份证号")]]
                assert row[x.column] != person["xm"]
    for ds in NEW_DATASETS:  # nothing else is duplicated
        assert {k for k, n in keyed[ds].items() if n > 1} == {
            x.key for x in defects if x.dataset == ds and x.kind == d.DUPLICATE_ROW
        }, ds
    assert set(seen) == set(d.KINDS[BIRTHS])


# -- linkage -------------------------------------------------------------------------------------------------


def test_birth_certificates_name_registered_parents_and_newborns(province, registry) -> None:
    tables, defects, _ = province
    conflicts = {x.key for x in defects if x.dataset == BIRTHS and x.kind == d.CROSS_DEPARTMENT_CONFLICT}
    by_household = defaultdict(list)
    for person in registry.values():
        by_household[person["hh"]].append(person)
    clean = _clean(province, BIRTHS)
    assert 0.008 * PERSONS < len(clean) < 0.03 * PERSONS
    fathers = 0
    for r in clean:
        mother = registry.get(r["母亲身份证号"])
        if mother is None:
            continue  # 公安厅's own row for the mother carries a defect
        assert mother["xm"] == r["母亲姓名"] and mother["xb"] == "女"
        assert (
            18 <= (date.fromisoformat(r["出生日期"]) - date.fromisoformat(mother["csrq"])).days / 365.25 <= 51
        )
        if r["父亲身份证号"]:
            fathers += 1
            father = registry.get(r["父亲身份证号"])
            assert father is None or (father["xb"] == "男" and father["hh"] == mother["hh"])
        newborn = [
            p for p in by_household[mother["hh"]] if p["xm"] == r["新生儿姓名"] and p["yhzgx"] in ("子", "女")
        ]
        if not newborn:
            continue  # the newborn's own registry row carries a defect
        assert newborn[0]["csrq"] == r["出生日期"]
        assert newborn[0]["gxsj"][:10] >= r["签发日期"] >= r["出生日期"]  # 落户 after the certificate
        assert r["行政区划代码"] == newborn[0]["hjdqh"]
    assert fathers > 0.8 * len(clean)
    for key in conflicts:
        row = next(r for r in _rows(tables[BIRTHS]) if r["出生医学证明编号"] == key)
        mother = registry[row["母亲身份证号"]]
        newborn = [p for p in by_household[mother["hh"]] if p["xm"] == row["新生儿姓名"]]
        assert newborn and newborn[0]["csrq"] != row["出生日期"]


def test_marriages_are_between_registered_adults_of_legal_age(province, registry) -> None:
    clean = _clean(province, MARRIAGES)
    assert Counter(r["登记类型"] for r in clean).keys() == {"结婚", "离婚"}
    for r in clean:
        man, woman = registry.get(r["男方身份证号"]), registry.get(r["女方身份证号"])
        if man is None or woman is None:
            continue
        assert (man["xb"], woman["xb"], man["xm"], woman["xm"]) == ("男", "女", r["男方姓名"], r["女方姓名"])
        married = date.fromisoformat(r["登记日期"])
        assert (married - date.fromisoformat(man["csrq"])).days >= 22 * 365
        assert (married - date.fromisoformat(woman["csrq"])).days >= 20 * 365
        assert r["登记机关行政区划代码"] in (man["hjdqh"], woman["hjdqh"])
        assert r["登记证号"].startswith(("J" if r["登记类型"] == "结婚" else "L") + r["登记机关行政区划代码"])
        if r["登记类型"] == "结婚":
            assert man["hh"] != woman["hh"]
        else:
            assert man["hh"] == woman["hh"]


def test_dibao_recipients_are_registered_and_concentrated_in_poor_counties(province, registry) -> None:
    clean = _clean(province, DIBAO)
    names = dict(
        zip(
            (str(c) for c in ref.geography().county_codes.tolist()), ref.geography().county_names, strict=True
        )
    )
    poor = sum(names[r["division_code"]][:2] in POOR_COUNTIES for r in clean)
    everyone = sum(names[p["hjdqh"]][:2] in POOR_COUNTIES for p in registry.values())
    assert poor / len(clean) > 1.5 * everyone / len(registry)  # far more common in the poor counties
    for r in clean:
        person = registry.get(r["recipient_id"])
        if person is None:
            continue
        assert person["xm"] == r["recipient_name"] and person["hjdqh"] == r["division_code"]
        assert (r["status"] == "在保") == (r["is_deleted"] == "0")
        assert r["start_month"] == r["approval_date"][:7] and r["updated_at"][:10] <= DAY.isoformat()
    assert Counter(r["is_deleted"] for r in clean)["1"] > 0


def test_findings_are_real_and_exact(province, registry) -> None:
    tables, _, findings = province
    dibao = {row_key(DIBAO, tables[DIBAO], i): r for i, r in enumerate(_rows(tables[DIBAO]))}
    payments = {r["payment_id"]: r for r in _rows(tables[PAYMENTS])}
    assert all(findings[PAYMENTS][k] for k in f.FINDINGS[PAYMENTS]), {
        k: len(v) for k, v in findings[PAYMENTS].items()
    }
    assert findings[DIBAO][f.DECEASED_RECIPIENTS]
    for key in findings[DIBAO][f.DECEASED_RECIPIENTS]:
        r = dibao[key]
        assert (r["status"], r["is_deleted"], registry[r["recipient_id"]]["rkzt"]) == ("在保", "0", "死亡")
    after = findings[PAYMENTS][f.PAID_AFTER_DEATH]
    for pid in after:
        person = registry[payments[pid]["recipient_id"]]
        assert person["rkzt"] == "死亡" and person["swrq"] < payments[pid]["payment_date"]
    # exact: every clean payment to a clean, dead person after the death is listed
    clean_payments = _clean(province, PAYMENTS)
    expected = {
        r["payment_id"]
        for r in clean_payments
        if r["recipient_id"] in registry
        and registry[r["recipient_id"]]["swrq"]
        and registry[r["recipient_id"]]["swrq"] < r["payment_date"]
    }
    assert set(after) == expected
    groups = defaultdict(list)
    for r in _rows(tables[PAYMENTS]):
        groups[(r["recipient_id"], r["subsidy_type"], r["period"])].append(r["payment_id"])
    for pid in findings[PAYMENTS][f.PAID_TWICE]:
        r = payments[pid]
        assert len(set(groups[(r["recipient_id"], r["subsidy_type"], r["period"])])) == 2
    known_bodies = {p[:17] for p in tables[HOUSEHOLD]["gmsfhm"]}
    for pid in findings[PAYMENTS][f.UNKNOWN_RECIPIENTS]:
        rid = payments[pid]["recipient_id"]
        assert rid[:17] not in known_bodies and is_valid_ric(rid) and ric.is_valid(rid)


def test_bank_accounts_are_full_luhn_valid_card_numbers(province) -> None:
    accounts = [r["bank_account"] for r in _clean(province, PAYMENTS)]
    assert all(len(a) == 19 and a.isdigit() and luhn_digit(a[:-1]) == a[-1] for a in accounts)
    assert luhn_digit("7992739871") == "3"  # the textbook example


# -- regional datasets ---------------------------------------------------------------------------------------


def test_crops_answer_the_corn_question_with_differences(province) -> None:
    clean = _clean(province, CROPS)
    assert {r["产业"] for r in clean} == set(CROP_NAMES) and len(CROP_NAMES) == 13
    assert {r["规模单位"] for r in clean} == {"亩", "头", "万羽"}
    years = sorted({int(r["年度"]) for r in clean})
    assert years == list(range(2015, DAY.year))
    per_mu: dict[str, list[float]] = defaultdict(list)
    for r in clean:
        if (
            r["规模单位"] == "亩"
            and r["产值（万元）"]
            and r["规模数量"]
            and r["行政区划代码"].startswith("5205")
        ):
            per_mu[r["产业"]].append(float(r["产值（万元）"]) * 10_000 / float(r["规模数量"]))
    corn = sum(per_mu["玉米"]) / len(per_mu["玉米"])
    better = [c for c, v in per_mu.items() if sum(v) / len(v) > corn]
    assert "茶叶" in better and "中药材" in better and 4 <= len(better) < len(per_mu)
    # Bijie (5205) grows more 中药材 than Guiyang (5201); Zunyi (5203) more tea than Liupanshui (5202)
    area = defaultdict(float)
    for r in clean:
        area[(r["行政区划代码"][:4], r["产业"])] += float(r["规模数量"] or 0)
    assert area[("5205", "中药材")] > 2 * area[("5201", "中药材")]
    assert area[("5203", "茶叶")] > 2 * area[("5202", "茶叶")]
    assert area[("5202", "刺梨")] > area[("5203", "刺梨")]
    for r in clean[:2000]:
        value = float(r["产量（吨）"]) * float(r["平均出售价格（元/公斤）"]) / 10
        assert abs(value - float(r["产值（万元）"])) <= 0.05 * value + 0.2


def test_indicators_add_up_and_mix_units(province) -> None:
    clean = _clean(province, INDICATOR_DS)
    assert {i.code for i in INDICATORS} == {r["zbdm"] for r in clean}
    values = {(r["zbdm"], r["dqdm"], r["sj"]): (float(r["sz"]), r["jldw"]) for r in clean if r["sz"]}
    checked = 0
    for year in range(2016, 2024):
        province_gdp, unit = values[("A020101", "520000", str(year))]
        prefs = [values.get(("A020101", p, str(year))) for p in ref.PREFECTURES]
        if unit == "亿元" and all(prefs):
            assert abs(sum(v for v, _ in prefs) / province_gdp - 1) < 0.01
            checked += 1
    assert checked >= 5
    assert values[("A020101", "520000", "2023")][1] == "亿元"
    assert any(
        u == "万元"
        for (code, region, _), (_, u) in values.items()
        if code == "A020101" and len(region) == 6 and region[4:] != "00"
    )
    assert {u for _, u in values.values()} >= {"亿元", "万元", "万人", "人", "元", "%"}
    periods = {r["sj"] for r in clean}
    assert "2023" in periods and "2024A" in periods and "2024B" not in periods  # Q2 not yet published
    assert max(r["gxsj"] for r in clean)[:10] <= DAY.isoformat()


def test_divisions_are_the_official_list_with_county_areas(province) -> None:
    rows = _clean(province, DIVISIONS)
    levels = Counter(r["区划级别"] for r in rows)
    assert levels["省级"] == 1 and levels["地级"] == 9 and levels["县级"] > 80 and levels["乡级"] > 1000
    areas = {r["区划代码"]: float(r["面积（平方公里）"]) for r in rows if r["面积（平方公里）"]}
    assert abs(areas["520000"] - 176_167) < 1
    counties = [r for r in rows if r["区划级别"] == "县级"]
    assert all(r["区划代码"] in areas for r in counties)


def test_passenger_volumes_show_rail_growth_and_covid(province) -> None:
    rows = _clean(province, PASSENGERS)
    total = defaultdict(float)
    for r in rows:
        if r["客运量（万人次）"]:
            total[(r["统计月份"][:4], r["运输方式"])] += float(r["客运量（万人次）"])
    assert total[("2019", "铁路")] > 1.3 * total[("2015", "铁路")]
    assert total[("2019", "公路")] < total[("2015", "公路")]
    assert total[("2020", "民航")] < 0.8 * total[("2019", "民航")]
    assert max(r["统计月份"] for r in rows) == "2024-05"
    assert {r["运输方式"] for r in rows} == {"公路", "铁路", "民航", "水运"}


def test_person_linked_and_regional_cover_every_new_dataset() -> None:
    assert set(PERSON_LINKED) | set(REGIONAL) == set(NEW_DATASETS)
    assert len(ALL_DATASETS) == 11
