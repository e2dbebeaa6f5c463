"""
### Quality scorecards per department (weekly and monthly)

Runs every Monday 06:00 (Asia/Shanghai) for the ISO week that just ended, and on the 1st of each month for
the month that just ended (one `MultipleCronTriggerTimetable`; when both fire together, one run does both).
For each period:

1. **score** — per department and GB/T 36344 dimension (conformity, completeness, accuracy, consistency,
   timeliness, accessibility) from `platform.validation_results`, `platform.quarantine`,
   `platform.batches` and `platform.deliveries`; overall weighted score, province ranking, trend, rules
   that fail most, late deliveries, open/resolved quarantine and median time-to-correct
   → `platform.scorecards`, `platform.scorecard_dimensions`.
2. **render and deliver** — an HTML page with charts and a printable PDF per department to
   `s3://exchange/<department>/scorecards/<period>/`, the province's to
   `s3://exchange/_data_office/scorecards/<period>/`, listed in `platform.scorecard_reports`.

On demand: trigger with conf `{"period": "week" | "month", "end": "YYYY-MM-DD"}` (any date inside the period).
How the scores are computed: docs/QUALITY.md.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, MultipleCronTriggerTimetable, get_current_context, task

from govlake.orchestration.dag_defaults import DEFAULT_ARGS

with DAG(
    dag_id="quality__scorecards",
    description="weekly and monthly quality scorecards per department (GB/T 36344 dimensions)",
    doc_md=__doc__,
    schedule=MultipleCronTriggerTimetable("0 6 * * 1", "0 6 1 * *", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["quality", "scorecards"],
):

    @task
    def periods_to_score() -> list[dict]:
        from govlake.orchestration.cycle_dates import date_of
        from govlake.scorecards import period_containing, periods_closed_by

        context = get_current_context()
        conf = getattr(context.get("dag_run"), "conf", None) or {}
        if conf.get("period"):
            end = date_of(conf.get("end") or context["logical_date"])
            return [{"kind": conf["period"], "end": period_containing(conf["period"], end).end.isoformat()}]
        run_date = pendulum.instance(context["logical_date"]).in_timezone("Asia/Shanghai").date()
        return [{"kind": p.kind, "end": p.end.isoformat()} for p in periods_closed_by(run_date)]

    @task
    def score_and_deliver(period: dict) -> list[dict]:
        from govlake.scorecards import run_scorecards

        return [
            {k: card[k] for k in ("department", "period", "overall", "rank", "reports")}
            for card in run_scorecards(period["kind"], period["end"])
        ]

    score_and_deliver.expand(period=periods_to_score())
