"""Catalog entries from what the platform already declares: the registry and the dbt manifest.

Registry datasets take the national fields from their ``catalog:`` block (classification, sharing and
open type, format, publish date, related resources, per-item overrides) and everything else from the
dataset itself (provider, summary, update cycle, items). Libraries take theirs from
``config/catalog/libraries.yaml`` and the manifest (the models under ``models/base/``, with their docs).
Nothing here touches the database: resource codes are assigned when entries are stored.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from govlake.catalog.model import (
    CONDITIONAL,
    DATA_OFFICE,
    NOT_SHARED,
    OPEN_TYPES,
    SHARING_METHODS,
    SHARING_TYPES,
    SOURCE_FORMATS,
    CatalogEntry,
    CatalogError,
    Classification,
    InfoItem,
    default_item_sharing,
    resource_sharing,
)
from govlake.registry import REGISTRY_DIR, UPDATE_CYCLES, Dataset, RegistryError, load_departments
from govlake.settings import PROJECT_DIR

log = logging.getLogger(__name__)

LIBRARIES_FILE = Path(__file__).resolve().parents[1] / "config" / "catalog" / "libraries.yaml"
MANIFEST_FILE = PROJECT_DIR / "dbt_project" / "target" / "manifest.json"
DEFAULT_CONDITION = "经数据调度申请、提供方审批后，在批准期限内共享批准的信息项。"
PART_KEYS = (("类", "category"), ("项", "item"), ("目", "heading"), ("细目", "subheading"))
PART_WIDTHS = (1, 2, 3, 2)  # 类 项 目 细目: e.g. 1 01 001 01 = 基础信息资源类/人口信息/户籍人口/户籍登记


def _pick(block: dict, *names: str) -> Any:
    for name in names:
        if isinstance(block, dict) and block.get(name) not in (None, ""):
            return block[name]
    return None


def _part(value: Any, width: int, where: str) -> tuple[str, str]:
    """One level of the classification: ``"3"``, ``[3, 名称]``, ``{code, name}`` or ``"3 名称"``."""
    if isinstance(value, dict):
        code, name = value.get("code"), value.get("name", "")
    elif isinstance(value, list | tuple):
        code, name = (value[0], value[1] if len(value) > 1 else "") if value else (None, "")
    else:
        code, _, name = str(value).strip().partition(" ")
    code = str(code if code is not None else "").strip()
    if not code.isdigit() or len(code) > width:
        raise CatalogError(f"{where}: code {code!r} must be at most {width} digits")
    return code.zfill(width), str(name or "").strip()


def _split_code(code: str, where: str) -> list[str]:
    if not code.isdigit() or len(code) != sum(PART_WIDTHS):
        raise CatalogError(
            f"{where}.classification.code: {code!r} must be {sum(PART_WIDTHS)} digits (类1 项2 目3 细目2)"
        )
    cuts, start = [], 0
    for width in PART_WIDTHS:
        cuts.append(code[start : start + width])
        start += width
    return cuts


def parse_classification(value: Any, where: str) -> Classification:
    """类/项/目/细目 from ``{code: "10100101", 类: 名称, 项: 名称, ...}``, per-level ``{类: [1, 名称], ...}``
    (Chinese or English keys) or a string like ``1-01-001-01``."""
    if value in (None, "", {}):
        raise CatalogError(f"{where}: missing mandatory field 'classification' (类/项/目/细目)")
    if isinstance(value, dict) and value.get("code"):
        codes = _split_code(str(value["code"]), where)
        names = []
        for zh, en in PART_KEYS:
            name = _pick(value, zh, en)
            if name is None:
                raise CatalogError(f"{where}.classification: missing mandatory field '{zh}' ({en})")
            names.append(str(name))
        return Classification(*zip(codes, names, strict=True))
    if isinstance(value, str):
        pieces = [p for p in re.split(r"[-./\s]+", value.strip()) if p]
        if len(pieces) != 4:
            raise CatalogError(f"{where}.classification: {value!r} must have four parts 类-项-目-细目")
        value = dict(zip((k for k, _ in PART_KEYS), pieces, strict=True))
    parts = []
    for (zh, en), width in zip(PART_KEYS, PART_WIDTHS, strict=True):
        raw = _pick(value, zh, en)
        if raw is None:
            raise CatalogError(f"{where}.classification: missing mandatory field '{zh}' ({en})")
        parts.append(_part(raw, width, f"{where}.classification.{zh}"))
    return Classification(*parts)


def _choice(value: str | None, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise CatalogError(f"{where} is {value!r}; expected one of {', '.join(allowed)}")
    return value


def _required(value: Any, where: str) -> Any:
    if value in (None, "", [], ()):
        raise CatalogError(f"{where}: missing mandatory field")
    return value


def catalog_block(dataset: Dataset) -> dict:
    """The dataset's ``catalog:`` block: from ``Dataset.catalog`` if the registry has it, else the YAML."""
    block = getattr(dataset, "catalog", None)
    if isinstance(block, dict) and block:
        return block
    try:
        doc = yaml.safe_load(dataset.registry_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}
    for ds in doc.get("datasets") or []:
        if isinstance(ds, dict) and ds.get("code") == dataset.code:
            return ds.get("catalog") or {}
    return {}


