"""Publishing swaps audit into base atomically; a blocked publication changes nothing."""

from __future__ import annotations

import datetime as dt
import json
import threading

import psycopg
import pytest
from psycopg import sql
from support.synthetic_libraries import AUDIT, BASE, SHARE, Person, create_legal_entities, create_population

from govlake.publish.swap import PublishError, publish_libraries
from govlake.settings import Settings
from govlake.warehouse import connect

pytestmark = pytest.mark.integration

D1, D2 = dt.date(2024, 3, 1), dt.date(2024, 3, 2)
SCHEMAS = {"audit_schema": AUDIT, "base_schema": BASE, "share_schema": SHARE}


def people(n: int) -> list[Person]:
    return [Person("张三", "男", dt.date(1990, 1, 1), "520102", seq=i) for i in range(n)]


def build(conn: psycopg.Connection, date: dt.date, n: int) -> None:
    create_population(conn, AUDIT, date, people(n))
    create_legal_entities(conn, AUDIT, date)


def base_state(conn: psycopg.Connection) -> tuple[int, dt.date]:
    query = sql.SQL("select count(*), max(built_for_date) from {}").format(sql.Identifier(BASE, "population"))
    return conn.execute(query).fetchone()


def publication(conn: psycopg.Connection, date: dt.date, target: str) -> tuple[str, int, dict] | None:
    return conn.execute(
        "select status, rows, details from platform.publications where logical_date = %s and target = %s",
        (date, target),
    ).fetchone()


def test_publish_moves_audit_into_base_and_records_it(scratch: Settings, pg: psycopg.Connection) -> None:
    build(pg, D1, 5)
    pubs = publish_libraries(D1, True, settings=scratch, **SCHEMAS)

    assert base_state(pg) == (5, D1)
    assert pg.execute("select to_regclass('pub_test_audit.population')").fetchone()[0] is None
    assert {(p.target, p.zone, p.status) for p in pubs} >= {
        ("pub_test_base.population", "base", "published"),
        ("pub_test_share.population", "share", "published"),
        ("pub_test_base.legal_entities", "base", "published"),
    }
    assert publication(pg, D1, "pub_test_base.population")[:2] == ("published", 5)
    assert (
        json.loads(json.dumps([p.as_dict() for p in pubs]))[0]["logical_date"] == "2024-03-01"
    )  # XCom-ready


def test_republishing_the_same_date_is_idempotent(scratch: Settings, pg: psycopg.Connection) -> None:
    build(pg, D1, 5)
    publish_libraries(D1, True, settings=scratch, **SCHEMAS)
    again = publish_libraries(D1, True, settings=scratch, **SCHEMAS)

    assert base_state(pg) == (5, D1)
    assert all(p.status == "published" and p.rows in (5, 3) for p in again)
    count = pg.execute(
        "select count(*) from platform.publications where logical_date = %s and target like 'pub\\_test\\_%%'",
        (D1,),
    ).fetchone()[0]
    assert count == 4  # base + share for each of the two libraries, not duplicated


def test_blocked_publication_leaves_the_previous_version_untouched(
    scratch: Settings, pg: psycopg.Connection
) -> None:
    build(pg, D1, 5)
    publish_libraries(D1, True, settings=scratch, **SCHEMAS)
    build(pg, D2, 7)

    pubs = publish_libraries(
        D2, False, settings=scratch, reason="population.resident_id_check_digit failed", **SCHEMAS
    )

    assert base_state(pg) == (5, D1)
    assert pg.execute("select count(*) from pub_test_audit.population").fetchone()[0] == 7  # held in audit
    assert pg.execute("select count(*) from pub_test_share.population").fetchone()[0] == 5
    assert {p.status for p in pubs} == {"blocked"}
    status, rows, details = publication(pg, D2, "pub_test_base.population")
    assert (status, rows) == ("blocked", 7)
    assert details["reason"] == "population.resident_id_check_digit failed"


def test_publishing_without_a_build_for_the_date_fails_and_changes_nothing(
    scratch: Settings, pg: psycopg.Connection
) -> None:
    build(pg, D1, 5)
    publish_libraries(D1, True, settings=scratch, **SCHEMAS)
    with pytest.raises(PublishError, match="run build__libraries"):
        publish_libraries(D2, True, settings=scratch, **SCHEMAS)
    assert base_state(pg) == (5, D1)


