"""OpenLineage RunEvents for what the platform runs: each registry dataset's ingest and each dbt model.

Datasets follow OpenLineage's naming: the warehouse as ``postgres://<host>:<port>`` with
``<database>.<schema>.<table>``, the lake as ``s3://<bucket>`` with ``<department>/<dataset>``. Each dataset
also carries a symlink (namespace ``govlake``) with the platform's own relation name — ``raw.<key>``,
``base.population``, ``source.<key>`` (the department's system), ``landing.<key>`` and ``lake.<key>`` — so
the graph speaks the names people use while Marquez or any other consumer sees the standard identities.

Column lineage (``ColumnLineageDatasetFacet``): the ingest maps each department column by its own name
(``性别``) to the platform's (``gender``); dbt models get theirs from :mod:`govlake.lineage.column_lineage`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    column_lineage_dataset,
    documentation_dataset,
    job_type_job,
    nominal_time_run,
    schema_dataset,
    sql_job,
    symlinks_dataset,
)
from openlineage.client.serde import Serde
from openlineage.client.uuid import generate_new_uuid

from govlake.lineage.column_lineage import ModelLineage
from govlake.registry import LINEAGE_COLUMNS, Dataset
from govlake.settings import Settings

PRODUCER = "https://github.com/govlake/govlake/tree/main/include/govlake/lineage"
JOB_NAMESPACE = "govlake"
SYMLINK_NAMESPACE = "govlake"
SOURCE_KIND_LABELS = {"database": "数据库", "csv": "文件", "xlsx": "文件", "rest_api": "接口"}


def warehouse_namespace(settings: Settings) -> str:
    return f"postgres://{settings.pg_host}:{settings.pg_port}"


def _symlink(relation: str) -> symlinks_dataset.SymlinksDatasetFacet:
    return symlinks_dataset.SymlinksDatasetFacet(
        identifiers=[symlinks_dataset.Identifier(namespace=SYMLINK_NAMESPACE, name=relation, type="TABLE")]
    )


def _schema(columns: Iterable[str], types: dict[str, str] | None = None) -> schema_dataset.SchemaDatasetFacet:
    types = types or {}
    return schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=c, type=types.get(c)) for c in columns]
    )


def _column_lineage(
    sources: dict[str, Iterable[tuple[str, str, str]]], transformation: str = "INDIRECT"
) -> column_lineage_dataset.ColumnLineageDatasetFacet:
    """sources: output column -> (namespace, dataset name, column) of every input column it is made from."""
    return column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={
            column: column_lineage_dataset.Fields(
                inputFields=[
                    column_lineage_dataset.InputField(
                        namespace=ns,
                        name=name,
                        field=field,
                        transformations=[column_lineage_dataset.Transformation(type=transformation)],
                    )
                    for ns, name, field in refs
                ]
            )
            for column, refs in sources.items()
            if refs
        }
    )


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _run(logical_date: str | None) -> Run:
    facets: dict[str, Any] = {}
    if logical_date:
        facets["nominalTime"] = nominal_time_run.NominalTimeRunFacet(
            nominalStartTime=f"{logical_date}T00:00:00+00:00"
        )
    return Run(runId=str(generate_new_uuid()), facets=facets)


def source_dataset(dataset: Dataset, settings: Settings) -> tuple[str, str]:
    """The department system's side as an OpenLineage (namespace, name): its Airflow connection id
    names the system (the address and credentials stay in the connection)."""
    kind = dataset.source_kind
    connection = dataset.source.get("connection") or dataset.department
    if kind == "database":
        return f"postgres://{connection}", str(dataset.source.get("table", dataset.code))
    if kind == "rest_api":
        return f"https://{connection}", str(dataset.source.get("path", dataset.code)).lstrip("/")
    return f"file://{dataset.department}", dataset.code  # a file drop: the department's side of it


def ingest_event(dataset: Dataset, settings: Settings, logical_date: str | None = None) -> RunEvent:
    """The ingest of one registry dataset: the department's system → landing → raw objects → ``raw.<key>``."""
    wh = warehouse_namespace(settings)
    src_ns, src_name = source_dataset(dataset, settings)
    source_cols = [c.source_name for c in dataset.columns]
    doc = documentation_dataset.DocumentationDatasetFacet(
        description=f"{dataset.department_name} {dataset.name}"
    )
    source = InputDataset(
        namespace=src_ns,
        name=src_name,
        facets={
            "schema": _schema(source_cols),
            "symlinks": _symlink(f"source.{dataset.key}"),
            "documentation": doc,
        },
    )
    landing = OutputDataset(
        namespace="s3://landing",
        name=f"{dataset.department}/{dataset.code}",
        facets={
            "schema": _schema(source_cols),
            "symlinks": _symlink(f"landing.{dataset.key}"),
            "columnLineage": _column_lineage(
                {c.source_name: [(src_ns, src_name, c.source_name)] for c in dataset.columns}, "IDENTITY"
            ),
        },
    )
    platform_cols = [c.name for c in dataset.columns]
    lake = OutputDataset(
        namespace="s3://raw",
        name=f"{dataset.department}/{dataset.code}",
        facets={
            "schema": _schema(platform_cols),
            "symlinks": _symlink(f"lake.{dataset.key}"),
            "columnLineage": _column_lineage(
                {c.name: [("s3://landing", landing.name, c.source_name)] for c in dataset.columns}, "IDENTITY"
            ),
        },
    )
    raw = OutputDataset(
        namespace=wh,
        name=f"{settings.warehouse_db}.raw.{dataset.key}",
        facets={
            "schema": _schema(
                platform_cols + [n for n, _ in LINEAGE_COLUMNS],
                {c.name: c.sql_type for c in dataset.columns} | dict(LINEAGE_COLUMNS),
            ),
            "symlinks": _symlink(dataset.raw_table),
            "columnLineage": _column_lineage(
                {c.name: [("s3://raw", lake.name, c.name)] for c in dataset.columns}, "IDENTITY"
            ),
        },
    )
    return RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=_now(),
        run=_run(logical_date),
        job=Job(
            namespace=JOB_NAMESPACE,
            name=dataset.dag_id,
            facets={
                "jobType": job_type_job.JobTypeJobFacet(
                    processingType="BATCH", integration="GOVLAKE", jobType="INGEST"
                )
            },
        ),
        inputs=[source],
        outputs=[landing, lake, raw],
        producer=PRODUCER,
    )


