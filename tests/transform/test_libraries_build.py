"""build_staging + build_libraries on a handful of raw rows, checked in the real warehouse.

Rows go into the shared raw tables under logical dates 1998-12-31/1999-01-01 with batch ids unique to this
test run, and are deleted afterwards; dbt builds into throw-away prefixed schemas (see conftest.py), so the
shared audit area is never touched.
"""

from __future__ import annotations

import csv
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from psycopg.types.json import Jsonb

from govlake.transform import build_libraries, build_staging, snapshot_history

pytestmark = pytest.mark.integration

LOGICAL_DATE = "1999-01-01"
PREVIOUS_DATE = "1998-12-31"
TAG = f"pytest{os.getpid()}"

P1 = "52010219900101123X"  # both departments, birth dates differ; sent with blanks and lower-case x
P2 = "520102198512314561"  # both departments, names differ
P3 = "520103196001010019"  # 公安厅 only, but its row is quarantined -> not in the library
P5 = "520302199202290010"  # 人社厅 only; also a 低保 recipient
P6 = "520302197506150026"  # 民政厅's 低保 only: a member known to no other department
PAYEE_ONLY = "520102198001010014"  # paid by 财政厅, known to no register: not a person of the library
C1 = "91520100MA6DKXY10C"  # legal rep P1, two employees insured (P2, P5)
C2 = "92520302MA6HAB310R"  # legal rep unknown to the population, one employee (P1); renamed on 1999-01-01
UNKNOWN_REP = "520102197503150070"

PS = "public_security__household_registration"
HR = "human_resources__social_insurance_enrollment"
MR = "market_regulation__market_entities"
CA_M = "civil_affairs__marriage_registrations"
CA_D = "civil_affairs__subsistence_allowance"
HW = "health__birth_certificates"
FI = "finance__subsidy_payments"
NR = "natural_resources__administrative_divisions"
RAW_TABLES = (PS, HR, MR, CA_M, CA_D, HW, FI, NR)
SEED = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "divisions.csv"
LEVEL_WORDS = {"province": "省级", "prefecture": "地级", "county": "县级", "township": "乡级"}
RENAMED_TOWNSHIP = "520102016"  # delivered under another name
MISSING_TOWNSHIP = "520102017"  # not delivered


def batch(dataset: str, day: str) -> str:
    return f"{dataset}__{day}__{TAG}"


def insert(conn, table: str, rows: list[dict]) -> None:
    for row in rows:
        cols = list(row)
        conn.execute(
            f"insert into raw.{table} ({', '.join(cols)}) values ({', '.join(['%s'] * len(cols))})",
            [row[c] for c in cols],
        )


def lineage(dataset: str, day: str, row: int) -> dict:
    return {
        "_batch_id": batch(dataset, day),
        "_logical_date": date.fromisoformat(day),
        "_source_file": f"pytest/{dataset}/{day}",
        "_source_row": row,
        "_ingested_at": datetime(1999, 1, 1, 2, 0, tzinfo=UTC),
    }


def person(resident_id, name, birth, division, updated, gender="1", status="正常"):
    return {
        "resident_id": resident_id,
        "name": name,
        "gender": gender,
        "ethnicity": "汉族",
        "birth_date": date.fromisoformat(birth),
        "division_code": division,
        "address": "贵阳市南明区",
        "household_id": "H001",
        "relation_to_head": "户主",
        "status": status,
        "death_date": None,
        "updated_at": datetime.fromisoformat(updated),
    }


def enrollment(eid, resident_id, name, birth, itype, employer, division="520102"):
    return {
        "enrollment_id": eid,
        "resident_id": resident_id,
        "name": name,
        "birth_date": date.fromisoformat(birth) if birth else None,
        "insurance_type": itype,
        "employer_credit_code": employer,
        "division_code": division,
        "enrollment_date": date(1998, 6, 1),
        "status": "正常参保",
        "phone": None,
        "updated_at": datetime(1998, 12, 31, 12, 0, tzinfo=UTC),
    }


def entity(code, name, rep_id):
    return {
        "credit_code": code,
        "entity_name": name,
        "entity_type": "有限责任公司",
        "legal_rep_name": "张三",
        "legal_rep_id": rep_id,
        "industry_code": "I",
        "registered_capital": 100,
        "established_date": date(1998, 1, 1),
        "division_code": "520102",
        "address": "贵阳市",
        "status": "存续",
    }


