"""Scratch libraries and test-only open datasets (``zz-*``), removed afterwards.

Other engineers share the dev stack, so these tests never touch ``base`` or the real open datasets: they
build small libraries into ``od_test_*`` schemas and publish copies of the real definitions renamed
``zz-<name>`` from there. Everything ``zz-*`` (S3 prefixes, platform rows, ``open.zz_*`` tables) and
the scratch schemas are dropped after.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
from pathlib import Path

import psycopg
from psycopg import sql
from stdnum import luhn
from stdnum.iso7064 import mod_11_2

from govlake.lake import s3_client
from govlake.opendata.definitions import OpenDataset, load_open_registry
from govlake.settings import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BASE, REFERENCE = "od_test_base", "od_test_reference"
PREFIX = "zz-"
DATE = dt.date(1999, 1, 1)
POPULATION, ENTITIES, RECORDS = (
    "population-by-county-gender-age",
    "legal-entities-by-county-industry-status-year",
    "market-entities-deidentified",
)


def resident_id(region: str, birth: dt.date, seq: int) -> str:
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + mod_11_2.calc_check_digit(body)


def bank_card(prefix: str = "622202000000000") -> str:
    """A 16-digit number with a valid Luhn check digit, as a UnionPay debit card has."""
    return prefix + luhn.calc_check_digit(prefix)


VALID_ID = resident_id("520102", dt.date(1990, 1, 1), 7)
MOBILE = "13812345678"
CARD = bank_card()


def definition(name: str, **changes) -> OpenDataset:
    """A real definition from open_datasets.yaml, renamed zz-* and reading the scratch library schema."""
    ds = load_open_registry().get(name)
    return dataclasses.replace(ds, name=PREFIX + name, schema=BASE, **changes)


def _table(conn: psycopg.Connection, name: str, columns: str) -> sql.Identifier:
    table = sql.Identifier(BASE, name)
    conn.execute(sql.SQL("drop table if exists {}").format(table))
    conn.execute(sql.SQL("create table {} ({})").format(table, sql.SQL(columns)))
    return table


def create_population(conn: psycopg.Connection) -> None:
    """12 living men aged 34 in 南明区 (published), 3 women over 65 in 云岩区 (below k), 4 dead (not counted)."""
    table = _table(
        conn,
        "population",
        "resident_id text primary key, name text, gender text, birth_date date, division_code text, status text",
    )
    people = [("男", dt.date(1964, 6, 1), "520102", "正常")] * 12
    people += [("女", dt.date(1925, 7, 1), "520103", "正常")] * 3
    people += [("男", dt.date(1964, 2, 1), "520102", "死亡")] * 4
    with conn.cursor() as cur, cur.copy(sql.SQL("copy {} from stdin").format(table)) as copy:
        for i, (gender, birth, division, status) in enumerate(people):
            copy.write_row((resident_id(division, birth, i), "张三", gender, birth, division, status))


def create_legal_entities(conn: psycopg.Connection, extra_name: str | None = None) -> None:
    """12 companies in 南明区 and 6 individual businesses in 云岩区 (groups >= 5), one outlier in 盘州市.

    ``extra_name`` replaces one company's name (to smuggle an identifier through a kept column)."""
    table = _table(
        conn,
        "legal_entities",
        "credit_code text primary key, entity_name text, entity_type text, legal_rep_name text, "
        "legal_rep_id text, industry_code text, registered_capital numeric, established_date date, "
        "division_code text, address text, status text",
    )
    rows = [
        (
            f"91520102MA6DT{i:05d}",
            f"贵州测试科技有限公司{i}",
            "有限责任公司",
            "I",
            100.5,
            dt.date(1995, 3, 1 + i),
            "520102",
        )
        for i in range(12)
    ]
    rows += [
        (
            f"92520103MA6GT{i:05d}",
            f"云岩区王记小吃店{i}",
            "个体工商户",
            "H",
            1,
            dt.date(1996, 5, 1 + i),
            "520103",
        )
        for i in range(6)
    ]
    rows += [
        ("91520281MA6XX00001", "盘州某股份有限公司", "股份有限公司", "B", 6000, dt.date(1990, 1, 1), "520281")
    ]
    if extra_name:
        rows[0] = (rows[0][0], extra_name, *rows[0][2:])
    with conn.cursor() as cur, cur.copy(sql.SQL("copy {} from stdin").format(table)) as copy:
        for n, (code, name, kind, industry, capital, established, division) in enumerate(rows):
            rep_id = resident_id("520103", dt.date(1980, 5, 6), n)
            copy.write_row(
                (
                    code,
                    name,
                    kind,
                    "李四",
                    rep_id,
                    industry,
                    capital,
                    established,
                    division,
                    "贵阳市某路1号",
                    "存续",
                )
            )


def load_divisions(conn: psycopg.Connection) -> None:
    table = sql.Identifier(REFERENCE, "divisions")
    conn.execute(
        sql.SQL("create table {} (code text primary key, name text, level text, parent_code text)").format(
            table
        )
    )
    with (
        (FIXTURES / "guizhou_divisions.csv").open(encoding="utf-8") as fh,
        conn.cursor() as cur,
        cur.copy(sql.SQL("copy {} from stdin").format(table)) as copy,
    ):
        for row in csv.DictReader(fh):
            copy.write_row((row["code"], row["name"], row["level"], row["parent_code"] or None))


def create_scratch(conn: psycopg.Connection) -> None:
    drop_scratch(conn, None)
    for schema in (BASE, REFERENCE):
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(schema)))
    load_divisions(conn)
    create_population(conn)
    create_legal_entities(conn)


def drop_scratch(conn: psycopg.Connection, settings: Settings | None) -> None:
    """Every trace of zz-* open datasets and the scratch schemas."""
    for schema in (BASE, REFERENCE):
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
    like = PREFIX.replace("-", "\\-") + "%"
    for table in ("open_usage", "open_resources", "open_releases", "open_datasets"):
        column = "name" if table == "open_datasets" else "dataset"
        conn.execute(
            sql.SQL("delete from platform.{} where {} like %s").format(
                sql.Identifier(table), sql.Identifier(column)
            ),
            (like,),
        )
    conn.execute("delete from platform.open_apps where name like 'zz %%'")
    conn.execute("delete from platform.publications where target like %s", (f"s3://open/{PREFIX}%",))
    for name, kind in conn.execute(
        "select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = 'open' and c.relname like 'zz\\_%%' and c.relkind in ('r', 'v') order by c.relkind desc"
    ).fetchall():
        what = "view" if kind == "v" else "table"
        conn.execute(
            sql.SQL("drop {} if exists {} cascade").format(sql.SQL(what), sql.Identifier("open", name))
        )
    if settings is not None:
        client = s3_client(settings)
        for obj in client.list_objects("open", prefix=PREFIX, recursive=True):
            client.remove_object("open", obj.object_name)