def test_concurrent_readers_never_see_a_missing_table(scratch: Settings, pg: psycopg.Connection) -> None:
    """Readers of base and share run in a loop while the libraries are swapped again and again."""
    build(pg, D1, 5)
    publish_libraries(D1, True, settings=scratch, **SCHEMAS)
    seen: set[int] = set()
    failures: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        with connect(scratch, autocommit=True) as conn:
            while not stop.is_set():
                try:
                    for table in (f"{BASE}.population", f"{SHARE}.population"):
                        seen.add(conn.execute(f"select count(*) from {table}").fetchone()[0])
                except psycopg.Error as exc:
                    failures.append(exc)
                    return

    readers = [threading.Thread(target=read) for _ in range(3)]
    for t in readers:
        t.start()
    try:
        for i in range(8):
            date = D1 + dt.timedelta(days=i + 1)
            build(pg, date, 6 + i % 2)
            publish_libraries(date, True, settings=scratch, **SCHEMAS)
    finally:
        stop.set()
        for t in readers:
            t.join(timeout=30)

    assert failures == []
    assert seen <= {5, 6, 7} and seen & {6, 7}


def record_build(conn: psycopg.Connection, schema: str, table: str, date: dt.date) -> None:
    """Mark a table as built incrementally for ``date``, as dbt's record_table_build() post-hook does."""
    conn.execute(
        "insert into platform.table_builds (relation_oid, relation_name, built_for_date, built_at)"
        " values (to_regclass(%s)::oid, %s, %s, now()) on conflict (relation_oid) do update"
        " set built_for_date = excluded.built_for_date, published_at = null",
        (f"{schema}.{table}", f"{schema}.{table}", date),
    )


def test_an_incrementally_built_library_is_exchanged_with_base_not_dropped(
    scratch: Settings, pg: psycopg.Connection
) -> None:
    """The version an incremental library replaces goes back into audit for the next build to update; the
    build date comes from platform.table_builds (its rows are of several builds); re-publishing is a no-op."""
    build(pg, D1, 5)
    record_build(pg, AUDIT, "population", D1)
    publish_libraries(D1, True, settings=scratch, **SCHEMAS)
    create_population(pg, AUDIT, D1, people(7))  # rows of an earlier build keep their own built_for_date
    record_build(pg, AUDIT, "population", D2)
    create_legal_entities(pg, AUDIT, D2)
    new_oid = pg.execute("select to_regclass('pub_test_audit.population')::oid").fetchone()[0]

    pubs = publish_libraries(D2, True, settings=scratch, **SCHEMAS)

    assert pg.execute("select to_regclass('pub_test_base.population')::oid").fetchone()[0] == new_oid
    assert pg.execute("select count(*) from pub_test_base.population").fetchone()[0] == 7
    assert pg.execute("select count(*) from pub_test_audit.population").fetchone()[0] == 5  # the D1 version
    assert pg.execute("select count(*) from pub_test_share.population").fetchone()[0] == 7
    assert publication(pg, D2, "pub_test_base.population")[:2] == ("published", 7)
    assert [p.rows for p in pubs if p.target == "pub_test_base.population"] == [7]
    indexes = pg.execute(
        "select count(*) from pg_indexes where schemaname in ('pub_test_audit', 'pub_test_base')"
        " and tablename = 'population'"
    ).fetchone()[0]
    assert indexes == 2  # each version keeps its primary key, under a name of its own

    again = publish_libraries(D2, True, settings=scratch, **SCHEMAS)  # audit holds D1's: nothing to move
    assert pg.execute("select to_regclass('pub_test_base.population')::oid").fetchone()[0] == new_oid
    assert [p.rows for p in again if p.target == "pub_test_base.population"] == [7]
    with pytest.raises(PublishError, match="run build__libraries"):
        publish_libraries(D2 + dt.timedelta(days=1), True, settings=scratch, **SCHEMAS)


def test_an_exchange_refuses_objects_that_would_follow_base_into_audit(
    scratch: Settings, pg: psycopg.Connection
) -> None:
    build(pg, D1, 5)
    record_build(pg, AUDIT, "population", D1)
    publish_libraries(D1, True, settings=scratch, **SCHEMAS)
    pg.execute("create view pub_test_base.adults as select * from pub_test_base.population")
    build(pg, D2, 6)
    record_build(pg, AUDIT, "population", D2)

    with pytest.raises(PublishError, match="pub_test_base.adults"):
        publish_libraries(D2, True, settings=scratch, **SCHEMAS)
    assert base_state(pg) == (5, D1)


