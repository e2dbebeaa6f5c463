"""The masked share layer: masking patterns, and no department role reading share.* directly."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from psycopg import sql
from support.synthetic_libraries import (
    AUDIT,
    BASE,
    CONSUMER,
    SHARE,
    Person,
    create_legal_entities,
    create_population,
)

from govlake.policy.masking import Classification, classify_library, load_masking_policy, mask_expression
from govlake.publish.swap import publish_libraries
from govlake.registry import load_departments
from govlake.settings import Settings
from govlake.warehouse.department_roles import DATA_OFFICE, department_of, ensure_department_role, role_name

DATE = dt.date(2024, 3, 1)


def test_policy_masks_direct_identifiers_and_keeps_what_departments_match_on() -> None:
    policy = load_masking_policy()
    population = classify_library(policy, "population")
    patterns = {name: policy.pattern_for(name, cls) for name, cls in population.items()}
    assert patterns["resident_id"] == "resident_id"
    assert patterns["name"] == "name"
    assert patterns["address"] == "address_to_county"
    assert patterns["household_id"] == "redact"
    assert patterns["gender"] == patterns["division_code"] == patterns["status"] == "keep"
    entities = classify_library(policy, "legal_entities")
    assert policy.pattern_for("legal_rep_id", entities["legal_rep_id"]) == "resident_id"
    # A company's registered address is not personal information: shared in clear.
    assert policy.pattern_for("address", entities["address"]) == "keep"
    # Unknown flags fail closed.
    assert policy.pattern_for("anything", Classification("一般", "direct")) == "redact"


@pytest.mark.integration
@pytest.mark.parametrize(
    ("pattern", "value", "masked"),
    [
        ("resident_id", "520102199001011234", "520102********1234"),
        ("name", "张三", "张*"),
        ("name", "欧阳娜娜", "欧***"),
        ("phone", "13812345678", "138****5678"),
        ("redact", "520102000123", "********"),
        ("address_to_county", "贵州省贵阳市南明区花果园街道8号", "贵州省贵阳市南明区****"),
        ("address_to_county", "六盘水市六枝特区平寨镇9号", "六盘水市六枝特区****"),
        (
            "address_to_county",
            "贵州省黔西南布依族苗族自治州兴义市桔山街道1号",
            "贵州省黔西南布依族苗族自治州兴义市****",
        ),
        ("address_to_county", "遵义市赤水市市中街道2号", "遵义市赤水市****"),
        ("address_to_county", "毕节市威宁彝族回族苗族自治县草海镇3号", "毕节市威宁彝族回族苗族自治县****"),
        ("address_to_county", "花果园街道8号", "****"),
    ],
)
def test_masking_patterns_in_sql(pg: psycopg.Connection, pattern: str, value: str, masked: str) -> None:
    expr = mask_expression("v", "text", pattern, load_masking_policy())
    query = sql.SQL("select {} from (values (%s::text)) t(v)").format(expr)
    assert pg.execute(query, (value,)).fetchone()[0] == masked


@pytest.mark.integration
def test_share_views_are_masked_and_no_department_reads_them(
    scratch: Settings, pg: psycopg.Connection
) -> None:
    """share.* is the masked layer under the exchange: masked values, but no grant to any department.

    Departments read libraries through exchange.<library> only (tests/sharing), which applies the
    per-item sharing types; a blanket grant here would hand every department the conditional items.
    """
    person = Person("张三", "男", dt.date(1990, 1, 1), "520102", seq=123)
    create_population(pg, AUDIT, DATE, [person])
    create_legal_entities(pg, AUDIT, DATE, rows=1)
    # The legacy group a publish must retire (it may survive from a stack older than this code).
    pg.execute(
        "do $$ begin if not exists (select from pg_roles where rolname = 'govlake_consumers') then "
        "create role govlake_consumers nologin; end if; end $$"
    )
    pg.execute(f"grant usage on schema {AUDIT} to govlake_consumers")
    password = ensure_department_role(pg, department_of(CONSUMER), scratch)  # a department, as any other
    publish_libraries(DATE, True, settings=scratch, audit_schema=AUDIT, base_schema=BASE, share_schema=SHARE)

    row = pg.execute(
        f"select resident_id, name, address, household_id, gender, birth_date from {SHARE}.population"
    ).fetchone()
    rid = person.resident_id
    assert row == (
        rid[:6] + "********" + rid[-4:],
        "张*",
        "贵州省贵阳市南明区****",
        "********",
        "男",
        person.birth_date,
    )
    rep_name, rep_id, address = pg.execute(
        f"select legal_rep_name, legal_rep_id, address from {SHARE}.legal_entities"
    ).fetchone()
    assert (rep_name, rep_id[6:14], address) == ("李*", "********", "贵州省贵阳市南明区遵义路1号")

    url = scratch.pg_url(user=CONSUMER, password=password)
    with psycopg.connect(url, autocommit=True) as consumer:
        for forbidden in (
            f"{SHARE}.population",
            f"{SHARE}.legal_entities",
            f"{BASE}.population",
            f"{AUDIT}.legal_entities",
            "platform.batches",
            "base.population",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                consumer.execute(f"select 1 from {forbidden} limit 1")

    privileges = pg.execute(
        """
        select s, has_schema_privilege(%s, s, 'USAGE') or has_schema_privilege('public', s, 'USAGE')
        from unnest(array['pub_test_share', 'pub_test_base', 'base', 'audit', 'raw', 'share']) s
        where s in (select nspname from pg_namespace)
        """,
        (CONSUMER,),
    ).fetchall()
    assert privileges and not any(usage for _, usage in privileges), privileges
    login, department = pg.execute(
        "select rolcanlogin, pg_has_role(%s, 'govlake_departments', 'member') from pg_roles where rolname = %s",
        (CONSUMER, CONSUMER),
    ).fetchone()
    assert login and department
    # publishing gives every registry department (and the data office) a login of its own
    registry_roles = {role_name(d.code) for d in load_departments()} | {role_name(DATA_OFFICE)}
    logins = {
        r
        for (r,) in pg.execute(
            "select rolname from pg_roles where rolcanlogin and rolname = any(%s)", (list(registry_roles),)
        )
    }
    assert logins == registry_roles
    assert pg.execute("select count(*) from pg_roles where rolname = 'govlake_consumers'").fetchone()[0] == 0
    assert pg.execute(
        "select 'security_barrier=true' = any(reloptions) from pg_class where oid = 'pub_test_share.population'::regclass"
    ).fetchone()[0]
