"""A dirty batch is held back until its corrected re-delivery passes — four days through the scheduler.

Its own small province (seed 11, tiny, no generated defects) on four days of ISO week 2026-W10, far
from the date `test_daily_cycle` uses, so the two tests share the stack without sharing a batch:

* D0 — a clean cycle publishes the libraries this test compares against.
* D1 — 市场监管局's file carries 20 entities that exist on no other day: 10 good, 10 with a registration
  status outside the code list (10 % of the batch > the 5 % the blocking rule tolerates). The gate goes
  red, nothing is published, the 10 bad rows are quarantined with rule and reason and listed in the
  department's correction list.
* D2 — a clean cycle publishes; D1's batch is *held*: none of its 20 entities, good ones included,
  reaches the libraries.
* The department re-delivers D1 with the statuses corrected; the batch lands between two cycles
  (``build__libraries`` paused, so no build of its own).
* D3 — the cycle's build validates D3 and catches up the re-delivered D1 batch: all 20 entities appear.

After D2, ``quality__scorecards`` scores the week through the scheduler.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pytest
from stdnum.cn import uscc

from demo_province.writers import entity_csv_key
from govlake.cycle.airflow_client import AirflowClient
from govlake.cycle.cycle_runner import BUILD_DAG, PUBLISH_DAG
from govlake.lake import s3_client
from govlake.registry import get_dataset, load_departments
from govlake.warehouse import connect

from .cycles import generate_day, ingest_without_build, run_day, wait_until_finished

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SEED = 11
SCALE = "tiny"
D0, D1, D2, D3 = "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"
WEEK = "2026-W10"
ENTITIES = get_dataset("market_regulation__market_entities")
D1_BATCH = f"{ENTITIES.key}__{D1}"
BAD_STATUS = "歇业"  # not one of 存续/注销/吊销: fails the blocking rule status_in_set
GOOD = [f"91520102{77_000_000 + i:08d}A" for i in range(10)]
BAD = [f"91520102{77_000_100 + i:08d}A" for i in range(10)]
GOOD = [c + uscc.calc_check_digit(c) for c in GOOD]
BAD = [c + uscc.calc_check_digit(c) for c in BAD]
SCORECARD_DAG = "quality__scorecards"


# -- the department's file ----------------------------------------------------------------------------
def _read(stack, bucket: str, key: str) -> bytes:
    response = s3_client(stack).get_object(bucket, key)
    try:
        return response.read()
    finally:
        response.close()
        response.release_conn()


def _deliver_entities(stack, day: str, generated: bytes, bad_status: str) -> None:
    """Put ``day``'s 市场监管局 file: the ``generated`` one plus the 20 extra entities."""
    rows = list(csv.DictReader(io.StringIO(generated.decode("gbk"))))
    template = rows[0]
    for i, code in enumerate(GOOD + BAD):
        status = bad_status if code in BAD else "存续"
        rows.append(
            {
                **template,
                "统一社会信用代码": code,
                "企业名称": f"贵州暂扣测试{i:02d}有限公司",
                "登记状态": status,
            }
        )
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(template), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    body = out.getvalue().encode("gbk")
    key = entity_csv_key(day)
    s3_client(stack).put_object(
        "landing", key, io.BytesIO(body), len(body), content_type="text/csv; charset=gbk"
    )


def _correction_list(stack, day: str) -> dict:
    """The department's correction-list objects for ``day`` as they are now (a later build may redo them)."""
    stem = f"纠错清单_market_regulation_{day.replace('-', '')}"
    prefix = f"market_regulation/correction-lists/{day}/"
    names = {o.object_name for o in s3_client(stack).list_objects("exchange", prefix=prefix)}
    found = {"names": names, "prefix": prefix, "stem": stem}
    if f"{prefix}{stem}.csv" in names:
        found["csv"] = _read(stack, "exchange", f"{prefix}{stem}.csv").decode("utf-8-sig")
    if f"{prefix}{stem}.manifest.json" in names:
        found["manifest"] = json.loads(_read(stack, "exchange", f"{prefix}{stem}.manifest.json"))
    return found


# -- what the warehouse shows ---------------------------------------------------------------------------
def _fingerprint(conn) -> dict[str, tuple | None]:
    """Row count and a hash of every row of each published library (None when never published)."""
    found = {}
    for table in ("base.population", "base.legal_entities"):
        if conn.execute("select to_regclass(%s)", (table,)).fetchone()[0] is None:
            found[table] = None
            continue
        found[table] = conn.execute(
            f"select count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from {table} t"
        ).fetchone()
    return found


