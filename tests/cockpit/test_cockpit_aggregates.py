"""The cockpit on a published cycle: tables built by publish__libraries, figures equal to the libraries,
the back-test computed on the demo province, small counts suppressed, pages fast, safe and closed to
anyone but leaders and the data office."""

from __future__ import annotations

import html
import re
import statistics
import time
from decimal import Decimal

import psycopg
import pytest
import requests

from govlake.cockpit.aggregates import MAP_INDICATORS, TABLES
from govlake.cockpit.answers import answer_crop_vs_corn
from govlake.cockpit.forecast import forecast_next_year
from govlake.cockpit.question_kinds import ask
from govlake.cockpit.question_parser import parse
from govlake.cockpit.vocabulary import BIJIE_CODE, counties_of
from govlake.settings import Settings

pytestmark = pytest.mark.integration

PASSWORD = "cockpit-test-password-1"
PERSON_COLUMNS = {"resident_id", "person_name", "name", "id_number", "payee_name", "birth_date"}


@pytest.fixture
def conn(warehouse: psycopg.Connection, cockpit_day: str) -> psycopg.Connection:
    return warehouse


def _signed_in(stack: Settings, conn: psycopg.Connection, username: str, department: str, role: str):
    from govlake.accounts.people import add_person

    add_person(conn, username, username, department, role, PASSWORD, replace=True)
    session = requests.Session()
    base = stack.web_url.rstrip("/")
    page = session.get(f"{base}/signin", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = session.post(
        f"{base}/signin",
        data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/cockpit"},
        timeout=30,
        allow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    return session, base


@pytest.fixture
def leader(stack: Settings, conn: psycopg.Connection):
    yield _signed_in(stack, conn, "zz_ckp_leader", "data_office", "leader")
    conn.execute("delete from platform.portal_users where username = 'zz_ckp_leader'")


def test_the_cycle_built_every_cockpit_table(conn, cockpit_day):
    build = conn.execute(
        "select logical_date, published_at, k_persons, k_entities from cockpit.builds where logical_date = %s",
        (cockpit_day,),
    ).fetchone()
    assert build is not None and build[1] is not None, "the cockpit names its publication"
    for table in TABLES:
        assert conn.execute(f"select count(*) from cockpit.{table}").fetchone()[0] > 0, table
    levels = dict(
        conn.execute(
            "select level, count(distinct region_code) from cockpit.region_indicators"
            " where indicator = 'registered_population' group by level"
        ).fetchall()
    )
    assert levels == {"province": 1, "prefecture": 9, "county": 88}
    # the rolled-up figures equal the library's
    library = conn.execute("select sum(living_persons) from base.population_development").fetchone()[0]
    province = conn.execute(
        "select value from cockpit.region_indicators where region_code = '520000'"
        " and indicator = 'registered_population'"
    ).fetchone()[0]
    assert province == library
    findings = conn.execute("select count(*) from base.subsidy_audit_findings").fetchone()[0]
    cockpit = conn.execute(
        "select sum(findings) from cockpit.subsidy_findings where region_code = '520000'"
    ).fetchone()[0]
    assert cockpit == findings
    for indicator in MAP_INDICATORS:
        n = conn.execute(
            "select count(*) from cockpit.region_indicators where indicator = %s and level = 'prefecture'",
            (indicator,),
        ).fetchone()[0]
        assert n == 9, indicator


def test_platform_figures_count_the_days_own_open_releases_and_quality(conn, cockpit_day):
    figures = dict(
        conn.execute(
            "select indicator, value from cockpit.region_indicators where region_code = '520000'"
            " and indicator in ('open_datasets', 'quality_score')"
        ).fetchall()
    )
    # publish__open_data refreshes the cockpit after its releases: the count includes the day's datasets
    assert (
        figures["open_datasets"] == conn.execute("select count(*) from platform.open_datasets").fetchone()[0]
    )
    assert (
        conn.execute(
            "select count(*) from platform.open_releases where logical_date = %s", (cockpit_day,)
        ).fetchone()[0]
        > 0
    )
    # a score before the first weekly scorecards: the week so far, marked provisional (or a closed card's)
    assert figures["quality_score"] is not None and 0 <= figures["quality_score"] <= 100
    note = conn.execute(
        "select note from cockpit.region_indicators where region_code = '520000' and indicator = 'quality_score'"
    ).fetchone()[0]
    assert note.startswith("评分期：")
    scored = conn.execute(
        "select count(*) from cockpit.department_stats where quality_score is not null"
    ).fetchone()[0]
    assert scored > 0


def test_no_cockpit_table_has_a_person_column(conn):
    columns = {
        r[0]
        for r in conn.execute(
            "select column_name from information_schema.columns where table_schema = 'cockpit'"
        ).fetchall()
    }
    assert not columns & PERSON_COLUMNS


def test_small_counts_are_suppressed_with_k(conn):
    rows = conn.execute(
        "select indicator, n, k, suppressed from cockpit.region_indicators where k is not null"
    ).fetchall()
    assert rows
    for indicator, n, k, suppressed in rows:
        assert suppressed == (n is not None and n < k), (indicator, n, k)
    for findings, k, suppressed in conn.execute(
        "select findings, k, suppressed from cockpit.subsidy_findings"
    ):
        assert suppressed == (findings < k)


def test_bijie_answer_equals_the_library_for_each_county(conn):
    fields = (
        "crop", "rank_in_county", "years_compared", "years_above_corn", "avg_revenue_per_mu",
        "avg_corn_revenue_per_mu", "avg_advantage_per_mu", "revenue_per_mu_cv", "verdict",
    )  # fmt: skip
    counties = [d.code for d in counties_of(BIJIE_CODE)]
    seen = 0
    for county in counties:
        library = conn.execute(
            f"select {', '.join(fields)} from base.bijie_crops_vs_corn where county_code = %s"
            " order by rank_in_county",
            (county,),
        ).fetchall()
        cockpit = conn.execute(
            f"select {', '.join(fields)} from cockpit.bijie_crops where county_code = %s order by rank_in_county",
            (county,),
        ).fetchall()
        assert cockpit == library, county
        if not library:
            continue
        seen += 1
        answer = answer_crop_vs_corn(conn, parse(f"{county_name(conn, county)}种什么比玉米好"))
        assert answer is not None
        shown = [(row[2], Decimal(str(row[3])), Decimal(str(row[4]))) for row in answer.rows]
        assert shown == [(r[0], r[4], r[5]) for r in library], county
        assert any("农业农村厅" in e for e in answer.evidence) and answer.unknowns
    assert seen >= 1, "no Bijie county in the comparison library"


def county_name(conn, code: str) -> str:
    return conn.execute("select county_name from base.counties where county_code = %s", (code,)).fetchone()[0]


def test_back_test_is_computed_on_the_demo_province(conn):
    rows = conn.execute(
        "select county_code, crop, backtest_year, backtest_error_pct, naive_error_pct, forecast"
        " from cockpit.bijie_crops where forecast is not null"
    ).fetchall()
    assert rows, "no Bijie crop has a forecast"
    county, crop, year, error, naive, forecast = rows[0]
    series = dict(
        conn.execute(
            "select year, revenue_per_mu from base.crop_performance where county_code = %s and crop = %s"
            " and revenue_per_mu is not null",
            (county, crop),
        ).fetchall()
    )
    recomputed = forecast_next_year({int(y): float(v) for y, v in series.items()})
    assert recomputed is not None
    assert recomputed.backtest_year == year
    assert float(error) == pytest.approx(recomputed.backtest_error_pct)
    assert float(naive) == pytest.approx(recomputed.naive_error_pct)
    assert float(forecast) == pytest.approx(recomputed.forecast)
    errors = [float(r[3]) for r in rows if r[3] is not None]
    naives = [float(r[4]) for r in rows if r[4] is not None]
    print(f"back-test over {len(errors)} series: model MAPE {statistics.mean(errors):.2f}%,"
          f" naive {statistics.mean(naives):.2f}%")  # fmt: skip


def test_questions_are_answered_from_the_cockpit(conn):
    for question, kind in {
        "毕节不种玉米种什么": "crop_vs_corn",
        "大方县种什么比玉米好": "crop_vs_corn",
        "遵义人口这五年怎么变": "population_trend",
        "哪个部门的数据最晚": "department_timeliness",
        "补贴发给已故人员的有多少": "subsidy_findings",
        "六盘水参保率多少": "insurance_coverage",
        "毕节的客运量怎么样": "transport",
    }.items():
        _, answer = ask(conn, question)
        assert answer.kind == kind, (question, answer.summary)
        assert answer.rows and answer.sources, question
    _, answer = ask(conn, "遵义不种玉米种什么")  # outside the comparison library: no wrong answer
    assert answer.kind == "closest_resources"
    _, answer = ask(conn, "月亮上有没有水")
    assert answer.kind == "closest_resources"


def test_pages_answer_fast_and_only_to_leaders(stack, conn, leader):
    session, base = leader
    for path in (
        "/cockpit",
        "/cockpit/data/overview",
        "/cockpit/ask?q=毕节不种玉米种什么",
        "/cockpit/screen",
    ):
        assert session.get(base + path, timeout=30).status_code == 200, path
        times = []
        for _ in range(5):
            started = time.perf_counter()
            assert session.get(base + path, timeout=30).status_code == 200
            times.append(time.perf_counter() - started)
        assert statistics.median(times) < 0.5, (path, times)
    clerk, _ = _signed_in(stack, conn, "zz_ckp_clerk", "civil_affairs", "requester")
    try:
        assert clerk.get(base + "/cockpit", timeout=30).status_code == 403
        assert clerk.get(base + "/cockpit/data/overview", timeout=30).status_code == 403
    finally:
        conn.execute("delete from platform.portal_users where username = 'zz_ckp_clerk'")
    anonymous = requests.get(base + "/cockpit/ask?q=x", timeout=30, allow_redirects=False)
    assert anonymous.status_code == 303 and "/signin" in anonymous.headers["location"]


def test_bad_questions_get_an_escaped_page(leader):
    session, base = leader
    for question in (
        "<script>alert(1)</script>毕节种什么",
        "<b>x</b>" * 200,
        "啊" * 1000,
        "'; drop table x; --",
    ):
        r = session.get(base + "/cockpit/ask", params={"q": question}, timeout=60)
        assert r.status_code == 200
        assert "<script>alert(1)</script>" not in r.text and "<b>x</b>" not in r.text
    # longer than a URL may be: the server refuses the request line, never a 500
    r = session.get(base + "/cockpit/ask", params={"q": "啊" * 100_000}, timeout=60)
    assert r.status_code < 500
    r = session.get(base + "/cockpit/ask", params={"q": "<script>alert(1)</script>毕节种什么"}, timeout=30)
    assert html.escape("<script>alert(1)</script>") in r.text or "&lt;script&gt;" in r.text
