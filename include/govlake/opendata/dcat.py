"""The open-data catalog as DCAT-AP 3: JSON-LD (inline context, no network fetch) and Turtle.

Each open dataset is a ``dcat:Dataset`` whose distributions are the files of its latest release; every
release is also a ``dcat:Dataset`` of its own (``dcat:hasVersion``, with ``dcat:version``), so earlier
versions stay discoverable and downloadable. Shared vocabulary (context, agents, frequencies, access
rights) comes from ``govlake.catalog.export``; file types and themes use the EU authority tables.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg

from govlake.catalog.export import ACCESS_RIGHT_BASE, CONTEXT, FREQUENCY_BASE
from govlake.catalog.model import FREQUENCIES
from govlake.opendata.ckan_actions import _datasets, _releases, _resources

FILE_TYPE_BASE = "http://publications.europa.eu/resource/authority/file-type/"
THEME_BASE = "http://publications.europa.eu/resource/authority/data-theme/"
IANA = "https://www.iana.org/assignments/media-types/"
# EU data-theme labels (skos:prefLabel is mandatory on a skos:Concept in DCAT-AP 3).
THEME_LABELS = {
    "AGRI": "Agriculture, fisheries, forestry and food",
    "ECON": "Economy and finance",
    "GOVE": "Government and public sector",
    "REGI": "Regions and cities",
    "SOCI": "Population and society",
    "TRAN": "Transport",
}
MAX_VERSIONS = 100  # per dataset in the catalog document; package_show lists them all
OPEN_CONTEXT = {**CONTEXT, "spdx": "http://spdx.org/rdf/terms#", "vcard": "http://www.w3.org/2006/vcard/ns#"}
CATALOG_TITLE = {"zh": "贵州省公共数据开放目录", "en": "Guizhou open data catalog"}


def _lang(value: str, lang: str) -> dict[str, str]:
    return {"@value": value, "@language": lang}


def _both(zh: str, en: str) -> list[dict[str, str]]:
    return [_lang(zh, "zh"), _lang(en, "en")]


def _publisher(base_url: str, code: str, title: str) -> dict[str, Any]:
    return {
        "@id": f"{base_url}/organization/{code}",
        "@type": "foaf:Agent",
        "foaf:name": _lang(title, "zh"),
        "dct:identifier": code,
    }


def _distribution(base_url: str, r: dict[str, Any], license_url: str | None) -> dict[str, Any]:
    url = f"{base_url}/download/{r['dataset']}/{r['version']}/{r['file']}"
    doc: dict[str, Any] = {
        "@id": f"{base_url}/open/resource/{r['id']}",
        "@type": "dcat:Distribution",
        "dct:identifier": r["id"],
        "dct:title": _lang(f"{r['file']} ({r['version']})", "en"),
        "dcat:accessURL": {"@id": url},
        "dcat:downloadURL": {"@id": url},
        "dct:format": {"@id": FILE_TYPE_BASE + r["format"], "@type": "dct:MediaTypeOrExtent"},
        "dcat:mediaType": {"@id": IANA + r["media_type"], "@type": "dct:MediaType"},
        "dcat:byteSize": {"@value": str(r["bytes"]), "@type": "xsd:nonNegativeInteger"},
        "spdx:checksum": {
            "@id": f"{base_url}/open/resource/{r['id']}#sha256",
            "@type": "spdx:Checksum",
            "spdx:algorithm": {
                "@id": "http://spdx.org/rdf/terms#checksumAlgorithm_sha256",
                "@type": "spdx:ChecksumAlgorithm",
            },
            "spdx:checksumValue": {"@value": r["sha256"], "@type": "xsd:hexBinary"},
        },
        "dct:issued": {"@value": r["created_at"].isoformat(), "@type": "xsd:dateTime"},
    }
    if license_url:
        doc["dct:license"] = {"@id": license_url, "@type": "dct:LicenseDocument"}
    return doc


def _dataset_doc(
    base_url: str,
    d: dict[str, Any],
    groups: dict[str, dict],
    release: dict[str, Any],
    files: list[dict],
    latest: bool,
) -> dict[str, Any]:
    iri = f"{base_url}/open/dataset/{d['name']}" + ("" if latest else f"/{release['version']}")
    suffix = "" if latest else f"（版本 {release['version']}）"
    themes = [groups[g]["eu_theme"] for g in d["groups"] if groups.get(g, {}).get("eu_theme")]
    doc: dict[str, Any] = {
        "@id": iri,
        "@type": "dcat:Dataset",
        "dct:identifier": d["name"] if latest else f"{d['name']}/{release['version']}",
        "dct:title": _both(
            d["title_zh"] + suffix, d["title_en"] + ("" if latest else f" (version {release['version']})")
        ),
        "dct:description": _both(d["description_zh"], d["description_en"]),
        "dct:publisher": _publisher(base_url, d["organization"], d["organization_title"]),
        "dct:accessRights": {"@id": ACCESS_RIGHT_BASE + "PUBLIC", "@type": "dct:RightsStatement"},
        "dct:accrualPeriodicity": {
            "@id": FREQUENCY_BASE + FREQUENCIES.get(d["update_cycle"], "DAILY"),
            "@type": "dct:Frequency",
        },
        "dct:issued": {"@value": release["logical_date"].isoformat(), "@type": "xsd:date"},
        "dct:modified": {"@value": release["released_at"].isoformat(), "@type": "xsd:dateTime"},
        "dcat:keyword": [_lang(t, "zh") for t in d["tags"]],
        "dcat:theme": [
            {
                "@id": THEME_BASE + t,
                "@type": "skos:Concept",
                "skos:prefLabel": _lang(THEME_LABELS.get(t, t), "en"),
            }
            for t in dict.fromkeys(themes)
        ],
        "dcat:version": release["version"],
        "dcat:landingPage": {
            "@id": f"{base_url}/api/3/action/package_show?id={d['name']}",
            "@type": "foaf:Document",
        },
        "dcat:distribution": [_distribution(base_url, r, d["license_url"]) for r in files],
        "gl:kAnonymity": {"@value": str(release["k_required"]), "@type": "xsd:integer"},
    }
    if release["k_achieved"] is not None:
        doc["gl:kAchieved"] = {"@value": str(release["k_achieved"]), "@type": "xsd:integer"}
    return doc


def open_catalog(conn: psycopg.Connection, base_url: str, groups: dict[str, dict]) -> dict[str, Any]:
    """Every published open dataset (latest release, and its versions) as one DCAT-AP 3 catalog."""
    base_url = base_url.rstrip("/")
    datasets = []
    for d in _datasets(conn):
        releases = _releases(conn, d["name"])[:MAX_VERSIONS]
        files = _resources(conn, d["name"])
        doc = _dataset_doc(
            base_url, d, groups, releases[0], files.get(releases[0]["version"], []), latest=True
        )
        doc["dcat:hasVersion"] = [
            _dataset_doc(base_url, d, groups, r, files.get(r["version"], []), latest=False) for r in releases
        ]
        datasets.append(doc)
    return {
        "@context": OPEN_CONTEXT,
        "@id": f"{base_url}/catalog",
        "@type": "dcat:Catalog",
        "dct:title": _both(CATALOG_TITLE["zh"], CATALOG_TITLE["en"]),
        "dct:description": _both(
            "贵州省各部门开放的去标识化数据集（汇总与记录），每个版本均可下载。",
            "De-identified open datasets (aggregates and records) of Guizhou's departments; every version downloadable.",
        ),
        "dct:publisher": _publisher(base_url, "data_office", "贵州省大数据发展管理局"),
        "foaf:homepage": {"@id": f"{base_url}/api/3/action/status_show", "@type": "foaf:Document"},
        "dcat:dataset": datasets,
    }


def to_turtle(doc: dict[str, Any]) -> str:
    from rdflib import Graph

    return Graph().parse(data=json.dumps(doc), format="json-ld").serialize(format="turtle")
