"""Rows for the quality tests: valid identifiers from python-stdnum, one clean row per dataset, COPY."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import psycopg
from psycopg import sql
from stdnum.cn import ric, uscc

COUNTIES = ("520102", "520103", "520111", "520112", "520302", "522301")


def make_ric(division: str, birth: date, seq: int) -> str:
    body = f"{division}{birth:%Y%m%d}{seq % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def make_uscc(division: str, seq: int) -> str:
    body = f"91{division}{seq % 10**8:08d}A"
    return body + uscc.calc_check_digit(body)


def wrong_check(number: str) -> str:
    """The same number with a check character that is certainly wrong."""
    return number[:-1] + ("0" if number[-1] != "0" else "1")


def insert_rows(conn: psycopg.Connection, target: str, rows: list[dict]) -> None:
    """COPY ``rows`` (dicts with the same keys) into ``target``."""
    columns = list(rows[0])
    schema, table = target.split(".")
    statement = sql.SQL("copy {}.{} ({}) from stdin").format(
        sql.Identifier(schema), sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor().copy(statement) as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def record_loaded_batch(
    conn: psycopg.Connection, department: str, dataset: str, day: date, rows: int
) -> datetime:
    """What ingest's load stage leaves in ``platform.batches``: the date's batch loaded now (a re-delivery
    moves ``finished_at``). Returns ``finished_at``."""
    return conn.execute(
        "insert into platform.batches (batch_id, department, dataset, logical_date, source_kind, source,"
        " rows_extracted, rows_loaded, status, finished_at)"
        " values (%s, %s, %s, %s, 'database', 'test', %s, %s, 'loaded', clock_timestamp())"
        " on conflict (batch_id) do update set rows_extracted = excluded.rows_extracted,"
        " rows_loaded = excluded.rows_loaded, finished_at = clock_timestamp()"
        " returning finished_at",
        (f"{department}__{dataset}__{day.isoformat()}", department, dataset, day, rows, rows),
    ).fetchone()[0]


def lineage(department: str, dataset: str, day: date, row: int) -> dict:
    return {
        "_batch_id": f"{department}__{dataset}__{day.isoformat()}",
        "_logical_date": day,
        "_source_file": f"landing/{department}/{dataset}/{day.isoformat()}/test.csv",
        "_source_row": row,
        "_ingested_at": datetime(1999, 1, 2, tzinfo=UTC),
    }


def person(day: date, row: int, rng: random.Random) -> dict:
    """A clean 公安厅 household-registration row for the batch of ``day``."""
    birth = date(rng.randint(1940, 1998), rng.randint(1, 12), rng.randint(1, 28))
    division = rng.choice(COUNTIES)
    return {
        "resident_id": make_ric(division, birth, row),
        "name": f"测试{row}",
        "gender": rng.choice(("男", "女")),
        "ethnicity": "汉族",
        "birth_date": birth,
        "division_code": division,
        "address": "贵州省贵阳市",
        "household_id": f"H{row:08d}",
        "relation_to_head": "户主",
        "status": "正常",
        "death_date": None,
        "updated_at": datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
        **lineage("public_security", "household_registration", day, row),
    }


def entity(day: date, row: int, rng: random.Random) -> dict:
    """A clean 市场监管局 market-entity row."""
    division = rng.choice(COUNTIES)
    rep_birth = date(rng.randint(1950, 1990), 5, 17)
    return {
        "credit_code": make_uscc(division, row),
        "entity_name": f"贵州测试{row}有限公司",
        "entity_type": "有限责任公司",
        "legal_rep_name": f"法人{row}",
        "legal_rep_id": make_ric(division, rep_birth, row),
        "industry_code": "C",
        "registered_capital": 100,
        "established_date": date(1998, 6, 1),
        "division_code": division,
        "address": "贵州省贵阳市",
        "status": "存续",
        **lineage("market_regulation", "market_entities", day, row),
    }


def enrollment(day: date, row: int, registered: dict) -> dict:
    """A clean 人社厅 enrollment of a person registered by 公安厅."""
    return {
        "enrollment_id": f"E{day:%Y%m%d}{row:06d}",
        "resident_id": registered["resident_id"],
        "name": registered["name"],
        "birth_date": registered["birth_date"],
        "insurance_type": "企业职工基本养老保险",
        "employer_credit_code": None,
        "division_code": registered["division_code"],
        "enrollment_date": date(1998, 1, 1),
        "status": "1",
        "phone": None,
        "updated_at": datetime(day.year, day.month, day.day, 9, tzinfo=UTC),
        **lineage("human_resources", "social_insurance_enrollment", day, row),
    }
