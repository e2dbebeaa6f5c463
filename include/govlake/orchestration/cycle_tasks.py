"""Tasks several DAGs share."""

from __future__ import annotations

from airflow.sdk import get_current_context, task


@task
def resolve_cycle() -> str:
    """The cycle date this run works on: from the Asset events that started it, else its logical date."""
    from govlake.orchestration.cycle_dates import cycle_date_from_context

    return cycle_date_from_context(get_current_context())
