"""Every model the publish stage swaps into ``base`` declares an enforced contract (issue 14 §5.3).

Read from the models' YAML, so it needs neither dbt nor the stack; that the declared types match what the
SQL produces is dbt's own check whenever the model is built (tests/transform/test_libraries_build.py).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from govlake.orchestration.task_bodies import PUBLISHED_TABLES

MODELS_DIR = Path(__file__).resolve().parents[2] / "dbt_project" / "models"


def _declared_models() -> dict[str, dict]:
    models: dict[str, dict] = {}
    for path in sorted(MODELS_DIR.rglob("*.yml")):
        for model in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models") or []:
            models[model["name"]] = {**model, "_file": path.relative_to(MODELS_DIR.parent)}
    return models


def test_every_published_model_has_an_enforced_contract_with_typed_columns():
    models = _declared_models()
    problems = []
    for name in PUBLISHED_TABLES:
        model = models.get(name)
        if model is None:
            problems.append(f"{name}: published to base but not declared in any dbt_project/models/**/*.yml")
            continue
        if not ((model.get("config") or {}).get("contract") or {}).get("enforced"):
            problems.append(f"{model['_file']}: model {name} is published to base without contract.enforced")
        untyped = [c["name"] for c in model.get("columns") or [] if not c.get("data_type")]
        if untyped:
            problems.append(f"{model['_file']}: model {name} columns without data_type: {', '.join(untyped)}")
    assert not problems, "\n".join(problems)
