"""The ``*_unique_in_batch`` rules: one window pass, the same failing rows and messages as the self-join.

Until this change each suite spelled the rule as a window over the batch joined back to the batch on
(``_source_file``, ``_source_row``). ``self_join_query`` below is that text, kept as the oracle: on
batches full of duplicates the macro ``later_duplicates_in_batch`` must fail exactly the rows it failed,
with the same message and the same stored record.
"""

from __future__ import annotations

import json
import re
import time
from datetime import date

import psycopg
import pytest
from psycopg import sql

from govlake.quality.sql import later_duplicates_in_batch
from govlake.quality.suites import expectations_dir, load_suites, render_query

pytestmark = pytest.mark.integration

DAY = date(1999, 1, 3)
OTHER_DAY = date(1999, 1, 4)
_MACRO_CALL = re.compile(r"^\{\{ later_duplicates_in_batch\('([^']+)', '([^']+)'\) \}\}$")


def self_join_query(keys: str, label: str) -> str:
    """The rule as the suites wrote it before (window, then a self-join on the lineage columns)."""
    columns = [c.strip() for c in keys.split(",")]
    not_null = " and ".join(f"{c} is not null" for c in columns)
    shown = ", ' / ', ".join(f"b.{c}" for c in columns)
    return (
        "with b as (select * from {batch}) , ranked as (select _source_file, _source_row, first_value(_source_row)"
        f" over w as first_row, row_number() over w as n from b where {not_null} window w as (partition by"
        f" {keys} order by _source_file, _source_row)) select b.*, concat('{label} ', {shown},"
        " ' 在本批次中重复 (首次出现在第 ', r.first_row, ' 行)') as _message from b, ranked r where r.n > 1"
        " and r._source_file = b._source_file and r._source_row = b._source_row"
    )