def _published_extras(conn) -> dict[str, str]:
    return dict(
        conn.execute(
            "select credit_code, status from base.legal_entities where credit_code = any(%s)", (GOOD + BAD,)
        ).fetchall()
    )


def _batch_verdict(conn, batch_id: str) -> tuple | None:
    if conn.execute("select to_regclass('platform.batch_validations')").fetchone()[0] is None:
        return None
    return conn.execute(
        "select success, cycle_date::text from platform.batch_validations where batch_id = %s", (batch_id,)
    ).fetchone()


def _task_states(stack, run) -> dict[str, str]:
    return {t["task_id"]: t["state"] for t in AirflowClient(stack).task_instances(run.dag_id, run.run_id)}


def _score_week(stack, warehouse, end: str) -> dict:
    """Run ``quality__scorecards`` on demand through the scheduler for the week of ``end``; what it stored.

    Scored before the re-delivery of D1: a batch keeps only its latest validation (``validation_id`` is
    suite and date), so once the corrected file passes, the week no longer shows the defect.
    """
    client = AirflowClient(stack)
    client.wait_for_dags([SCORECARD_DAG])
    client.set_paused(SCORECARD_DAG, False)
    try:
        # a fixed logical date: a re-run of the test re-runs the same DAG run
        logical = datetime.fromisoformat(f"{end}T12:00:00+00:00")
        run = client.trigger(SCORECARD_DAG, logical, {"period": "week", "end": end})
        run = wait_until_finished(client, run, timeout=900)
    finally:
        client.set_paused(SCORECARD_DAG, True)
    rows = warehouse.execute(
        "select s.department, jsonb_object_agg(d.dimension, d.score)"
        " from platform.scorecards s, platform.scorecard_dimensions d"
        " where d.period_kind = s.period_kind and d.period = s.period and d.department = s.department"
        " and s.period_kind = 'week' and s.period = %s group by 1",
        (WEEK,),
    ).fetchall()
    reports = warehouse.execute(
        "select department, format, uri, bytes from platform.scorecard_reports"
        " where period_kind = 'week' and period = %s",
        (WEEK,),
    ).fetchall()
    return {"run": run, "tasks": _task_states(stack, run), "cards": dict(rows), "reports": reports}


@pytest.fixture(scope="module")
def held(stack):
    """Run the four days and record what each step left behind (later steps change it)."""
    with connect(stack, autocommit=True) as warehouse:
        return _run_the_days(stack, warehouse)


def _run_the_days(stack, warehouse) -> dict[str, dict]:
    seen: dict[str, dict] = {}

    generate_day(stack, D0, scale=SCALE, seed=SEED, defect_rate=0.0)
    seen["d0"] = {"outcome": run_day(stack, D0), "base": _fingerprint(warehouse)}
    if not seen["d0"]["outcome"].ok:  # nothing after this would mean anything
        pytest.fail(f"the clean cycle of {D0} failed: {seen['d0']['outcome'].failed}")

    generate_day(stack, D1, scale=SCALE, seed=SEED, defect_rate=0.0)
    generated = _read(stack, "landing", entity_csv_key(D1))
    _deliver_entities(stack, D1, generated, BAD_STATUS)
    outcome = run_day(stack, D1)
    build = outcome.runs.get(BUILD_DAG)
    seen["d1"] = {
        "outcome": outcome,
        "tasks": _task_states(stack, build) if build else {},
        "base": _fingerprint(warehouse),
        "extras": _published_extras(warehouse),
        "verdict": _batch_verdict(warehouse, D1_BATCH),
        "publications": warehouse.execute(
            "select target, status from platform.publications where logical_date = %s", (D1,)
        ).fetchall(),
        "quarantine": warehouse.execute(
            "select record->>'credit_code', rule, dimension, message, source_file, source_row"
            # this validation's records: a kept stack also holds an earlier run's of the same batch, superseded
            " from platform.quarantine where batch_id = %s and stage = 'validate' and superseded_at is null",
            (D1_BATCH,),
        ).fetchall(),
        "correction_list": _correction_list(stack, D1),
    }

    generate_day(stack, D2, scale=SCALE, seed=SEED, defect_rate=0.0)
    outcome = run_day(stack, D2)
    seen["d2"] = {
        "outcome": outcome,
        "extras": _published_extras(warehouse),
        "verdict": _batch_verdict(warehouse, D1_BATCH),
        "built_for": warehouse.execute(
            "select max(built_for_date)::text from base.legal_entities"
        ).fetchone()[0],
    }
    seen["d2"]["scorecards"] = _score_week(stack, warehouse, D2)

    _deliver_entities(stack, D1, generated, "存续")
    seen["redelivery"] = {"ingest": ingest_without_build(stack, ENTITIES.dag_id, D1)}

    generate_day(stack, D3, scale=SCALE, seed=SEED, defect_rate=0.0)
    outcome = run_day(stack, D3)
    seen["d3"] = {
        "outcome": outcome,
        "extras": _published_extras(warehouse),
        "verdict": _batch_verdict(warehouse, D1_BATCH),
        "open_quarantine": warehouse.execute(
            "select count(*) from platform.quarantine where batch_id = %s and resolved_at is null",
            (D1_BATCH,),
        ).fetchone()[0],
    }
    return seen


