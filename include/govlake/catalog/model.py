"""The catalog entry (政务信息资源目录编制指南 2017) as data, and the rules that fill its sharing fields.

A resource's information items (信息项) each carry a sharing type; the resource's own type is derived
from them unless the registry says otherwise. The default follows the item's classification
(GB/T 43697-2024 grade and personal-information flag): core data is never shared, important data and
direct identifiers only on request, everything else without condition. A steward overrides per item
in the registry's ``catalog:`` block.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

UNCONDITIONAL, CONDITIONAL, NOT_SHARED = "无条件共享", "有条件共享", "不予共享"
SHARING_TYPES: tuple[str, ...] = (UNCONDITIONAL, CONDITIONAL, NOT_SHARED)
OPEN_TYPES: tuple[str, ...] = ("无条件开放", "有条件开放", "不予开放")
SHARING_METHODS: tuple[str, ...] = ("数据库", "接口", "文件")
# Sharing types -> DCAT-AP access rights (EU "access-right" authority table).
ACCESS_RIGHTS = {UNCONDITIONAL: "PUBLIC", CONDITIONAL: "RESTRICTED", NOT_SHARED: "NON_PUBLIC"}
# 更新周期 -> EU "frequency" authority table (dct:accrualPeriodicity).
FREQUENCIES = {
    "实时": "CONT",
    "每日": "DAILY",
    "每周": "WEEKLY",
    "每月": "MONTHLY",
    "每季度": "QUARTERLY",
    "每年": "ANNUAL",
}
# Source kind -> 资源格式 and the method a department receives it by (file resources share as files,
# database resources as database or API).
SOURCE_FORMATS = {"database": "数据库", "csv": "电子表格", "xlsx": "电子表格", "rest_api": "接口"}
DATA_TYPES = {
    "string": "字符型",
    "integer": "数值型",
    "decimal": "数值型",
    "date": "日期型",
    "timestamp": "日期时间型",
}

DATA_OFFICE = "data_office"


class CatalogError(ValueError):
    """A catalog entry is incomplete or invalid; the message names the file and the field."""


def default_item_sharing(grade: str, pi: str) -> str:
    """The sharing type an item gets from its classification when the steward has not set one."""
    if grade == "核心":
        return NOT_SHARED
    if grade == "重要" or pi == "direct":
        return CONDITIONAL
    return UNCONDITIONAL


def resource_sharing(item_types: list[str]) -> str:
    """A resource is as open as its most open item: all 不予 -> 不予, any 有条件 -> 有条件, else 无条件."""
    if all(t == NOT_SHARED for t in item_types):
        return NOT_SHARED
    if any(t in (CONDITIONAL, NOT_SHARED) for t in item_types):
        return CONDITIONAL
    return UNCONDITIONAL


@dataclass(frozen=True)
class InfoItem:
    """信息项: one column of a resource."""

    name: str
    label: str
    data_type: str  # registry type (string, date, ...) or SQL type for libraries
    grade: str
    pi: str
    sharing_type: str
    sharing_condition: str | None = None
    open_type: str = "不予开放"
    description: str | None = None

    @property
    def data_type_label(self) -> str:
        return DATA_TYPES.get(self.data_type, self.data_type)


@dataclass(frozen=True)
class Classification:
    """类/项/目/细目: each a code and a name. The code of the whole is the four codes concatenated."""

    category: tuple[str, str]  # 类 (1 digit)
    item: tuple[str, str]  # 项 (2 digits)
    heading: tuple[str, str]  # 目 (3 digits)
    subheading: tuple[str, str]  # 细目 (3 digits)

    @property
    def code(self) -> str:
        return "".join(part[0] for part in (self.category, self.item, self.heading, self.subheading))

    def as_dict(self) -> dict[str, dict[str, str]]:
        names = ("类", "项", "目", "细目")
        parts = (self.category, self.item, self.heading, self.subheading)
        return {n: {"code": c, "name": label} for n, (c, label) in zip(names, parts, strict=True)}


@dataclass(frozen=True)
class CatalogEntry:
    """One 政务信息资源 with the national fields. ``resource_code`` is assigned when stored."""

    entry_key: str
    kind: str  # dataset | library
    name: str
    classification: Classification
    provider: str
    provider_code: str
    department: str
    summary: str
    format: str
    sharing_type: str
    sharing_condition: str | None
    sharing_method: str
    open_type: str
    update_cycle: str
    publish_date: str  # ISO date
    items: tuple[InfoItem, ...]
    source_file: str
    related_keys: tuple[str, ...] = ()
    relation: str | None = None
    resource_code: str | None = None
    related_codes: tuple[str, ...] = field(default=())

    def item(self, name: str) -> InfoItem:
        for it in self.items:
            if it.name == name:
                return it
        raise KeyError(f"resource {self.entry_key} has no information item {name!r}")

    def items_of(self, sharing_type: str) -> list[str]:
        return [it.name for it in self.items if it.sharing_type == sharing_type]

    def as_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["classification"] = self.classification.as_dict()
        doc["classification_code"] = self.classification.code
        return doc
