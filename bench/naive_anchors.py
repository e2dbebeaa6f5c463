"""The naive peers of the province benchmark (issue 19): pandas ``to_sql`` and Great Expectations on a pandas
DataFrame, over the same 公安厅 rows the pipeline loads and validates — anchors, not baselines.

    .venv/bin/python bench/naive_anchors.py --day 2026-01-15 --rows 1000000            # both
    .venv/bin/python bench/naive_anchors.py --day 2026-01-15 --rows 1000000 --anchor gx_pandas

The rows are the first N (by ``_source_row``) of the day's batch of
``staging.stg_public_security__household_registrations``, the relation the 公安厅 suite validates, read into
a DataFrame through SQLAlchemy first (not timed). Then, each anchor in a process of its own so that its
peak memory is its own:

* ``to_sql``: ``DataFrame.to_sql`` into a scratch table (SQLAlchemy over psycopg, chunks of 10,000, the
  default ``method``), as a notebook ingest writes rows. Dropped afterwards.
* ``gx_pandas``: GX 1.x validating the DataFrame with its pandas execution engine, result format
  ``COMPLETE`` (the unexpected rows' indexes, which a quarantine needs). The suite is the part of the
  公安厅 rules GX's built-in expectations can say: 9 of 13 — not null, the 18-character form, county code,
  unique in the batch, gender and status in their sets, birth date not after the day, death date not
  before birth. The check digit, the birth date against the ID, status against death date and the update
  window have no built-in expectation; the pipeline's suite runs all 13 in SQL.

Printed per anchor: rows, seconds (the ``to_sql`` call, or the validation run), rows/s and the process's
peak resident memory (the DataFrame included). Needs a day already loaded and built through staging
(``make bench-province`` runs this after its first load).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

RELATION = "staging.stg_public_security__household_registrations"
COLUMNS = (
    "resident_id, name, gender, ethnicity, birth_date, division_code, address, household_id, status,"
    " death_date, updated_at, _logical_date, _batch_id, _source_row"
)
ANCHORS = ("to_sql", "gx_pandas")


def _engine():
    from sqlalchemy import create_engine

    from govlake.settings import get_settings

    url = get_settings().warehouse_url.replace("postgresql://", "postgresql+psycopg://", 1)
    return create_engine(url)


def read_rows(engine, day: str, rows: int):
    import pandas as pd

    query = (
        f"select {COLUMNS} from {RELATION} where _logical_date = date '{day}'"
        f" order by _source_row limit {int(rows)}"
    )
    frame = pd.read_sql_query(query, engine)
    for column in ("birth_date", "death_date", "_logical_date", "updated_at"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def to_sql(engine, frame) -> float:
    started = time.perf_counter()
    frame.to_sql("naive_to_sql", engine, schema="public", if_exists="replace", index=False, chunksize=10_000)
    seconds = time.perf_counter() - started
    with engine.begin() as conn:
        conn.exec_driver_sql("drop table if exists public.naive_to_sql")
    return seconds


def gx_pandas(engine, frame, day: str) -> tuple[float, dict]:
    import great_expectations as gx
    import pandas as pd
    from great_expectations import expectations as gxe

    with engine.connect() as conn:
        counties = [
            r[0] for r in conn.exec_driver_sql("select code from reference.divisions where level = 'county'")
        ]
    context = gx.get_context(mode="ephemeral")
    batch = (
        context.data_sources.add_pandas("naive")
        .add_dataframe_asset("household_registrations")
        .add_batch_definition_whole_dataframe("rows")
    )
    suite = context.suites.add(gx.ExpectationSuite(name="naive_household_registrations"))
    mostly = 0.95
    for expectation in (
        gxe.ExpectColumnValuesToNotBeNull(column="resident_id", mostly=mostly),
        gxe.ExpectColumnValuesToMatchRegex(column="resident_id", regex=r"^\d{17}[\dX]$", mostly=mostly),
        gxe.ExpectColumnValuesToBeInSet(column="division_code", value_set=counties, mostly=mostly),
        gxe.ExpectColumnValuesToBeUnique(column="resident_id", mostly=mostly),
        gxe.ExpectColumnValuesToBeInSet(column="gender", value_set=["男", "女"], mostly=mostly),
        gxe.ExpectColumnValuesToBeInSet(column="status", value_set=["正常", "死亡", "迁出"], mostly=mostly),
        gxe.ExpectColumnValuesToBeBetween(column="birth_date", max_value=pd.Timestamp(day), mostly=mostly),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="death_date",
            column_B="birth_date",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            mostly=mostly,
        ),  # fmt: skip
        gxe.ExpectColumnValuesToBeBetween(column="death_date", max_value=pd.Timestamp(day), mostly=mostly),
    ):
        suite.add_expectation(expectation)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name="naive_household_registrations", data=batch, suite=suite)
    )
    started = time.perf_counter()
    result = definition.run(batch_parameters={"dataframe": frame}, result_format="COMPLETE")
    seconds = time.perf_counter() - started
    unexpected = {
        f"{n}:{r.expectation_config.type}": r.result.get("unexpected_count", 0)
        for n, r in enumerate(result.results, start=1)
    }
    return seconds, {
        "success": bool(result.success),
        "expectations": len(result.results),
        "unexpected": unexpected,
    }


def run_anchor(anchor: str, day: str, rows: int) -> dict:
    """One anchor in this process: read the rows, time the anchor, report its figures."""
    engine = _engine()
    frame = read_rows(engine, day, rows)
    extra: dict = {}
    if anchor == "to_sql":
        seconds = to_sql(engine, frame)
    elif anchor == "gx_pandas":
        seconds, extra = gx_pandas(engine, frame, day)
    else:
        raise SystemExit(f"unknown anchor {anchor!r}; one of {', '.join(ANCHORS)}")
    return {
        "rows": len(frame),
        "seconds": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **extra,
    }


def run_in_process(anchor: str, day: str, rows: int) -> dict:
    """``run_anchor`` in a fresh Python process (its peak memory is then the anchor's alone)."""
    from run_bench import run_for_result  # bench/ is on the path of every bench script

    return run_for_result(
        [sys.executable, __file__, "--day", day, "--rows", str(rows), "--anchor", anchor, "--json"],
        f"anchor {anchor}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--day", required=True, help="a logical date already loaded and built through staging"
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--anchor", choices=ANCHORS, action="append")
    parser.add_argument(
        "--json", action="store_true", help="run in this process, print one BENCH_RESULT line"
    )
    opts = parser.parse_args()
    if opts.json:
        (anchor,) = opts.anchor
        print("BENCH_RESULT " + json.dumps(run_anchor(anchor, opts.day, opts.rows), default=str))
        return
    for anchor in opts.anchor or ANCHORS:
        res = run_in_process(anchor, opts.day, opts.rows)
        print(
            f"{anchor}: {res['rows']:,} rows in {res['seconds']:.1f} s = {res['rows'] / res['seconds']:,.0f}"
            f" rows/s, peak {res['peak_rss_mb']:,.0f} MiB"
        )


if __name__ == "__main__":
    main()