def marriage(no, kind, day, male_id, male_name, female_id, female_name):
    return {
        "registration_no": no,
        "registration_type": kind,
        "registration_date": date.fromisoformat(day),
        "office_division_code": "520102",
        "office_name": "南明区民政局婚姻登记处",
        "male_name": male_name,
        "male_id": male_id,
        "female_name": female_name,
        "female_id": female_id,
        "remarks": None,
    }


def allowance(resident_id, name, family, division):
    return {
        "recipient_id": resident_id,
        "recipient_name": name,
        "family_id": family,
        "relation_to_applicant": "本人",
        "division_code": division,
        "monthly_amount": 600,
        "start_month": "1998-01",
        "approval_date": date(1997, 12, 20),
        "status": "在保",
        "is_deleted": 0,
        "updated_at": datetime(1998, 12, 1, 9, 0, tzinfo=UTC),
    }


def payment(pid, resident_id, name):
    return {
        "payment_id": pid,
        "recipient_id": resident_id,
        "recipient_name": name,
        "subsidy_type": "耕地地力保护补贴",
        "period": "1998",
        "amount": 300,
        "payment_date": date(1998, 12, 15),
        "division_code": "520102",
        "bank_name": "贵州农信",
        "bank_account": "6228000000000000",
        "updated_at": datetime(1998, 12, 15, 9, 0, tzinfo=UTC),
    }


def certificate(no, mother_id, mother_name):
    return {
        "certificate_no": no,
        "newborn_name": "张小明",
        "gender": "男",
        "birth_date": date(1998, 11, 1),
        "birth_place": "贵阳市",
        "issuing_institution": "贵阳市妇幼保健院",
        "division_code": "520102",
        "mother_name": mother_name,
        "mother_id": mother_id,
        "father_name": None,
        "father_id": None,
        "issue_date": date(1998, 11, 3),
    }


def division_delivery() -> list[dict]:
    """自然资源厅's list: the seed, with one township renamed and one left out."""
    with SEED.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    delivered = []
    for row in rows:
        if row["code"] == MISSING_TOWNSHIP:
            continue
        name = "改名街道" if row["code"] == RENAMED_TOWNSHIP else row["name"]
        delivered.append(
            {
                "division_code": row["code"],
                "name": name,
                "level": LEVEL_WORDS[row["level"]],
                "parent_code": row["parent_code"] or None,
                "area_km2": None,
            }
        )
    return delivered


