"""The dbt ``raw`` source, derived from the department registry.

``dbt_project/models/staging/_raw__sources.yml`` is generated from ``config/departments/*.yaml`` so that
the declared columns, their Chinese labels, grades and personal-information flags, and the freshness
thresholds never drift from the registry. Regenerate after changing the registry::

    python -m govlake.transform.sources

tests/transform/test_dbt_project.py (``test_raw_sources_file_is_generated_from_the_registry``) fails when
the committed file is out of date.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from govlake.registry import LINEAGE_COLUMNS, Dataset, iter_datasets

# How often a department promises new data, in hours. Freshness warns one cycle plus a 2-hour grace
# period after the last load, and errors after two cycles plus the grace (每日 -> 26 h / 50 h).
CYCLE_HOURS: dict[str, int] = {
    "实时": 1,
    "每日": 24,
    "每周": 7 * 24,
    "每月": 31 * 24,
    "每季度": 92 * 24,
    "每年": 366 * 24,
}
GRACE_HOURS = 2

LINEAGE_DESCRIPTIONS = {
    "_batch_id": "Ingest batch: <department>__<dataset>__<YYYY-MM-DD> (platform.batches.batch_id).",
    "_logical_date": "Logical date of the ingest cycle that loaded the row.",
    "_source_file": "Landed file (or extract) the row was read from.",
    "_source_row": "Row number within the source file; with _batch_id and _source_file identifies the row (platform.quarantine).",
    "_ingested_at": "When the row was loaded into raw; drives source freshness.",
    "_deleted": "Tombstone: the source deleted this key (soft-delete flag); a key whose newest version is a "
    "tombstone leaves the libraries.",
}

HEADER = (
    "# GENERATED from include/govlake/config/departments/*.yaml by `python -m govlake.transform.sources`.\n"
    "# Do not edit by hand: change the registry and regenerate (tests/transform/test_dbt_project.py checks it).\n"
)


def freshness(update_cycle: str) -> dict:
    hours = CYCLE_HOURS[update_cycle]
    return {
        "warn_after": {"count": hours + GRACE_HOURS, "period": "hour"},
        "error_after": {"count": 2 * hours + GRACE_HOURS, "period": "hour"},
    }


def source_table(dataset: Dataset) -> dict:
    columns = [
        {
            "name": c.name,
            "description": f"{c.label} (source item `{c.source_name}`)",
            "data_type": c.sql_type,
            "meta": {
                "label": c.label,
                "source_name": c.source_name,
                "grade": c.grade,
                "pi": c.pi,
                "required": c.required,
            },
        }
        for c in dataset.columns
    ]
    columns += [
        {"name": name, "description": LINEAGE_DESCRIPTIONS[name], "data_type": sql_type}
        for name, sql_type in LINEAGE_COLUMNS
    ]
    return {
        "name": dataset.key,
        "description": (
            f"{dataset.department_name} {dataset.name}: {dataset.summary} "
            f"Update cycle {dataset.update_cycle}; source kind {dataset.source_kind}; "
            f"primary key ({', '.join(dataset.primary_key)}). Grain: one row per source row per logical date."
        ),
        "meta": {
            "department": dataset.department,
            "department_name": dataset.department_name,
            "dataset": dataset.code,
            "update_cycle": dataset.update_cycle,
            "primary_key": list(dataset.primary_key),
            "registry_file": f"include/govlake/config/departments/{dataset.registry_file.name}",
        },
        "config": {"loaded_at_field": "_ingested_at", "freshness": freshness(dataset.update_cycle)},
        "columns": columns,
    }


def raw_sources(datasets: list[Dataset] | None = None) -> dict:
    datasets = list(iter_datasets()) if datasets is None else datasets
    return {
        "version": 2,
        "sources": [
            {
                "name": "raw",
                "description": (
                    "Department data as loaded by the ingest DAGs: declared columns, typed, plus lineage. "
                    "A re-run of a logical date replaces that date's rows."
                ),
                "schema": "raw",
                "tables": [source_table(ds) for ds in sorted(datasets, key=lambda d: d.key)],
            }
        ],
    }


def render_raw_sources(datasets: list[Dataset] | None = None) -> str:
    body = yaml.safe_dump(raw_sources(datasets), allow_unicode=True, sort_keys=False, width=110)
    return HEADER + body


def sources_path(project_dir: Path | None = None) -> Path:
    from govlake.transform import DBT_PROJECT_DIR

    return (project_dir or DBT_PROJECT_DIR) / "models" / "staging" / "_raw__sources.yml"


def write_raw_sources(project_dir: Path | None = None) -> Path:
    path = sources_path(project_dir)
    path.write_text(render_raw_sources(), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write_raw_sources())
