"""One broken registry file does not take down the other departments' DAGs (a real DagBag on dags/)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from govlake.registry import REGISTRY_DIR

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"

# A fresh interpreter: GOVLAKE_REGISTRY_DIR is read when govlake.registry is imported.
_CHILD = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
from govlake.registry import load_departments
bag = DagBag(dag_folder=sys.argv[1])
errors = []
load_departments(errors=errors)
print(json.dumps({"dag_ids": sorted(bag.dag_ids), "errors": errors,
                  "import_errors": {k: str(v) for k, v in bag.import_errors.items()}}))
"""


def test_a_broken_department_file_leaves_the_other_dags(tmp_path: Path) -> None:
    registry = tmp_path / "departments"
    registry.mkdir()
    for name in ("public_security.yaml", "market_regulation.yaml"):
        shutil.copy(REGISTRY_DIR / name, registry / name)
    (registry / "broken_yaml.yaml").write_text(
        "department: {code: broken\n  name: [unclosed\n", encoding="utf-8"
    )
    (registry / "missing_field.yaml").write_text(
        "department: {code: zz_missing, name: 缺字段厅, provider_code: X}\n"
        "datasets:\n  - {code: things, name: 事项, update_cycle: 每日, source: {kind: csv}, primary_key: [a],"
        " columns: [{name: a, label: A, type: string}]}\n",  # no summary
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "GOVLAKE_REGISTRY_DIR": str(registry),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
    }
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(DAGS_DIR)], env=env, capture_output=True, text=True, timeout=240
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    ingest = [d for d in result["dag_ids"] if d.startswith("ingest__")]
    assert ingest == [
        "ingest__market_regulation__market_entities",
        "ingest__public_security__household_registration",
    ]
    assert not any("ingest" in path for path in result["import_errors"]), result["import_errors"]
    errors = "\n".join(result["errors"])
    assert "broken_yaml.yaml: not valid YAML" in errors
    assert "missing_field.yaml: missing required field 'datasets[0].summary'" in errors