@pytest.fixture(scope="module")
def built(warehouse, schema_prefix, settings, accept_batches):
    ps_old = [person(" 52010219900101123x ", "张三旧", "1990-01-01", "520102", "1998-12-30T10:00:00+08:00")]
    ps_new = [
        person(" 52010219900101123x ", "张三", "1990-01-01", "520102", "1999-01-01T10:00:00+08:00"),
        person(P2, "李四", "1985-12-31", "520102", "1999-01-01T10:00:00+08:00", gender="女"),
        person(P3, "王五", "1960-01-01", "520103", "1999-01-01T10:00:00+08:00"),
    ]
    hr = [
        enrollment("E1", P2, "李肆", "1985-12-31", "养老保险", C1),
        enrollment("E2", P2, "李肆", "1985-12-31", "医疗保险", C1),
        enrollment("E3", P5, "赵六", None, "养老保险", C1, division="520302"),
        enrollment("E4", P1, "张三", "1990-01-02", "工伤保险", C2),
    ]
    mr_old = [entity(C1, "甲公司", P1), entity(C2, "乙商店旧名", UNKNOWN_REP)]
    mr_new = [entity(C2, "乙商店", UNKNOWN_REP)]
    with warehouse.transaction():
        insert(warehouse, PS, [r | lineage(PS, PREVIOUS_DATE, i) for i, r in enumerate(ps_old, 1)])
        insert(warehouse, PS, [r | lineage(PS, LOGICAL_DATE, i) for i, r in enumerate(ps_new, 1)])
        insert(warehouse, HR, [r | lineage(HR, LOGICAL_DATE, i) for i, r in enumerate(hr, 1)])
        insert(warehouse, MR, [r | lineage(MR, PREVIOUS_DATE, i) for i, r in enumerate(mr_old, 1)])
        insert(warehouse, MR, [r | lineage(MR, LOGICAL_DATE, i) for i, r in enumerate(mr_new, 1)])
        others = {
            CA_M: [marriage("J1", "结婚", "1998-05-01", P1, "张三", P2, "李四")],
            CA_D: [
                allowance(P5, "赵陆", "F5", "520302"),
                allowance(P6, "孙七", "F6", "520302"),
                allowance(P1, "张三", "F1", "520103"),
            ],
            HW: [certificate("C1", P2, "李四")],
            FI: [payment("PAY1", P1, "张叁"), payment("PAY2", PAYEE_ONLY, "钱八")],
            NR: division_delivery(),
        }
        for table, rows in others.items():
            insert(warehouse, table, [r | lineage(table, LOGICAL_DATE, i) for i, r in enumerate(rows, 1)])
        accept_batches(
            (batch(ds, day), ds, day)
            for ds, day in {(PS, PREVIOUS_DATE), (MR, PREVIOUS_DATE)}
            | {(t, LOGICAL_DATE) for t in (PS, HR, MR, *others)}
        )
        warehouse.execute(
            "insert into platform.quarantine (batch_id, department, dataset, logical_date, stage, source_file,"
            " source_row, rule, dimension, severity, column_name, message, record)"
            " values (%s, 'public_security', 'household_registration', %s, 'validate', %s, 3,"
            " 'pytest_rule', 'accuracy', 'blocking', 'name', 'quarantined by the transform test', %s)",
            (
                batch(PS, LOGICAL_DATE),
                LOGICAL_DATE,
                f"pytest/{PS}/{LOGICAL_DATE}",
                Jsonb({"resident_id": P3}),
            ),
        )
    try:
        results = [build_staging(LOGICAL_DATE, settings, schema_prefix=schema_prefix)]
        # twice: a re-run of a logical date must give the same result
        results += [build_libraries(LOGICAL_DATE, settings, schema_prefix=schema_prefix) for _ in range(2)]
        yield schema_prefix + "audit", results
    finally:
        with warehouse.transaction():
            for table in RAW_TABLES:
                warehouse.execute(f"delete from raw.{table} where _batch_id like %s", (f"%__{TAG}",))
            warehouse.execute("delete from platform.quarantine where batch_id like %s", (f"%__{TAG}",))


