"""The synthetic province in memory: determinism, exact defects, and realistic, internally consistent data."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import pytest
from stdnum.cn import ric, uscc

from demo_province import defects as d
from demo_province import reference as ref
from demo_province.generator import WATERMARKS, iter_province, scale_persons
from demo_province.identifiers import is_valid_ric
from demo_province.tables import (
    COLUMNS,
    DATASETS,
    ENROLLMENT,
    ENTITIES,
    HOUSEHOLD,
    KEY_COLUMN,
    row_count,
    rows,
)
from demo_province.writers import csv_bytes
from govlake.registry import get_dataset

DAY = date(2024, 6, 1)
PERSONS = 5000
CHUNK = 2000  # several chunks, so the cross-chunk paths (ID uniqueness, defect spreading) run


def _collect(
    seed: int = 42, rate: float = 0.02, persons: int = PERSONS
) -> tuple[dict[str, list[tuple]], list[d.Defect]]:
    tables: dict[str, list[tuple]] = {ds: [] for ds in DATASETS}
    defects: list[d.Defect] = []
    for chunk in iter_province(persons, seed, DAY, rate, chunk_size=CHUNK):
        for ds in DATASETS:
            tables[ds] += rows(chunk.tables[ds])
        defects += [
            x for x in chunk.defects if x.dataset in DATASETS
        ]  # the others: test_province_departments
    return tables, defects


@pytest.fixture(scope="module")
def province() -> tuple[dict[str, list[tuple]], list[d.Defect]]:
    return _collect()


def _as_dicts(ds: str, table: list[tuple]) -> list[dict]:
    return [dict(zip(COLUMNS[ds], r, strict=True)) for r in table]


def _clean(ds: str, province) -> list[dict]:
    """Rows of ``ds`` that carry no injected defect (the first copy of a duplicated row counts as clean)."""
    tables, defects = province
    touched = {x.key for x in defects if x.dataset == ds and x.kind != d.DUPLICATE_ROW}
    seen, out = set(), []
    for row in _as_dicts(ds, tables[ds]):
        key = row[KEY_COLUMN[ds]]
        if key in touched or key in seen:
            continue
        seen.add(key)
        out.append(row)
    return out


def test_columns_are_the_registry_source_names() -> None:
    for ds in DATASETS:
        assert COLUMNS[ds] == tuple(c.source_name for c in get_dataset(ds).columns)


def test_scales() -> None:
    assert scale_persons("tiny") == 1_000 and scale_persons("large") == 1_000_000
    assert scale_persons("xlarge") == 10_000_000 and scale_persons("province") == 38_600_000  # Guizhou
    with pytest.raises(ValueError, match="choose one of tiny, small, medium, large"):
        scale_persons("huge")


def test_same_seed_same_rows_and_different_seed_different_rows(province) -> None:
    again, again_defects = _collect()
    assert again == province[0]
    assert [x.as_dict() for x in again_defects] == [x.as_dict() for x in province[1]]
    other, _ = _collect(seed=43)
    for ds in DATASETS:
        assert other[ds] != province[0][ds]


def test_sizes_follow_the_scale(province) -> None:
    tables, defects = province
    base = {
        ds: len(tables[ds]) - sum(1 for x in defects if x.dataset == ds and x.kind == d.DUPLICATE_ROW)
        for ds in DATASETS
    }
    # The scale is the population of the era's epoch (2024-01-01); by DAY some children were born and
    # registered and a few new entities established.
    assert PERSONS <= base[HOUSEHOLD] <= 1.02 * PERSONS
    assert round(0.08 * PERSONS) <= base[ENTITIES] <= 1.05 * round(0.08 * PERSONS)
    assert 0.6 * PERSONS < base[ENROLLMENT] < 0.85 * PERSONS  # ≈ 0.6 insured x 1.2 insurance types


@pytest.mark.parametrize("rate", [0.0, 0.02, 0.1])
def test_defect_rate_is_honoured_and_manifest_is_exact(rate: float) -> None:
    tables, defects = _collect(rate=rate, persons=3000)
    counts = d.manifest(defects)
    for ds in DATASETS:
        dups = counts[ds][d.DUPLICATE_ROW]
        base = len(tables[ds]) - dups
        if ds in WATERMARKS:  # a department database: binomial per row version (defects.version_defects)
            assert abs(sum(counts[ds].values()) - rate * base) <= 4 * (rate * base) ** 0.5 + 1
        else:
            assert sum(counts[ds].values()) == int(rate * base + 0.5)
        if rate >= 0.02 and ds != ENTITIES:
            assert all(v > 0 for v in counts[ds].values()), counts[ds]
        # one defect per row: every non-duplicate defect key is distinct
        keys = [x.key for x in defects if x.dataset == ds]
        assert len(keys) == len(set(keys))


def test_each_defect_is_what_the_manifest_says(province) -> None:
    tables, defects = province
    codes = ref.geography().division_codes
    by_key = {ds: Counter(r[0] for r in tables[ds]) for ds in (HOUSEHOLD, ENTITIES)}
    by_key[ENROLLMENT] = Counter(r[0] for r in tables[ENROLLMENT])
    rows_by_key = {ds: {r[KEY_COLUMN[ds]]: r for r in _as_dicts(ds, tables[ds])} for ds in DATASETS}
    persons = {r["gmsfhm"]: r for r in _as_dicts(HOUSEHOLD, tables[HOUSEHOLD])}
    for x in defects:
        row = rows_by_key[x.dataset][x.key]
        if x.kind == d.BAD_CHECK_CHAR:
            value = row[x.column]
            assert not (uscc.is_valid(value) if x.dataset == ENTITIES else is_valid_ric(value))
        elif x.kind == d.MISSING_REQUIRED:
            assert row[x.column] is None
            assert get_dataset(x.dataset).columns[COLUMNS[x.dataset].index(x.column)].required
        elif x.kind == d.DUPLICATE_ROW:
            assert by_key[x.dataset][x.key] == 2
        elif x.kind == d.FUTURE_DATE:
            assert date.fromisoformat(row[x.column]) > DAY
        elif x.kind == d.UNKNOWN_DIVISION:
            assert row[x.column] not in codes
        elif x.kind == d.CROSS_DEPARTMENT_CONFLICT:
            person = persons[row["aac002"]]
            assert (row["aac003"], row["aac006"]) != (person["xm"], person["csrq"])
    # and nothing else is duplicated
    for ds in DATASETS:
        dup_keys = {k for k, n in Counter(r[0] for r in tables[ds]).items() if n > 1}
        assert dup_keys == {x.key for x in defects if x.dataset == ds and x.kind == d.DUPLICATE_ROW}


def test_clean_household_rows_are_realistic(province) -> None:
    counties = {str(c) for c in ref.geography().county_codes}
    clean = _clean(HOUSEHOLD, province)
    assert len(clean) > 0.9 * PERSONS
    heads = 0
    for r in clean:
        assert is_valid_ric(r["gmsfhm"]) and ric.calc_check_digit(r["gmsfhm"]) == r["gmsfhm"][-1]
        assert r["gmsfhm"][6:14] == r["csrq"].replace("-", "")
        assert (int(r["gmsfhm"][16]) % 2 == 1) == (r["xb"] == "男")
        assert r["hjdqh"] in counties and r["hh"].startswith(r["hjdqh"])
        assert r["xm"] and 2 <= len(r["xm"]) <= 4 and r["mz"] in ref.ETHNIC_GROUPS
        assert r["zz"].startswith("贵州省")
        assert r["csrq"] <= DAY.isoformat() and r["gxsj"][:10] <= DAY.isoformat()
        assert r["gxsj"].endswith("+08:00")
        assert (r["rkzt"] == "死亡") == (r["swrq"] is not None)
        if r["swrq"]:
            assert r["csrq"] < r["swrq"] <= DAY.isoformat()
        heads += r["yhzgx"] == "户主"
    ethnic = Counter(r["mz"] for r in clean)
    assert ethnic.most_common(1)[0][0] == "汉族" and {"苗族", "布依族", "侗族"} <= set(ethnic)
    statuses = Counter(r["rkzt"] for r in clean)
    assert statuses["正常"] > 0.9 * len(clean) and statuses["死亡"] > 0 and statuses["迁出"] > 0
    assert 0.25 * len(clean) < heads < 0.5 * len(clean)
    ages = Counter(min((2024 - int(r["csrq"][:4])) // 20, 3) for r in clean)
    assert all(ages[b] > 0.1 * len(clean) for b in range(4))  # 0-19, 20-39, 40-59, 60+ all populated
    assert ages[0] > ages[3]  # Guizhou is young: more under-20s than over-60s


def test_resident_ids_are_unique_across_chunks(province) -> None:
    tables, _ = province
    ids = [r[1] for r in tables[ENROLLMENT]] + [r[0] for r in tables[HOUSEHOLD]]
    bodies = {}
    for i in ids:
        bodies.setdefault(i[:17], set()).add(i)
    # the same 17-digit body never belongs to two different people (corrupted copies aside)
    assert all(len({x for x in v if is_valid_ric(x)}) <= 1 for v in bodies.values())


def test_clean_entities_are_realistic(province) -> None:
    counties = {str(c) for c in ref.geography().county_codes}
    people = {r[0][:17] for r in province[0][HOUSEHOLD]}  # by body: some IDs there carry a broken check
    clean = _clean(ENTITIES, province)
    for r in clean:
        assert uscc.is_valid(r["统一社会信用代码"])
        assert r["统一社会信用代码"][2:8] == r["住所行政区划代码"] in counties
        assert r["法定代表人证件号码"][:17] in people
        assert r["行业门类"] in "ABCDEFGHIJKLMNOPQRST"
        assert float(r["注册资本万元"]) > 0
        assert r["成立日期"] <= DAY.isoformat()
        assert r["登记状态"] in ("存续", "注销", "吊销")
    kinds = Counter(r["市场主体类型"] for r in clean)
    assert kinds.most_common(1)[0][0] == "个体工商户" and kinds["有限责任公司"] > 0
    assert any(r["企业名称"].startswith("贵州") and r["企业名称"].endswith("有限公司") for r in clean)
    csv_bytes({c: [r[c] for r in clean] for c in COLUMNS[ENTITIES]}).decode("gbk")  # all GBK-encodable


def test_clean_enrollments_are_realistic(province) -> None:
    tables, defects = province
    people = {r["gmsfhm"]: r for r in _as_dicts(HOUSEHOLD, tables[HOUSEHOLD])}
    bodies = {k[:17] for k in people}
    broken_people = {x.key for x in defects if x.dataset == HOUSEHOLD and x.kind != d.DUPLICATE_ROW}
    entity_codes = {r[0][:17] for r in tables[ENTITIES]}  # by body, as above
    counties = {str(c) for c in ref.geography().county_codes}
    clean = _clean(ENROLLMENT, province)
    outsiders = 0
    for r in clean:
        assert is_valid_ric(r["aac002"]) and r["aac002"][6:14] == r["aac006"].replace("-", "")
        assert r["aab301"] in counties
        assert r["aae140"] in ref.INSURANCE_EMPLOYEE + ref.INSURANCE_RESIDENT
        assert (r["aab998"] is not None) == (r["aae140"] in ref.INSURANCE_EMPLOYEE)
        assert r["aab998"] is None or r["aab998"][:17] in entity_codes
        assert r["aae005"] is None or re.fullmatch(r"1[3-9]\d{9}", r["aae005"])
        assert r["aac030"] <= DAY.isoformat() and r["aae036"][:10] <= DAY.isoformat()
        assert r["aac030"] <= r["aae036"][:10]
        assert r["aac008"] in ("参保缴费", "暂停缴费", "终止")
        person = people.get(r["aac002"])
        if person is None and r["aac002"][:17] in bodies:
            continue  # 公安厅's row for this person carries a broken check character
        if person is None:
            outsiders += 1
            assert not r["aac002"].startswith("52")  # registered in another province
        elif r["aac002"] not in broken_people:  # the two departments agree on clean rows
            assert (r["aac003"], r["aac006"]) == (person["xm"], person["csrq"])
    assert 0 < outsiders < 0.1 * len(clean)
    ids = [r[0] for r in tables[ENROLLMENT]]
    assert list(dict.fromkeys(ids)) == sorted(set(ids))  # ids ascend (duplicated rows come later)


def test_row_count_helper(province) -> None:
    tables, _ = province
    table = {c: [r[i] for r in tables[HOUSEHOLD]] for i, c in enumerate(COLUMNS[HOUSEHOLD])}
    assert row_count(table) == len(tables[HOUSEHOLD])
