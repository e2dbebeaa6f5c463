"""
### Scheduled exports and the dispatch sweep

One `export__<consumer>__<resource>` DAG per subscription (YAML under
`include/govlake/config/subscriptions/` and, for subscriptions that approved requests asked for,
`<GOVLAKE_HOME>/subscriptions/`), and `dispatch__sweep` (hourly: escalate overdue requests, expire grants).
"""

from __future__ import annotations

from govlake.exports.factory import build_sweep_dag, export_dags

for _dag in [*export_dags(), build_sweep_dag()]:
    globals()[_dag.dag_id] = _dag
