"""Synthetic libraries with exactly the ARCHITECTURE.md columns, built into scratch schemas.

Other engineers share the dev database, so the publish tests never touch ``audit``/``base``/``share``:
they build libraries into ``pub_test_*`` schemas and publish between those.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import psycopg
from psycopg import sql
from stdnum.iso7064 import mod_11_2

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
AUDIT, BASE, SHARE, REFERENCE = "pub_test_audit", "pub_test_base", "pub_test_share", "pub_test_reference"
CONSUMER = "dept_pub_test_consumer"  # a department role: publish provisions the demo consumer as one

POPULATION_COLUMNS = """
    resident_id text primary key, name text, gender text, birth_date date, ethnicity text, division_code text,
    prefecture_code text, address text, household_id text, status text, death_date date,
    in_household_registry boolean, insurance_types text[], source_departments text[], conflict_fields text[],
    updated_at timestamptz, built_for_date date
"""
LEGAL_ENTITIES_COLUMNS = """
    credit_code text primary key, entity_name text, entity_type text, legal_rep_name text, legal_rep_id text,
    legal_rep_in_population boolean, industry_code text, registered_capital numeric, established_date date,
    division_code text, prefecture_code text, address text, status text, insured_employees integer,
    built_for_date date
"""


def resident_id(region: str, birth: dt.date, seq: int) -> str:
    """A resident ID with a valid GB 11643 check character."""
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + mod_11_2.calc_check_digit(body)


@dataclasses.dataclass
class Person:
    name: str
    gender: str
    birth_date: dt.date
    division_code: str
    status: str = "正常"
    address: str = "贵州省贵阳市南明区花果园街道8号"
    seq: int = 1

    @property
    def resident_id(self) -> str:
        return resident_id(self.division_code, self.birth_date, self.seq)


def create_population(conn: psycopg.Connection, schema: str, date: dt.date, people: list[Person]) -> None:
    """A population library as dbt would build it, in ``schema`` (replacing any earlier one)."""
    table = sql.Identifier(schema, "population")
    conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
    conn.execute(sql.SQL("drop table if exists {}").format(table))
    conn.execute(sql.SQL("create table {} ({})").format(table, sql.SQL(POPULATION_COLUMNS)))
    with conn.cursor() as cur, cur.copy(sql.SQL("copy {} from stdin").format(table)) as copy:
        for i, p in enumerate(people):
            copy.write_row(
                (
                    p.resident_id,
                    p.name,
                    p.gender,
                    p.birth_date,
                    "汉族",
                    p.division_code,
                    p.division_code[:4] + "00",
                    p.address,
                    f"52010200{i:04d}",
                    p.status,
                    date if p.status == "死亡" else None,
                    True,
                    ["职工基本养老保险"],
                    ["public_security", "human_resources"],
                    [],
                    dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
                    date,
                )
            )


def create_legal_entities(conn: psycopg.Connection, schema: str, date: dt.date, rows: int = 3) -> None:
    table = sql.Identifier(schema, "legal_entities")
    conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
    conn.execute(sql.SQL("drop table if exists {}").format(table))
    conn.execute(sql.SQL("create table {} ({})").format(table, sql.SQL(LEGAL_ENTITIES_COLUMNS)))
    for i in range(rows):
        conn.execute(
            sql.SQL(
                "insert into {} values (%s, %s, '有限责任公司', '李四', %s, true, 'I', 100.5, '2020-01-01',"
                " '520102', '520100', '贵州省贵阳市南明区遵义路1号', '存续', 12, %s)"
            ).format(table),
            (
                f"91520102MA6DT{i:05d}",
                f"贵州测试科技有限公司{i}",
                resident_id("520103", dt.date(1980, 5, 6), i),
                date,
            ),
        )
