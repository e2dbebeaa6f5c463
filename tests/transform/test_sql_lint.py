"""The dbt project's SQL is sqlfluff-clean: the lint `make lint-sql` runs, with no database.

Linting the whole project takes minutes of CPU (sqlfluff renders and parses every model), so those tests
carry the ``lint`` mark: `make test` and `make lint-sql` run them, `make test-unit` leaves them out.

The lint renders each model through dbt_project/sqlfluff_context (vars from dbt_project.yml, the project's
macros); a model that fails to render or parse is a violation too (TMP / PRS), so it cannot pass unlinted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
SQLFLUFF = Path(sys.executable).with_name("sqlfluff")


def _sqlfluff(*args: str, stdin: str | None = None) -> list[dict]:
    """Run the sqlfluff CLI in dbt_project/ (as `make lint-sql` does) and return its JSON report."""
    completed = subprocess.run(
        [str(SQLFLUFF), *args, "--format", "json", "--nofail", "--disable-progress-bar"],
        cwd=PROJECT_DIR,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, f"sqlfluff failed to run:\n{completed.stderr[-3000:]}"
    return json.loads(completed.stdout)


def _described(report: list[dict]) -> list[str]:
    return [
        f"dbt_project/{file['filepath']}:{violation['start_line_no']}:{violation['start_line_pos']}: "
        f"{violation['code']} {violation['description']}"
        for file in report
        for violation in file["violations"]
    ]


@pytest.fixture(scope="module")
def project_report() -> list[dict]:
    return _sqlfluff("lint", ".", "--processes", "1")


@pytest.mark.lint
def test_every_model_is_linted(project_report):
    linted = {file["filepath"] for file in project_report}
    models = {str(path.relative_to(PROJECT_DIR)) for path in (PROJECT_DIR / "models").rglob("*.sql")}
    assert models, "no models found: is PROJECT_DIR right?"
    assert models <= linted, f"models the lint skipped (check .sqlfluffignore): {sorted(models - linted)}"


@pytest.mark.lint
def test_project_sql_is_sqlfluff_clean(project_report):
    violations = _described(project_report)
    assert not violations, (
        f"{len(violations)} sqlfluff violation(s) — fix them (`cd dbt_project && sqlfluff fix <file>`, then "
        "read the diff; formatting only) or, for a rule that is wrong for this project, change .sqlfluff "
        "with a comment saying why:\n" + "\n".join(violations)
    )


def test_the_lint_reports_what_the_style_forbids():
    # Upper-case keywords, an implicit alias and a missing blank line before the final select: if the
    # config stopped applying (wrong dialect, templater, rules) this would come back clean.
    bad_model = "with\n\nsource as (\n\n    SELECT id FROM {{ ref('stg_x') }} x\n\n)\nselect id from source\n"
    report = _sqlfluff("lint", "-", "--stdin-filename", "models/staging/stg_lint_probe.sql", stdin=bad_model)
    codes = {violation["code"] for file in report for violation in file["violations"]}
    assert {"CP01", "AL01"} <= codes, _described(report)
