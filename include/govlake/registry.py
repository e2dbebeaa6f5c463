"""The department registry: one YAML file per department under ``config/departments/``.

Each file declares the department and its datasets (source kind and connection, schedule, declared
schema with Chinese item names, primary key, per-column grade and personal-information flag). Ingest
DAGs, raw tables, staging models and catalog entries all derive from it. A bad file is reported with
its path and field and skipped, so it never takes down the other departments.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

log = logging.getLogger(__name__)

# GOVLAKE_REGISTRY_DIR points a stack (its DAG processor and tasks) at another registry, e.g. a test one.
REGISTRY_DIR = Path(
    os.environ.get("GOVLAKE_REGISTRY_DIR") or Path(__file__).parent / "config" / "departments"
)

COLUMN_TYPES = {
    "string": "text",
    "integer": "bigint",
    "decimal": "numeric",
    "date": "date",
    "timestamp": "timestamptz",
}
SOURCE_KINDS = ("database", "csv", "xlsx", "rest_api")
GRADES = ("核心", "重要", "一般")
PI_FLAGS = ("direct", "quasi", "none")
# A database source's captured deletions land as ``<dataset>_<YYYYMMDD>_deleted.csv`` (Dataset.tombstone_file).
TOMBSTONE_FILE_SUFFIX = "_deleted.csv"
UPDATE_CYCLES = ("实时", "每日", "每周", "每月", "每季度", "每年")
# 政务信息资源目录编制指南: sharing and open types of a catalog entry. Conditional sharing must state its
# condition, and a resource not shared must state the basis for it, so both require sharing_condition.
SHARING_TYPES = ("无条件共享", "有条件共享", "不予共享")
OPEN_TYPES = ("无条件开放", "有条件开放", "不予开放")

# Columns the platform adds to every raw row: where it came from, so that every row can be traced
# back to its file and line and reconciled per batch.
LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_batch_id", "text"),
    ("_logical_date", "date"),
    ("_source_file", "text"),
    ("_source_row", "bigint"),
    ("_ingested_at", "timestamptz"),
    # A tombstone: the source deleted this key (soft-delete flag set); staging excludes deleted keys.
    ("_deleted", "boolean"),
)


class RegistryError(ValueError):
    """A registry file is invalid; the message names the file and the field."""


@dataclass(frozen=True)
class Column:
    name: str
    source_name: str
    label: str
    type: str
    required: bool
    grade: str
    pi: str

    @property
    def sql_type(self) -> str:
        return COLUMN_TYPES[self.type]


@dataclass(frozen=True)
class Dataset:
    department: str
    department_name: str
    code: str
    name: str
    summary: str
    update_cycle: str
    schedule: str
    source: dict
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]
    registry_file: Path = field(compare=False)
    catalog: dict = field(default_factory=dict)  # the catalog entry's fields (政务信息资源目录), as written
    # The department ingests on its own front-end processor (前置机, an Airflow edge worker in its network).
    front_end_processor: bool = False
    # The register other departments' rows are checked against (公安厅's household registration): its
    # batch is validated first, so consistency rules compare with the registry rows that passed.
    authoritative: bool = False

    @property
    def key(self) -> str:
        """``<department>__<dataset>``: the stem of DAG ids, raw tables and batch ids."""
        return f"{self.department}__{self.code}"

    @property
    def source_kind(self) -> str:
        return self.source["kind"]

    @property
    def is_daily(self) -> bool:
        """Delivered every day (or continuously): the daily build waits for these to land."""
        return self.update_cycle in ("实时", "每日")

    @property
    def dag_id(self) -> str:
        return f"ingest__{self.key}"

    @property
    def raw_table(self) -> str:
        return f"raw.{self.key}"

    @property
    def landing_prefix(self) -> str:
        return f"{self.department}/{self.code}/"

    @property
    def asset_uri(self) -> str:
        return f"s3://raw/{self.department}/{self.code}"

    @property
    def staging_view(self) -> str:
        """``staging.stg_<department>__<entity>s`` — the dbt naming convention for one raw table."""
        entity = self.code if self.code.endswith("s") else f"{self.code}s"
        return f"staging.stg_{self.department}__{entity}"

    def tombstone_file(self, logical_date: date) -> str:
        """The delete capture's file of vanished keys for a date (loaded as tombstones)."""
        return f"{self.code}_{logical_date:%Y%m%d}{TOMBSTONE_FILE_SUFFIX}"

    def batch_id(self, logical_date: str) -> str:
        return f"{self.key}__{logical_date}"

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.key} has no column {name!r}")


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    name_en: str
    provider_code: str
    sensitivity: str
    datasets: tuple[Dataset, ...]
    registry_file: Path = field(compare=False)
    front_end_processor: bool = False