def fetch(conn, sql: str, params=()) -> dict:
    cur = conn.execute(sql, params)
    names = [d.name for d in cur.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def test_builds_succeed(built):
    _, results = built
    for result in results:
        assert result.success and not result.failed_nodes, result.summary()
    unit = [n for n in results[1].nodes if n.unique_id.startswith("unit_test.")]
    assert len(unit) >= 4 and all(n.status == "pass" for n in unit)


def test_population(built, warehouse):
    audit, _ = built
    people = fetch(
        warehouse,
        f"select * from {audit}.population where resident_id = any(%s)",
        ([P1, P2, P3, P5, P6, PAYEE_ONLY],),
    )
    assert set(people) == {P1, P2, P5, P6}, (
        "the quarantined 公安厅 row must not reach the library, nor a payee no register knows"
    )

    p1 = people[P1]
    assert p1["name"] == "张三" and p1["gender"] == "男", "newest 公安厅 version, gender code 1 -> 男"
    assert p1["birth_date"] == date(1990, 1, 1), "公安厅 wins on birth date"
    assert p1["conflict_fields"] == ["birth_date", "division_code", "name"]
    assert p1["insurance_types"] == ["工伤保险"]
    assert p1["source_departments"] == ["public_security", "human_resources", "civil_affairs", "finance"]
    assert p1["marital_status"] == "已婚", "民政厅's latest registration"
    assert p1["in_household_registry"] is True
    assert (p1["division_code"], p1["prefecture_code"]) == ("520102", "520100")
    assert p1["built_for_date"] == date(1999, 1, 1)

    p2 = people[P2]
    assert p2["name"] == "李四" and p2["conflict_fields"] == ["name"]
    assert p2["insurance_types"] == ["养老保险", "医疗保险"]
    assert p2["source_departments"] == ["public_security", "human_resources", "civil_affairs", "health"]
    assert p2["marital_status"] == "已婚"

    p5 = people[P5]
    assert p5["in_household_registry"] is False
    assert p5["source_departments"] == ["human_resources", "civil_affairs"]
    assert (p5["name"], p5["gender"], p5["birth_date"]) == ("赵六", "男", date(1992, 2, 29)), (
        "人社厅 before 民政厅"
    )
    assert (p5["division_code"], p5["prefecture_code"], p5["status"]) == ("520302", "520300", None)
    assert p5["marital_status"] is None, "no registration: unknown"

    p6 = people[P6]
    assert p6["source_departments"] == ["civil_affairs"] and p6["in_household_registry"] is False
    assert (p6["name"], p6["gender"], p6["birth_date"]) == ("孙七", "女", date(1975, 6, 15)), (
        "the rest from the ID"
    )
    assert (p6["division_code"], p6["prefecture_code"]) == ("520302", "520300")


def test_population_conflicts(built, warehouse):
    audit, _ = built
    rows = fetch(
        warehouse,
        f"select conflict_id, field_name, department_values, evidence, adopted_value, adopted_from"
        f" from {audit}.population_conflicts where resident_id = any(%s)",
        ([P1, P2, P3, P5, P6, PAYEE_ONLY],),
    )
    assert set(rows) == {
        f"{P1}:birth_date",
        f"{P1}:division_code",
        f"{P1}:name",
        f"{P2}:name",
        f"{P5}:name",
    }, "参保地 is not compared with 户籍地; 低保's division is"
    assert rows[f"{P1}:name"]["department_values"] == {
        "public_security": "张三",
        "human_resources": "张三",
        "civil_affairs": "张三",
        "finance": "张叁",
    }
    assert rows[f"{P1}:division_code"]["department_values"] == {
        "public_security": "520102",
        "civil_affairs": "520103",
    }
    assert rows[f"{P1}:name"]["evidence"]["finance"]["batch_id"] == batch(FI, LOGICAL_DATE)
    assert rows[f"{P1}:birth_date"]["department_values"] == {
        "public_security": "1990-01-01",
        "human_resources": "1990-01-02",
    }
    assert rows[f"{P2}:name"]["adopted_value"] == "李四"
    assert rows[f"{P2}:name"]["adopted_from"] == "public_security"
    assert rows[f"{P2}:name"]["evidence"]["public_security"]["batch_id"] == batch(PS, LOGICAL_DATE)


def test_delivered_divisions_are_checked_against_the_seed(built, warehouse):
    """A renamed township and a township left out of 自然资源厅's delivery are reported, with a message,
    and the build's has_no_rows test fails on them (severity warn: it informs, GX gates)."""
    audit, results = built
    rows = fetch(warehouse, f"select * from {audit}.division_discrepancies")
    assert set(rows) == {f"{RENAMED_TOWNSHIP}:name", f"{MISSING_TOWNSHIP}:not_delivered"}
    renamed = rows[f"{RENAMED_TOWNSHIP}:name"]
    assert (renamed["delivered_value"], renamed["_batch_id"]) == ("改名街道", batch(NR, LOGICAL_DATE))
    assert "seeds/divisions.csv" in renamed["message"] and RENAMED_TOWNSHIP in renamed["message"]
    check = [
        n for n in results[1].nodes if n.unique_id.startswith("test.govlake.has_no_rows_division_discrep")
    ]
    assert [(n.status, n.failures) for n in check] == [("warn", 2)]


def test_spatial_libraries(built, warehouse):
    audit, _ = built
    counts = dict(
        warehouse.execute(
            f"select division_level, count(*) from {audit}.administrative_divisions group by 1"
        ).fetchall()
    )
    assert counts == {"province": 1, "prefecture": 9, "county": 88, "township": 1510}
    bijie = warehouse.execute(
        f"select count(*), min(prefecture_name) from {audit}.counties where prefecture_code = '520500'"
    ).fetchone()
    assert bijie == (8, "毕节市")


def test_themes_count_the_test_persons(built, warehouse):
    audit, _ = built
    row = warehouse.execute(
        f"select living_persons, households from {audit}.population_development where county_code = '520102'"
    ).fetchone()
    assert row == (2, 1), "P1 and P2 live in 520102 in one household (P3 is quarantined)"
    coverage = dict(
        warehouse.execute(
            f"select insurance_type, insured_persons from {audit}.insurance_coverage"
            f" where county_code = '520102' and insured_persons > 0"
        ).fetchall()
    )
    assert coverage == {"工伤保险": 1, "养老保险": 1, "医疗保险": 1}


def test_incremental_rerun_keeps_one_version_per_person(built, warehouse):
    audit, _ = built
    dupes = warehouse.execute(
        f"select count(*) - count(distinct resident_id) from {audit}.int_persons_versioned"
    ).fetchone()[0]
    assert dupes == 0


def test_legal_entities(built, warehouse):
    audit, _ = built
    entities = fetch(
        warehouse, f"select * from {audit}.legal_entities where credit_code = any(%s)", ([C1, C2],)
    )
    assert entities[C1]["legal_rep_in_population"] is True
    assert entities[C1]["insured_employees"] == 2
    assert entities[C2]["legal_rep_in_population"] is False
    assert entities[C2]["insured_employees"] == 1
    assert entities[C2]["entity_name"] == "乙商店", "the newest logical date wins"
    assert entities[C1]["prefecture_code"] == "520100"
    assert entities[C1]["built_for_date"] == date(1999, 1, 1)


def test_history_snapshot_is_stamped_with_the_logical_date_and_idempotent(built, warehouse, settings):
    audit, _ = built
    history = audit.replace("audit", "history")
    for _ in range(2):  # a re-run of the same date adds no version
        result = snapshot_history(LOGICAL_DATE, settings, schema_prefix=audit[: -len("audit")])
        assert result.success, result.summary()
    rows = warehouse.execute(
        f"select count(*), count(distinct resident_id), min(dbt_valid_from), max(dbt_valid_from)"
        f" from {history}.population_history where resident_id = any(%s)",
        ([P1, P2, P5],),
    ).fetchone()
    assert rows == (3, 3, datetime(1999, 1, 1), datetime(1999, 1, 1))


def test_docs_site_is_uploaded_to_the_private_exchange_bucket(built, settings, tmp_path):
    from govlake.lake import s3_client
    from govlake.transform import DOCS_PREFIX, upload_docs

    for name, body in (("index.html", "<html></html>"), ("manifest.json", "{}"), ("catalog.json", "{}")):
        (tmp_path / name).write_text(body, encoding="utf-8")
    published = upload_docs(tmp_path, settings)
    assert published.uris[0] == f"s3://exchange/{DOCS_PREFIX}index.html"
    client = s3_client(settings)
    assert client.get_object("exchange", DOCS_PREFIX + "manifest.json").read() == b"{}"
    with pytest.raises(FileNotFoundError, match="catalog.json"):
        (tmp_path / "catalog.json").unlink()
        upload_docs(tmp_path, settings)


def test_history_rerun_of_a_date_replaces_its_versions_and_an_earlier_date_leaves_it(
    built, warehouse, settings
):
    audit, _ = built
    history = audit.replace("audit", "history")
    prefix = audit[: -len("audit")]
    assert snapshot_history(LOGICAL_DATE, settings, schema_prefix=prefix).success
    name = warehouse.execute(f"select name from {audit}.population where resident_id = %s", (P1,)).fetchone()[
        0
    ]
    warehouse.execute(f"update {audit}.population set name = '更正后姓名' where resident_id = %s", (P1,))
    try:
        # a corrected re-delivery re-runs the date: the day's version is replaced, not doubled
        result = snapshot_history(LOGICAL_DATE, settings, schema_prefix=prefix)
        assert result.success, result.summary()
        versions = warehouse.execute(
            f"select name, dbt_valid_from, dbt_valid_to from {history}.population_history where resident_id = %s",
            (P1,),
        ).fetchall()
        assert versions == [("更正后姓名", datetime(1999, 1, 1), None)]
        # an earlier date does not rewrite history, and says so
        skipped = snapshot_history("1998-12-31", settings, schema_prefix=prefix)
        assert skipped.success and "later than 1998-12-31" in " ".join(skipped.output_tail)
        assert (
            warehouse.execute(
                f"select count(*) from {history}.population_history where resident_id = %s", (P1,)
            ).fetchone()[0]
            == 1
        )
    finally:
        warehouse.execute(f"update {audit}.population set name = %s where resident_id = %s", (name, P1))
        assert snapshot_history(LOGICAL_DATE, settings, schema_prefix=prefix).success