def _dataset_index(dataset: Dataset) -> int:
    try:
        doc = yaml.safe_load(dataset.registry_file.read_text(encoding="utf-8")) or {}
        return [d.get("code") for d in doc.get("datasets") or []].index(dataset.code)
    except (OSError, ValueError, yaml.YAMLError):
        return 0


def _item_overrides(block: dict, where: str, names: list[str]) -> dict[str, dict]:
    items = _pick(block, "items", "信息项") or {}
    if isinstance(items, list):  # [{name: x, sharing_type: ...}, ...]
        items = {i.get("name"): i for i in items if isinstance(i, dict)}
    for name in items:
        if name not in names:
            raise CatalogError(f"{where}.items: {name!r} is not a column of the dataset")
    return items


def _build_items(
    columns: Iterable[tuple[str, str, str, str, str, str | None]],
    overrides: dict[str, dict],
    resource_type: str | None,
    open_type: str,
    where: str,
) -> tuple[InfoItem, ...]:
    """Items with their sharing type: the steward's override, else the default from the classification.

    A resource declared 不予共享 shares none of its items, whatever they would default to.
    """
    items = []
    for name, label, data_type, grade, pi, description in columns:
        spec = overrides.get(name) or {}
        sharing = _pick(spec, "sharing_type", "共享类型") or default_item_sharing(grade, pi)
        if resource_type == NOT_SHARED:
            sharing = NOT_SHARED
        sharing = _choice(sharing, SHARING_TYPES, f"{where}.items.{name}.sharing_type")
        condition = _pick(spec, "sharing_condition", "共享条件")
        item_open = _pick(spec, "open_type", "开放类型") or open_type
        items.append(
            InfoItem(
                name=name,
                label=label,
                data_type=data_type,
                grade=grade,
                pi=pi,
                sharing_type=sharing,
                sharing_condition=condition if sharing == CONDITIONAL else None,
                open_type=_choice(item_open, OPEN_TYPES, f"{where}.items.{name}.open_type"),
                description=description,
            )
        )
    return tuple(items)