def _require(mapping: dict, key: str, where: str, path: Path):
    if not isinstance(mapping, dict) or key not in mapping or mapping[key] in (None, ""):
        raise RegistryError(f"{path}: missing required field '{where}{key}'")
    return mapping[key]


def _choice(value: str, allowed: tuple[str, ...], where: str, path: Path) -> str:
    if value not in allowed:
        raise RegistryError(f"{path}: field '{where}' is {value!r}; expected one of {', '.join(allowed)}")
    return value


def _catalog(ds: dict, where: str, path: Path) -> dict:
    """The dataset's ``catalog:`` block; sharing and open types checked against the national guide."""
    catalog = ds.get("catalog") or {}
    if not isinstance(catalog, dict):
        raise RegistryError(f"{path}: field '{where}catalog' must be a mapping of catalog fields")
    if "sharing_type" in catalog:
        sharing = _choice(catalog["sharing_type"], SHARING_TYPES, f"{where}catalog.sharing_type", path)
        if sharing != "无条件共享" and not catalog.get("sharing_condition"):
            raise RegistryError(
                f"{path}: field '{where}catalog.sharing_condition' is required when sharing_type is {sharing} "
                "(state the condition, or the basis for not sharing)"
            )
    if "open_type" in catalog:
        _choice(catalog["open_type"], OPEN_TYPES, f"{where}catalog.open_type", path)
    return dict(catalog)


def parse_department(path: Path) -> Department:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path}: not valid YAML: {exc}") from exc
    dept = _require(doc, "department", "", path)
    code = _require(dept, "code", "department.", path)
    name = _require(dept, "name", "department.", path)
    datasets = []
    for i, ds in enumerate(_require(doc, "datasets", "", path)):
        where = f"datasets[{i}]."
        source = _require(ds, "source", where, path)
        kind = _choice(
            _require(source, "kind", f"{where}source.", path), SOURCE_KINDS, f"{where}source.kind", path
        )
        if kind == "database" or (kind == "rest_api" and "url" not in source):
            # where the department system is: an AIRFLOW_CONN_<ID> connection (govlake.connections)
            _require(source, "connection", f"{where}source.", path)
        columns = []
        for j, col in enumerate(_require(ds, "columns", where, path)):
            cw = f"{where}columns[{j}]."
            columns.append(
                Column(
                    name=_require(col, "name", cw, path),
                    source_name=str(col.get("source_name") or col["name"]),
                    label=_require(col, "label", cw, path),
                    type=_choice(_require(col, "type", cw, path), tuple(COLUMN_TYPES), f"{cw}type", path),
                    required=bool(col.get("required", False)),
                    grade=_choice(col.get("grade", "一般"), GRADES, f"{cw}grade", path),
                    pi=_choice(col.get("pi", "none"), PI_FLAGS, f"{cw}pi", path),
                )
            )
        names = [c.name for c in columns]
        pk = tuple(_require(ds, "primary_key", where, path))
        for k in pk:
            if k not in names:
                raise RegistryError(
                    f"{path}: field '{where}primary_key' names {k!r}, which is not a declared column"
                )
        datasets.append(
            Dataset(
                department=code,
                department_name=name,
                code=_require(ds, "code", where, path),
                name=_require(ds, "name", where, path),
                summary=_require(ds, "summary", where, path),
                update_cycle=_choice(
                    _require(ds, "update_cycle", where, path), UPDATE_CYCLES, f"{where}update_cycle", path
                ),
                schedule=str(ds.get("schedule", "@daily")),
                source=dict(source),
                primary_key=pk,
                columns=tuple(columns),
                registry_file=path,
                catalog=_catalog(ds, where, path),
                front_end_processor=bool(dept.get("front_end_processor", False)),
                authoritative=bool(ds.get("authoritative", False)),
            )
        )
    return Department(
        code=code,
        name=name,
        name_en=str(dept.get("name_en", "")),
        provider_code=_require(dept, "provider_code", "department.", path),
        sensitivity=str(dept.get("sensitivity", "low")),
        datasets=tuple(datasets),
        registry_file=path,
        front_end_processor=bool(dept.get("front_end_processor", False)),
    )


def load_departments(directory: Path = REGISTRY_DIR, errors: list[str] | None = None) -> list[Department]:
    """Every valid department file; invalid ones are logged (and collected in ``errors``) and skipped."""
    departments = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            departments.append(parse_department(path))
        except RegistryError as exc:
            log.error("%s", exc)
            if errors is not None:
                errors.append(str(exc))
    return departments


def iter_datasets(directory: Path = REGISTRY_DIR) -> Iterator[Dataset]:
    for dept in load_departments(directory):
        yield from dept.datasets


def get_dataset(key: str, directory: Path = REGISTRY_DIR) -> Dataset:
    for ds in iter_datasets(directory):
        if ds.key == key:
            return ds
    raise KeyError(f"no dataset {key!r} in the registry ({directory})")
