"""Scorecards: scores drop in exactly the injected dimensions; stored, rendered and delivered (real services)."""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
import zlib
from datetime import date, timedelta

import psycopg
import pytest
from support.platform_records import add_department_days, resolve_some

from govlake.lake import s3_client
from govlake.scorecards import compute_scorecards, period_containing, periods_closed_by, run_scorecards
from govlake.scorecards.charts import bars, radar, trend
from govlake.scorecards.compute import DIMENSIONS, WEIGHTS, DimensionScore, dimension_score, overall_score

WEEK = [date(1999, 1, 4) + timedelta(days=i) for i in range(7)]  # ISO week 1999-W01
PREVIOUS = [date(1998, 12, 28) + timedelta(days=i) for i in range(7)]


def test_periods() -> None:
    assert period_containing("week", date(1999, 1, 6)).label == "1999-W01"
    assert period_containing("month", date(2026, 2, 14)).end == date(2026, 2, 28)
    assert [p.label for p in periods_closed_by(date(2026, 6, 1))] == [
        "2026-W22",
        "2026-05",
    ]  # a Monday, the 1st
    assert periods_closed_by(date(2026, 6, 3)) == []
    assert period_containing("week", date(1999, 1, 4)).previous().label == "1998-W53"


def test_formula() -> None:
    assert dimension_score(1000, 50) == 95.0 and dimension_score(0, 0) is None
    dims = {d: DimensionScore(d, 100.0, WEIGHTS[d]) for d in DIMENSIONS}
    dims["accuracy"].score = 60.0
    assert overall_score(dims) == pytest.approx(100 - 40 * WEIGHTS["accuracy"])
    dims["timeliness"].score = None  # unmeasured: its weight is spread over the others
    assert overall_score(dims) == round(100 - 40 * WEIGHTS["accuracy"] / (1 - WEIGHTS["timeliness"]), 2)
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)


def test_charts_are_well_formed_svg() -> None:
    for svg in (
        radar([("规范性", 99.0), ("完整性", None), ("准确性", 50.0)]),
        bars([("<部门>", 80.0), ("b", None)]),
        trend([("1999-W01", 90.0), ("1999-W02", None), ("1999-W03", 95.5)]),
    ):
        ET.fromstring(svg)


def _embedded_cjk_font(pdf: bytes) -> bool:
    """The PDF embeds a CJK font (names sit in compressed object streams, so inflate them)."""
    found = b""
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.DOTALL):
        try:
            found += zlib.decompress(match.group(1))
        except zlib.error:
            continue
    return re.search(rb"/FontName\s*/[A-Z]{6}\+(WenQuanYi|Noto-Sans-CJK|NotoSansCJK)", found) is not None


@pytest.fixture
def records(scratch_settings):
    """Two departments with the same volume and rules; zz_dirty has defects in accuracy and timeliness."""
    from govlake.warehouse import connect

    with connect(scratch_settings, autocommit=True) as conn:
        for department in ("zz_clean", "zz_dirty"):
            add_department_days(conn, department, PREVIOUS)
        add_department_days(conn, "zz_clean", WEEK)
        add_department_days(conn, "zz_dirty", WEEK, defects={"accuracy": 40}, late_days=2)
        resolve_some(conn, "zz_dirty", WEEK[0], 3, 30)
        yield conn
        conn.execute(
            "truncate platform.batches, platform.validation_runs, platform.quarantine, platform.deliveries,"
            " platform.scorecards, platform.scorecard_reports cascade"
        )
    client = s3_client(scratch_settings)
    for prefix in (
        "zz_clean/",
        "zz_dirty/",
        "_data_office/scorecards/1999-W01/",
        "_data_office/scorecards/1998-W53/",
    ):
        for obj in client.list_objects("exchange", prefix=prefix, recursive=True):
            client.remove_object("exchange", obj.object_name)


@pytest.mark.integration
def test_scorecard_is_lower_on_exactly_the_injected_dimensions(records, scratch_settings) -> None:
    run_scorecards("week", PREVIOUS[-1], scratch_settings, render=False)
    cards = {c["department"]: c for c in run_scorecards("week", WEEK[0], scratch_settings)}

    clean, dirty = cards["zz_clean"], cards["zz_dirty"]
    lower = {d for d in DIMENSIONS if dirty["dimensions"][d]["score"] < clean["dimensions"][d]["score"]}
    assert lower == {"accuracy", "timeliness"}
    assert all(
        dirty["dimensions"][d]["score"] == clean["dimensions"][d]["score"] for d in set(DIMENSIONS) - lower
    )
    assert dirty["dimensions"]["accuracy"]["score"] == 96.0  # 40 of 1000 rows a day
    assert dirty["dimensions"]["timeliness"]["score"] == round(100 * 5 / 7, 2)  # 2 of 7 deliveries late
    assert (clean["rank"], dirty["rank"]) == (1, 2) and dirty["overall"] < clean["overall"] == 100.0
    assert dirty["quarantine_open"] == 7 * 40 - 30 and dirty["quarantine_resolved"] == 30
    assert dirty["median_days_to_correct"] == 3.0 and dirty["late_deliveries"] == 2

    conn: psycopg.Connection = records
    stored = conn.execute(
        "select overall_score, previous_score, rank, details->'top_rules'->0->>'rule' from platform.scorecards"
        " where period = '1999-W01' and department = 'zz_dirty'"
    ).fetchone()
    assert stored == (dirty["overall"], 100.0, 2, "check_digit")  # previous week was clean
    assert conn.execute(
        "select count(*) from platform.scorecard_dimensions where period = '1999-W01'"
    ).fetchone()[0] == 3 * len(DIMENSIONS)  # two departments and the province

    reports = conn.execute(
        "select department, format, uri, sha256 from platform.scorecard_reports where period = '1999-W01'"
    ).fetchall()
    assert {(d, f) for d, f, _, _ in reports} == {
        (d, f) for d in ("zz_clean", "zz_dirty", "_province") for f in ("html", "pdf")
    }
    client = s3_client(scratch_settings)
    for department, fmt, uri, sha in reports:
        owner = "_data_office" if department == "_province" else department
        assert uri == f"s3://exchange/{owner}/scorecards/1999-W01/scorecard_{department}_1999-W01.{fmt}"
        response = client.get_object("exchange", uri.removeprefix("s3://exchange/"))
        body = response.read()
        response.close()
        response.release_conn()
        assert hashlib.sha256(body).hexdigest() == sha
        if fmt == "pdf":
            assert body.startswith(b"%PDF") and _embedded_cjk_font(body), "no CJK font embedded in the PDF"
        else:
            text = body.decode("utf-8")
            assert "政务数据质量评分卡" in text and text.count("<svg") >= 4
            assert ("check_digit" in text) == (department != "zz_clean")  # the rule that failed most


@pytest.mark.integration
def test_timeliness_falls_back_to_rules_without_the_deliveries_table(records) -> None:
    conn: psycopg.Connection = records
    with conn.transaction():
        conn.execute("drop table platform.deliveries")
        cards = {c.department: c for c in compute_scorecards(conn, period_containing("week", WEEK[0]))}
        raise psycopg.Rollback()
    timeliness = cards["zz_dirty"].dimensions["timeliness"]
    assert timeliness.score is None and "无交付记录" in timeliness.method
    assert cards["zz_dirty"].dimensions["accuracy"].score == 96.0
