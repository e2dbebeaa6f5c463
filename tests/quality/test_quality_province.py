"""The suites against the synthetic province: exactly the injected defects are quarantined, nothing else.

The generator (`demo_province`) records every defect it injects. Rows it empties a required field of
never reach staging (ingest quarantines them), and cross-department conflicts are warnings; every other
defect must be quarantined by validation, and no clean row may be.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest
from support.quality_rows import insert_rows

from demo_province.defects import CROSS_DEPARTMENT_CONFLICT, MISSING_REQUIRED
from demo_province.generator import iter_province
from demo_province.tables import DATASETS
from govlake.quality import get_suite, quarantine_failures, validate
from govlake.registry import Dataset, get_dataset

pytestmark = pytest.mark.integration

DAY = date(1999, 1, 2)
SUITES = {
    "public_security__household_registration": "stg_public_security__household_registrations",
    "market_regulation__market_entities": "stg_market_regulation__market_entities",
    "human_resources__social_insurance_enrollment": "stg_human_resources__social_insurance_enrollments",
}


def _staged_rows(dataset: Dataset, tables: list[dict[str, list]]) -> list[dict]:
    """What staging holds after ingest: registry names, lineage, rows missing a required value dropped."""
    rows: list[dict] = []
    for table in tables:
        for values in zip(*(table[c.source_name] for c in dataset.columns), strict=True):
            row = {c.name: v for c, v in zip(dataset.columns, values, strict=True)}
            if any(row[c.name] is None for c in dataset.columns if c.required):
                continue
            row.update(
                _batch_id=dataset.batch_id(DAY.isoformat()),
                _logical_date=DAY,
                _source_file=f"{dataset.landing_prefix}{DAY.isoformat()}/part.csv",
                _source_row=len(rows) + 1,
                _ingested_at=datetime(1999, 1, 3, tzinfo=UTC),
            )
            rows.append(row)
    return rows


def test_exactly_the_injected_defects_are_quarantined(scratch_warehouse, scratch_settings) -> None:
    chunks = list(iter_province(20_000, 7, DAY, defect_rate=0.02))
    for key in DATASETS:
        insert_rows(
            scratch_warehouse,
            get_suite(SUITES[key]).target,
            _staged_rows(get_dataset(key), [c.tables[key] for c in chunks]),
        )

    for key in DATASETS:  # household first: the 人社厅 cross-check skips 公安厅 rows quarantined just before
        dataset = get_dataset(key)
        outcome = validate(SUITES[key], DAY, scratch_settings)
        quarantine_failures(SUITES[key], DAY, outcome, scratch_settings)
        assert outcome.success, outcome.summary()

        defects = [d for c in chunks for d in c.defects if d.dataset == key]
        expected = {d.key for d in defects if d.kind not in (MISSING_REQUIRED, CROSS_DEPARTMENT_CONFLICT)}
        quarantined = {
            row[0]
            for row in scratch_warehouse.execute(
                "select distinct record->>%s from platform.quarantine where dataset = %s",
                (dataset.primary_key[0], dataset.code),
            )
        }
        assert expected and quarantined == expected, key

        conflicts = Counter(d.column for d in defects if d.kind == CROSS_DEPARTMENT_CONFLICT)
        warned = {r.rule: r.unexpected_count for r in outcome.warnings}
        if conflicts:
            assert warned == {
                "name_matches_household_registration": conflicts["aac003"],
                "birth_date_matches_household_registration": conflicts["aac006"],
            }
        else:
            assert not warned, key