def dataset_entry(dataset: Dataset, provider_code: str) -> CatalogEntry:
    """The catalog entry of one registry dataset; CatalogError names the registry file and field."""
    where = f"{dataset.registry_file}: datasets[{_dataset_index(dataset)}].catalog"
    block = catalog_block(dataset)
    sharing = _pick(block, "sharing") if isinstance(_pick(block, "sharing"), dict) else {}
    open_spec = _pick(block, "open") if isinstance(_pick(block, "open"), dict) else {}
    classification = parse_classification(_pick(block, "classification", "分类"), where)
    declared = _pick(block, "sharing_type", "共享类型") or _pick(sharing, "type")
    if declared is not None:
        _choice(declared, SHARING_TYPES, f"{where}.sharing_type")
    open_type = _choice(
        _pick(block, "open_type", "开放类型") or _pick(open_spec, "type") or "不予开放",
        OPEN_TYPES,
        f"{where}.open_type",
    )
    names = [c.name for c in dataset.columns]
    items = _build_items(
        ((c.name, c.label, c.type, c.grade, c.pi, None) for c in dataset.columns),
        _item_overrides(block, where, names),
        declared,
        open_type,
        where,
    )
    sharing_type = declared or resource_sharing([i.sharing_type for i in items])
    fmt = _pick(block, "format", "资源格式") or SOURCE_FORMATS.get(dataset.source_kind)
    method = (
        _pick(block, "sharing_method", "共享方式")
        or _pick(sharing, "method")
        or ("文件" if dataset.source_kind in ("csv", "xlsx") else "数据库")
    )
    condition = _pick(block, "sharing_condition", "共享条件") or _pick(sharing, "condition")
    if sharing_type == CONDITIONAL and not condition:
        condition = DEFAULT_CONDITION
    related = _pick(block, "related", "related_resources", "related_codes", "关联资源代码") or []
    return CatalogEntry(
        entry_key=dataset.key,
        kind="dataset",
        name=_required(dataset.name, f"{where}: name"),
        classification=classification,
        provider=_required(dataset.department_name, f"{dataset.registry_file}: department.name"),
        provider_code=_required(provider_code, f"{dataset.registry_file}: department.provider_code"),
        department=dataset.department,
        summary=_required(dataset.summary, f"{dataset.registry_file}: summary"),
        format=_required(fmt, f"{where}.format"),
        sharing_type=sharing_type,
        sharing_condition=condition if sharing_type == CONDITIONAL else None,
        sharing_method=_choice(method, SHARING_METHODS, f"{where}.sharing_method"),
        open_type=open_type,
        update_cycle=_choice(dataset.update_cycle, UPDATE_CYCLES, f"{dataset.registry_file}: update_cycle"),
        publish_date=str(_pick(block, "publish_date", "发布日期") or ""),
        items=items,
        source_file=str(dataset.registry_file),
        related_keys=tuple(str(r) for r in related),
        relation=None if sharing_type == NOT_SHARED else f"exchange.{dataset.key}",
        resource_code=_resource_code(_pick(block, "resource_code", "信息资源代码"), classification, where),
    )


def _resource_code(value: Any, classification: Classification, where: str) -> str | None:
    """A code the steward fixed in the registry: ``<classification code>/<6-digit sequence>``."""
    if value in (None, ""):
        return None
    code, _, seq = str(value).partition("/")
    if code != classification.code or not (seq.isdigit() and len(seq) == 6):
        raise CatalogError(
            f"{where}.resource_code: {value!r} must be the classification code {classification.code} + '/' + "
            "a six-digit sequence"
        )
    return str(value)


# `govlake stack up` parses the project into here before Airflow starts; a fresh stack has it before any
# build has written target/manifest.json.
PARSE_MANIFEST_FILE = PROJECT_DIR / "dbt_project" / "target" / "airflow" / "manifest.json"


