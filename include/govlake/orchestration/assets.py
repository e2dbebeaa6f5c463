"""The Assets that chain the daily cycle: ingest -> build (audit) -> publish.

Kept free of heavy imports: DAG files import this at parse time.
"""

from __future__ import annotations

from airflow.sdk import Asset

from govlake.registry import Dataset

AUDIT_LIBRARIES = Asset(name="audit_libraries", uri="postgres://warehouse/govlake/audit/libraries")
BASE_POPULATION = Asset(name="base_population", uri="postgres://warehouse/govlake/base/population")
BASE_LEGAL_ENTITIES = Asset(
    name="base_legal_entities", uri="postgres://warehouse/govlake/base/legal_entities"
)


def open_asset(name: str) -> Asset:
    """One open dataset's releases: ``s3://open/<dataset>`` (``publish__open_data``'s outlets)."""
    return Asset(name=f"open_{name.replace('-', '_')}", uri=f"s3://open/{name}")


def raw_asset(dataset: Dataset) -> Asset:
    """The raw partition set of one department dataset: ``s3://raw/<department>/<dataset>``."""
    return Asset(name=f"raw_{dataset.key}", uri=dataset.asset_uri)