def _physical_name(model: ModelLineage, settings: Settings) -> str:
    return f"{settings.warehouse_db}.{model.physical}"


def model_event(
    model: ModelLineage, models: dict[str, ModelLineage], settings: Settings, logical_date: str | None = None
) -> RunEvent:
    """One dbt model's run: its parents as inputs, itself as output with schema and column lineage."""
    wh = warehouse_namespace(settings)

    def dataset_of(relation: str) -> tuple[str, str]:
        parent = models.get(relation)
        return wh, _physical_name(parent, settings) if parent else f"{settings.warehouse_db}.{relation}"

    inputs = []
    for relation in model.inputs:
        ns, name = dataset_of(relation)
        parent = models.get(relation)
        facets: dict[str, Any] = {"symlinks": _symlink(relation)}
        if parent and parent.columns:
            facets["schema"] = _schema(parent.columns)
        inputs.append(InputDataset(namespace=ns, name=name, facets=facets))
    column_sources = {
        col: [(*dataset_of(rel), src) for rel, src in refs] for col, refs in model.column_sources.items()
    }
    out_facets: dict[str, Any] = {"schema": _schema(model.columns), "symlinks": _symlink(model.relation)}
    if column_sources:
        out_facets["columnLineage"] = _column_lineage(column_sources)
    if model.description:
        out_facets["documentation"] = documentation_dataset.DocumentationDatasetFacet(
            description=model.description
        )
    job_facets: dict[str, Any] = {
        "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="DBT", jobType="MODEL")
    }
    if model.sql:
        job_facets["sql"] = sql_job.SQLJobFacet(query=model.sql)
    return RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=_now(),
        run=_run(logical_date),
        job=Job(namespace=JOB_NAMESPACE, name=f"dbt.{model.unique_id}", facets=job_facets),
        inputs=inputs,
        outputs=[OutputDataset(namespace=wh, name=_physical_name(model, settings), facets=out_facets)],
        producer=PRODUCER,
    )


def dbt_events(
    models: dict[str, ModelLineage], settings: Settings, logical_date: str | None = None
) -> list[RunEvent]:
    return [
        model_event(m, models, settings, logical_date) for m in models.values() if m.resource_type == "model"
    ]


def to_json(event: RunEvent) -> dict[str, Any]:
    """The event as the HTTP transport sends it (camelCase, no nulls)."""
    return Serde.to_dict(event)
