"""
### Ingest — one DAG per department dataset

Generated from the department registry (`include/govlake/config/departments/*.yaml`): one
`ingest__<department>__<dataset>` DAG per dataset. Each run lands the source as received in
`s3://landing/<department>/<dataset>/<date>/`, normalises it to Parquet in
`s3://raw/<department>/<dataset>/<date>/` with a manifest (rows, checksum, schema hash, source),
quarantines rows that break a required/type rule, and COPYs the rest into `raw.<department>__<dataset>`.
Re-running a date replaces that date's data. The run's Asset event (`s3://raw/<department>/<dataset>`)
carries the cycle date, and when every dataset has landed, `build__libraries` starts.
"""

from __future__ import annotations

from airflow.sdk import DAG

from govlake.orchestration.ingest_dags import ingest_dags

_dag: DAG
for _dag in ingest_dags():
    globals()[_dag.dag_id] = _dag