def test_a_new_build_of_an_earlier_date_is_published_over_a_later_one(
    scratch: Settings, pg: psycopg.Connection
) -> None:
    """A re-run of an earlier date rebuilds its libraries; that build is published even though base holds a
    later date (while audit holding the version published before is refused)."""
    for date, n in ((D1, 5), (D2, 6)):
        build(pg, date, n)
        record_build(pg, AUDIT, "population", date)
        publish_libraries(date, True, settings=scratch, **SCHEMAS)
    build(pg, D1, 7)  # rebuilt from scratch for D1: a new table with a fresh record
    record_build(pg, AUDIT, "population", D1)

    publish_libraries(D1, True, settings=scratch, **SCHEMAS)

    assert pg.execute("select count(*) from pub_test_base.population").fetchone()[0] == 7
    # the later version is dropped, not exchanged back: a build never starts from a later state; audit
    # gets a copy of the D1 build just published instead
    assert pg.execute("select count(*) from pub_test_audit.population").fetchone()[0] == 7
    assert audit_record(pg)[0] == D1


def audit_record(conn: psycopg.Connection) -> tuple[dt.date, dt.datetime, bool]:
    return conn.execute(
        "select built_for_date, built_at, published_at is not null from platform.table_builds"
        " where relation_oid = to_regclass('pub_test_audit.population')::oid"
    ).fetchone()


def test_the_first_publication_of_an_incremental_library_leaves_a_copy_for_the_next_build(
    scratch: Settings, pg: psycopg.Connection
) -> None:
    """With no earlier version to exchange back, the first publication moves the build into base; audit
    gets a copy of it — keys, indexes, statistics and a build record marked published, the state an
    exchange leaves — so the next day's build updates what changed instead of rebuilding everyone."""
    build(pg, D1, 5)
    pg.execute("create index on pub_test_audit.population (division_code) where status = '正常'")
    record_build(pg, AUDIT, "population", D1)
    built_at = pg.execute(
        "select built_at from platform.table_builds where relation_oid = to_regclass('pub_test_audit.population')"
    ).fetchone()[0]
    moved_oid = pg.execute("select to_regclass('pub_test_audit.population')::oid").fetchone()[0]

    publish_libraries(D1, True, settings=scratch, **SCHEMAS)

    assert pg.execute("select to_regclass('pub_test_base.population')::oid").fetchone()[0] == moved_oid
    rows = "select * from {} order by resident_id"
    assert (
        pg.execute(rows.format("pub_test_audit.population")).fetchall()
        == pg.execute(rows.format("pub_test_base.population")).fetchall()
    )
    assert audit_record(pg) == (D1, built_at, True)
    indexes = pg.execute(
        "select schemaname, regexp_replace(indexdef, ' INDEX \\S+ ON \\S+', ' INDEX ON') from pg_indexes"
        " where schemaname in ('pub_test_audit', 'pub_test_base') and tablename = 'population'"
    ).fetchall()
    by_schema = {
        s: sorted(d for schema, d in indexes if schema == s) for s in ("pub_test_audit", "pub_test_base")
    }
    assert len(by_schema["pub_test_audit"]) == 2 and by_schema["pub_test_audit"] == by_schema["pub_test_base"]
    assert pg.execute(
        "select contype from pg_constraint where conrelid = 'pub_test_audit.population'::regclass"
    ).fetchall() == [("p",)]
    analysed = pg.execute("select reltuples from pg_class where oid = 'pub_test_audit.population'::regclass")
    assert analysed.fetchone()[0] == 5

    # a re-run of the publication copies nothing again; a copy lost before it is made again
    audit_oid = pg.execute("select to_regclass('pub_test_audit.population')::oid").fetchone()[0]
    publish_libraries(D1, True, settings=scratch, **SCHEMAS)
    assert pg.execute("select to_regclass('pub_test_audit.population')::oid").fetchone()[0] == audit_oid
    pg.execute("drop table pub_test_audit.population")
    publish_libraries(D1, True, settings=scratch, **SCHEMAS)
    assert pg.execute("select count(*) from pub_test_audit.population").fetchone()[0] == 5
    assert audit_record(pg) == (D1, built_at, True)

    # the next build of the copy is the one published: the copy goes back into audit as an exchange's would
    create_legal_entities(pg, AUDIT, D2)
    pg.execute(
        "update pub_test_audit.population set name = '李四'"
        " where resident_id = (select min(resident_id) from pub_test_audit.population)"
    )
    record_build(pg, AUDIT, "population", D2)
    built_oid = pg.execute("select to_regclass('pub_test_audit.population')::oid").fetchone()[0]
    publish_libraries(D2, True, settings=scratch, **SCHEMAS)
    assert pg.execute("select to_regclass('pub_test_base.population')::oid").fetchone()[0] == built_oid
    assert pg.execute("select to_regclass('pub_test_audit.population')::oid").fetchone()[0] == moved_oid
