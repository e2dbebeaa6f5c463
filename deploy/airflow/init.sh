#!/usr/bin/env bash
# One-off initialisation of a docker-compose deployment (the airflow-init service). Safe to re-run:
#   1. migrate Airflow's metadata database;
#   2. write the simple auth manager's password file for the admin user from GOVLAKE_AIRFLOW_PASSWORD;
#   3. create the warehouse's layer schemas and platform tables.
set -euo pipefail

airflow db migrate

python - <<'PY'
import json
import os
from pathlib import Path

path = Path(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
path.parent.mkdir(parents=True, exist_ok=True)
path.write_text(json.dumps({os.environ["GOVLAKE_AIRFLOW_USER"]: os.environ["GOVLAKE_AIRFLOW_PASSWORD"]}))
path.chmod(0o600)
print(f"airflow user {os.environ['GOVLAKE_AIRFLOW_USER']!r} written to {path}")
PY

python - <<'PY'
from govlake.warehouse import connect, ensure_platform_schema

with connect() as conn:
    ensure_platform_schema(conn)
print("warehouse platform schema ready")
PY