def load_manifest(path: Path = MANIFEST_FILE) -> dict:
    if not path.exists() and path == MANIFEST_FILE and PARSE_MANIFEST_FILE.exists():
        path = PARSE_MANIFEST_FILE
    if not path.exists():
        raise CatalogError(
            f"{path}: the dbt manifest is missing; build the libraries once (`govlake cycle run` or "
            "`dbt parse` in dbt_project/) so that the libraries can be catalogued"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def library_models(manifest: dict) -> list[dict]:
    """The dbt models that are libraries (基础库 ``models/base/``, 主题库 ``models/themes/``, or
    ``meta.library: base``), sorted by name."""
    models = [
        n
        for n in manifest.get("nodes", {}).values()
        if n.get("resource_type") == "model"
        and (
            n.get("config", {}).get("meta", {}).get("library") == "base"
            or n.get("fqn", [None, None])[1] in ("base", "themes")
        )
    ]
    return sorted(models, key=lambda n: n["name"])


def _library_classes(library: str) -> dict[str, tuple[str, str]]:
    from govlake.policy.masking import MaskingConfigError, classify_library, load_masking_policy

    try:
        return {k: (v.grade, v.pi) for k, v in classify_library(load_masking_policy(), library).items()}
    except MaskingConfigError:
        return {}


def library_entry(model: dict, config: dict, manifest_path: Path) -> CatalogEntry:
    """The catalog entry of one library model; columns without a classification are never shared."""
    name = model["name"]
    spec = (config.get("libraries") or {}).get(name) or {}
    defaults = config.get("defaults") or {}
    provider = config.get("provider") or {}
    where = f"{LIBRARIES_FILE}: libraries.{name}"
    classes = _library_classes(name)
    columns = []
    for col in model.get("columns", {}).values():
        grade, pi = classes.get(col["name"], ("未分级", "unknown"))
        columns.append(
            (
                col["name"],
                (col.get("description") or col["name"]).split(" (")[0][:60],
                col.get("data_type") or "text",
                grade,
                pi,
                col.get("description"),
            )
        )
    unclassified = {c[0] for c in columns if c[3] == "未分级"}
    overrides = {n: {"sharing_type": NOT_SHARED} for n in unclassified} | (spec.get("items") or {})
    open_type = _choice(
        spec.get("open_type") or defaults.get("open_type", "不予开放"), OPEN_TYPES, f"{where}.open_type"
    )
    items = _build_items(columns, overrides, spec.get("sharing_type"), open_type, where)
    if not items:
        raise CatalogError(f"{manifest_path}: model {name} documents no columns; add them to its YAML")
    sharing_type = spec.get("sharing_type") or resource_sharing([i.sharing_type for i in items])
    condition = spec.get("sharing_condition") or defaults.get("sharing_condition") or DEFAULT_CONDITION
    return CatalogEntry(
        entry_key=name,
        kind="library",
        name=_required(spec.get("name") or name, f"{where}.name"),
        classification=parse_classification(spec.get("classification"), where),
        provider=_required(provider.get("name"), f"{LIBRARIES_FILE}: provider.name"),
        provider_code=_required(provider.get("code"), f"{LIBRARIES_FILE}: provider.code"),
        department=provider.get("department", DATA_OFFICE),
        summary=_required(
            (model.get("description") or "").strip(), f"{manifest_path}: model {name} description"
        ),
        format=spec.get("format") or defaults.get("format", "数据库"),
        sharing_type=sharing_type,
        sharing_condition=condition if sharing_type == CONDITIONAL else None,
        sharing_method=_choice(
            spec.get("sharing_method") or defaults.get("sharing_method", "数据库"),
            SHARING_METHODS,
            f"{where}.sharing_method",
        ),
        open_type=open_type,
        update_cycle=_choice(
            spec.get("update_cycle") or defaults.get("update_cycle", "每日"),
            UPDATE_CYCLES,
            f"{where}.update_cycle",
        ),
        publish_date=str(spec.get("publish_date") or ""),
        items=items,
        source_file=str(manifest_path),
        related_keys=tuple(spec.get("related") or ()),
        relation=None if sharing_type == NOT_SHARED else f"exchange.{name}",
    )


def build_entries(
    registry_dir: Path = REGISTRY_DIR,
    manifest_path: Path | None = MANIFEST_FILE,
    libraries_file: Path = LIBRARIES_FILE,
    errors: list[str] | None = None,
) -> list[CatalogEntry]:
    """Every valid entry; an invalid one is reported (``errors``, the log) and skipped, like the registry."""
    errors = errors if errors is not None else []
    entries: list[CatalogEntry] = []
    registry_errors: list[str] = []
    for dept in load_departments(registry_dir, errors=registry_errors):
        for ds in dept.datasets:
            try:
                entries.append(dataset_entry(ds, dept.provider_code))
            except (CatalogError, RegistryError) as exc:
                errors.append(str(exc))
    errors.extend(registry_errors)
    if manifest_path is not None:
        entries += _library_entries(manifest_path, libraries_file, errors)
    for error in errors:
        log.error("catalog: %s", error)
    return entries


def _library_entries(manifest_path: Path, libraries_file: Path, errors: list[str]) -> list[CatalogEntry]:
    try:
        manifest = load_manifest(manifest_path)
    except CatalogError as exc:
        errors.append(str(exc))
        return []
    config = yaml.safe_load(libraries_file.read_text(encoding="utf-8")) or {}
    entries = []
    for model in library_models(manifest):
        try:
            entries.append(library_entry(model, config, manifest_path))
        except CatalogError as exc:
            errors.append(str(exc))
    return entries


def build_library_entries(
    manifest_path: Path = MANIFEST_FILE,
    libraries_file: Path = LIBRARIES_FILE,
    errors: list[str] | None = None,
) -> list[CatalogEntry]:
    """The libraries' entries only (publish catalogues a library it publishes for the first time)."""
    errors = errors if errors is not None else []
    entries = _library_entries(manifest_path, libraries_file, errors)
    for error in errors:
        log.error("catalog: %s", error)
    return entries
