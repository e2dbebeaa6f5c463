"""The catalog as documents: GB-style JSON (政务信息资源目录 fields in Chinese) and DCAT-AP 3 JSON-LD.

Sharing types map onto DCAT access rights (无条件共享 -> PUBLIC, 有条件共享 -> RESTRICTED,
不予共享 -> NON_PUBLIC) and update cycles onto the EU frequency vocabulary. The JSON-LD carries an
inline context (no network fetch to read it) and is checked in the tests against the official
DCAT-AP 3.0.1 SHACL shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from govlake.catalog.model import ACCESS_RIGHTS, FREQUENCIES, CatalogEntry

ACCESS_RIGHT_BASE = "http://publications.europa.eu/resource/authority/access-right/"
FREQUENCY_BASE = "http://publications.europa.eu/resource/authority/frequency/"
CATALOG_TITLE = "贵州省政务信息资源目录"
CONTEXT: dict[str, str] = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "gl": "urn:govlake:catalog#",
}


def gb_document(entry: CatalogEntry) -> dict[str, Any]:
    """One entry with the field names of 政务信息资源目录编制指南 (2017)."""
    cls = entry.classification.as_dict()
    return {
        "信息资源分类": {k: f"{v['code']} {v['name']}".strip() for k, v in cls.items()},
        "信息资源名称": entry.name,
        "信息资源代码": entry.resource_code,
        "信息资源提供方": entry.provider,
        "信息资源提供方代码": entry.provider_code,
        "信息资源摘要": entry.summary,
        "信息资源格式": entry.format,
        "信息项信息": [
            {
                "信息项名称": i.label,
                "字段名": i.name,
                "数据类型": i.data_type_label,
                "共享类型": i.sharing_type,
                "共享条件": i.sharing_condition,
                "开放类型": i.open_type,
                "数据分级": i.grade,
            }
            for i in entry.items
        ],
        "共享属性": {
            "共享类型": entry.sharing_type,
            "共享条件": entry.sharing_condition,
            "共享方式": entry.sharing_method,
        },
        "开放属性": {"开放类型": entry.open_type},
        "更新周期": entry.update_cycle,
        "发布日期": entry.publish_date,
        "关联资源代码": list(entry.related_codes),
    }


def gb_catalog(entries: Sequence[CatalogEntry]) -> dict[str, Any]:
    return {
        "目录名称": CATALOG_TITLE,
        "信息资源数": len(entries),
        "信息资源": [gb_document(e) for e in entries],
    }


def _text(value: str) -> dict[str, str]:
    return {"@value": value, "@language": "zh"}


def _agent(base_url: str, name: str, code: str, department: str) -> dict[str, Any]:
    return {
        "@id": f"{base_url}/agents/{department}",
        "@type": "foaf:Agent",
        "foaf:name": _text(name),
        "dct:identifier": code,
    }


def dcat_dataset(entry: CatalogEntry, base_url: str) -> dict[str, Any]:
    """A dcat:Dataset for one entry; its items as gl:item nodes with their own access rights."""
    iri = f"{base_url}/catalog/{entry.resource_code}"
    rights = {"@id": ACCESS_RIGHT_BASE + ACCESS_RIGHTS[entry.sharing_type], "@type": "dct:RightsStatement"}
    doc: dict[str, Any] = {
        "@id": iri,
        "@type": "dcat:Dataset",
        "dct:identifier": entry.resource_code,
        "dct:title": _text(entry.name),
        "dct:description": _text(entry.summary),
        "dct:publisher": _agent(base_url, entry.provider, entry.provider_code, entry.department),
        "dct:accessRights": rights,
        "dct:accrualPeriodicity": {
            "@id": FREQUENCY_BASE + FREQUENCIES[entry.update_cycle],
            "@type": "dct:Frequency",
        },
        "dct:issued": {"@value": entry.publish_date, "@type": "xsd:date"},
        "dcat:keyword": [_text(v["name"]) for v in entry.classification.as_dict().values() if v["name"]],
        "dct:relation": [{"@id": f"{base_url}/catalog/{code}"} for code in entry.related_codes],
        "gl:classificationCode": entry.classification.code,
        "gl:sharingType": entry.sharing_type,
        "gl:openType": entry.open_type,
        "gl:item": [
            {
                "@id": f"{iri}#{i.name}",
                "gl:name": i.name,
                "dct:title": _text(i.label),
                "gl:dataType": i.data_type_label,
                "gl:sharingType": i.sharing_type,
                "dct:accessRights": {
                    "@id": ACCESS_RIGHT_BASE + ACCESS_RIGHTS[i.sharing_type],
                    "@type": "dct:RightsStatement",
                },
            }
            for i in entry.items
        ],
    }
    if entry.sharing_condition:
        doc["gl:sharingCondition"] = _text(entry.sharing_condition)
    if entry.relation:
        doc["dcat:distribution"] = [
            {
                "@id": f"{iri}/distribution/api",
                "@type": "dcat:Distribution",
                "dcat:accessURL": {"@id": f"{base_url}/data/{entry.entry_key}"},
                "dct:title": _text(f"{entry.name}（{entry.sharing_method}）"),
                "dct:accessRights": rights,
            }
        ]
    return doc


def dcat_catalog(entries: Sequence[CatalogEntry], base_url: str) -> dict[str, Any]:
    """The whole catalog as one DCAT-AP 3 JSON-LD document (a dcat:Catalog with its datasets)."""
    return {
        "@context": CONTEXT,
        "@id": f"{base_url}/catalog",
        "@type": "dcat:Catalog",
        "dct:title": _text(CATALOG_TITLE),
        "dct:description": _text("贵州省各部门政务信息资源及基础库的目录，含共享与开放属性。"),
        "dct:publisher": _agent(base_url, "贵州省大数据发展管理局", "11520000MB0000001A", "data_office"),
        "dcat:dataset": [dcat_dataset(e, base_url) for e in entries],
    }