def _unique_rules() -> list[tuple[str, str, str, str]]:
    """(suite, rule, keys, label) of every uniqueness rule, read from the suite files as written."""
    found = []
    for path in sorted(expectations_dir().glob("stg_*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for expectation in doc["expectations"]:
            rule = expectation["meta"]["rule"]
            if rule.endswith("_unique_in_batch"):
                match = _MACRO_CALL.match(expectation["kwargs"]["unexpected_rows_query"])
                assert match, f"{path}: {rule} should call later_duplicates_in_batch(keys, label)"
                found.append((doc["name"], rule, match[1], match[2]))
    return found


def _batch(target: str) -> str:
    return f"(select * from {target} where _logical_date = date '{DAY.isoformat()}') AS subselect"


def _failing(conn: psycopg.Connection, query: str, target: str) -> list[tuple]:
    """What the quarantine stores of each failing row: lineage, message and record."""
    rows = conn.execute(
        f"select q._source_file, q._source_row, q._message, (to_jsonb(q) - '_message')::text"
        f" from ({query.format(batch=_batch(target))}) q"
    ).fetchall()
    return sorted(rows)


def _value(column: str, data_type: str, modulus: int) -> sql.Composable:
    """A key value for row ``g`` that repeats every ``modulus`` rows and is null every 11th row."""
    if data_type == "date":
        expr = f"date '2000-01-01' + (g % {modulus})::int"
    elif data_type in ("integer", "bigint", "smallint", "numeric"):
        expr = f"(g % {modulus})::{data_type}"
    else:
        expr = f"'v' || (g % {modulus})"
    return sql.SQL(f"case when g % 11 = 0 then null else {expr} end")


def _fill(conn: psycopg.Connection, target: str, keys: list[str], rows: int) -> None:
    """``rows`` rows on DAY in two source files, keys drawn so most repeat, plus rows of another date."""
    schema, table = target.split(".")
    types = dict(
        conn.execute(
            "select column_name, data_type from information_schema.columns"
            " where table_schema = %s and table_name = %s",
            (schema, table),
        ).fetchall()
    )
    moduli = (13, 3, 2)
    values = [_value(k, types[k], moduli[i]) for i, k in enumerate(keys)]
    for day, count in ((DAY, rows), (OTHER_DAY, 20)):
        conn.execute(
            sql.SQL(
                "insert into {}.{} ({}, _batch_id, _logical_date, _source_file, _source_row)"
                " select {}, 'b', {}, case when g % 2 = 0 then 'f_a.csv' else 'f_b.csv' end, g"
                " from generate_series(1, {}) g"
            ).format(
                sql.Identifier(schema),
                sql.Identifier(table),
                sql.SQL(", ").join(map(sql.Identifier, keys)),
                sql.SQL(", ").join(values),
                sql.Literal(day),
                sql.Literal(count),
            )
        )


UNIQUE_RULES = _unique_rules()


@pytest.mark.parametrize(
    ("suite_name", "rule_id", "keys", "label"), UNIQUE_RULES, ids=[f"{s}.{r}" for s, r, _, _ in UNIQUE_RULES]
)
def test_window_rule_fails_the_rows_the_self_join_failed(
    scratch_warehouse, suite_name: str, rule_id: str, keys: str, label: str
) -> None:
    suite = load_suites()[suite_name]
    rule = suite.rule(rule_id)
    assert rule.query == later_duplicates_in_batch(keys, label)
    oracle = render_query(self_join_query(keys, label), f"oracle for {suite_name}.{rule_id}")
    _fill(scratch_warehouse, suite.target, [c.strip() for c in keys.split(",")], 400)

    new = _failing(scratch_warehouse, rule.query, suite.target)
    old = _failing(scratch_warehouse, oracle, suite.target)

    assert len(new) > 250, f"{suite_name}: the batch should be mostly duplicates, {len(new)} failed"
    assert new == old
    assert len({(f, r) for f, r, _, _ in new}) == len(new), "a row fails twice"
    assert all(m.startswith(f"{label} ") and "在本批次中重复 (首次出现在第 " in m for _, _, m, _ in new)


HOUSEHOLD = "stg_public_security__household_registrations"
BIG_BATCH = 200_000
HOT_KEY_REPEATS = 5_000


def _fill_household(conn: psycopg.Connection, target: str) -> None:
    """200 000 full-width rows: one resident ID 5 000 times, 1 000 IDs ten times each, the rest unique."""
    conn.execute(
        f"""insert into {target} (resident_id, name, gender, ethnicity, birth_date, division_code, address,
                household_id, relation_to_head, status, updated_at,
                _batch_id, _logical_date, _source_file, _source_row, _ingested_at)
            select case when g <= {HOT_KEY_REPEATS} then '520102199001011234'
                        when g <= {HOT_KEY_REPEATS + 10_000} then '5201021980' || lpad((g % 1000)::text, 8, '0')
                        when g % 997 = 0 then null
                        else '5203' || lpad(g::text, 14, '0') end,
                   '测试' || g, case when g % 2 = 0 then '男' else '女' end, '汉族', date '1980-01-01',
                   '520102', '贵州省贵阳市云岩区中华北路' || g || '号', 'H' || g, '户主', '正常',
                   timestamptz '1999-01-03 12:00+08', 'b', date '{DAY.isoformat()}',
                   's3://landing/public_security/household_registration/1999-01-03/part-' || (g % 4) || '.csv',
                   g, timestamptz '1999-01-04 00:00+08'
              from generate_series(1, {BIG_BATCH}) g"""
    )
    conn.execute(f"analyze {target}")


def _timed(conn: psycopg.Connection, query: str, target: str) -> tuple[float, list[tuple]]:
    started = time.perf_counter()
    rows = _failing(conn, query, target)
    return time.perf_counter() - started, rows


def test_a_key_repeated_thousands_of_times_is_one_window_pass(scratch_warehouse) -> None:
    suite = load_suites()[HOUSEHOLD]
    rule = suite.rule("resident_id_unique_in_batch")
    _fill_household(scratch_warehouse, suite.target)
    oracle = render_query(self_join_query("resident_id", "公民身份号码"), "oracle")

    old_seconds, old = _timed(scratch_warehouse, oracle, suite.target)
    new_seconds, new = _timed(scratch_warehouse, rule.query, suite.target)
    print(
        f"\n{BIG_BATCH:,} rows, one key x {HOT_KEY_REPEATS:,}: self-join {old_seconds:.2f}s,"
        f" window {new_seconds:.2f}s, {len(new):,} failing rows"
    )

    assert len(new) == (HOT_KEY_REPEATS - 1) + 1000 * 9
    assert new == old
    hot = [m for _, r, m, _ in new if r <= HOT_KEY_REPEATS]
    assert hot[0].startswith("公民身份号码 520102199001011234 在本批次中重复 (首次出现在第 ")
    plan = "\n".join(
        r[0]
        for r in scratch_warehouse.execute(
            f"explain select count(*) from ({rule.query.format(batch=_batch(suite.target))}) q"
        ).fetchall()
    )
    # one scan of the batch, no join back to it, no materialised CTE
    assert plan.count("Scan on stg_public_security__household_registrations") == 1, plan
    assert "Join" not in plan and "Nested Loop" not in plan and "CTE Scan" not in plan, plan


def test_macro_refuses_what_it_cannot_quote() -> None:
    with pytest.raises(ValueError, match="column names"):
        later_duplicates_in_batch("resident_id; drop table x", "公民身份号码")
    with pytest.raises(ValueError, match="quotes or braces"):
        later_duplicates_in_batch("resident_id", "公民'身份")