def test_a_clean_day_publishes_first(held):
    d0 = held["d0"]
    assert d0["outcome"].ok, d0["outcome"].failed
    assert all(v is not None and v[0] > 0 for v in d0["base"].values()), d0["base"]


def test_the_dirty_batch_turns_the_gate_red_and_publishes_nothing(held):
    d1 = held["d1"]
    assert d1["outcome"].failed == [BUILD_DAG], d1["outcome"].failed
    assert d1["outcome"].runs[BUILD_DAG].state == "failed"
    assert d1["outcome"].runs.get(PUBLISH_DAG) is None
    assert d1["tasks"]["gate"] == "failed" and d1["tasks"]["record_blocked"] == "success", d1["tasks"]
    assert d1["publications"] and {s for _, s in d1["publications"]} == {"blocked"}, d1["publications"]
    assert d1["base"] == held["d0"]["base"], "a blocked cycle changed the published libraries"
    assert d1["extras"] == {}


def test_every_bad_row_is_quarantined_with_rule_and_reason(held):
    rows = held["d1"]["quarantine"]
    assert sorted(code for code, *_ in rows) == sorted(BAD), rows
    for _code, rule, dimension, message, source_file, source_row in rows:
        assert (rule, dimension) == ("status_in_set", "conformity")
        assert BAD_STATUS in message and message.endswith("— rule status_in_set"), message
        assert source_file.endswith(entity_csv_key(D1).rsplit("/", 1)[1]) and source_row > 1


def test_the_correction_list_reaches_the_owner(held):
    found = held["d1"]["correction_list"]
    prefix, stem = found["prefix"], found["stem"]
    assert {f"{prefix}{stem}.{ext}" for ext in ("xlsx", "csv", "manifest.json")} <= found["names"], found[
        "names"
    ]
    assert all(code in found["csv"] for code in BAD) and not any(code in found["csv"] for code in GOOD)
    assert found["manifest"]["rows"] >= len(BAD), found["manifest"]


def test_the_next_clean_day_publishes_without_the_held_batch(held):
    d2 = held["d2"]
    assert d2["outcome"].ok, d2["outcome"].failed
    assert d2["built_for"] == D2
    # held: the good rows of the failed batch stay out too (needs the per-batch validation semantics)
    assert d2["extras"] == {}, d2["extras"]
    if d2["verdict"] is not None:
        assert d2["verdict"][0] is False, d2["verdict"]


def test_the_corrected_redelivery_is_caught_up_by_the_next_cycle(held):
    assert held["redelivery"]["ingest"].state == "success"
    d3 = held["d3"]
    assert d3["outcome"].ok, d3["outcome"].failed
    assert d3["extras"] == dict.fromkeys(GOOD + BAD, "存续"), d3["extras"]
    assert d3["open_quarantine"] == 0
    assert d3["verdict"] == (True, D3), "D3's build should have validated the re-delivered D1 batch"


def test_scorecards_run_through_the_scheduler(held, stack):
    """``quality__scorecards`` on demand for the week, run after D2: every department scored, HTML and PDF
    delivered, and 市场监管局's scorecard lower on conformity — the dimension of the injected defect — and
    perfect on the other row dimensions (timeliness is not compared: files dropped for past dates are late).
    """
    scored = held["d2"]["scorecards"]
    assert scored["run"].state == "success", scored["tasks"]
    cards = scored["cards"]
    assert set(cards) == {d.code for d in load_departments()} | {"_province"}, sorted(cards)
    market = cards["market_regulation"]
    assert market["conformity"] < 100.0, market
    assert all(market[d] in (100.0, None) for d in ("completeness", "accuracy", "consistency")), market

    reports = scored["reports"]
    assert {(d, f) for d, f, _, _ in reports} == {(d, f) for d in cards for f in ("html", "pdf")}
    s3 = s3_client(stack)
    for _, fmt, uri, size in reports:
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        assert bucket == "exchange" and s3.stat_object(bucket, key).size == size > 0, uri
        if fmt == "pdf":
            assert _read(stack, bucket, key).startswith(b"%PDF")
