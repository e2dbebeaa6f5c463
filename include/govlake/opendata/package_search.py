"""CKAN's ``package_search`` semantics over package dicts: Solr-like ``q``/``fq`` terms (``field:value``,
``-field:value``, ``*`` wildcards), free words, sort specs and facets.

Split out of the Action API (govlake.opendata.ckan_actions), which only validates parameters and
shapes the answer; the text matching and relevance are the platform's one search engine
(govlake.search), the same the catalog uses. Errors raise SearchQueryError with the message CKAN
clients get as a "Search Query Error".
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Sequence
from typing import Any

from govlake.search import normalise, occurrences, substring_matches

DEFAULT_SORT = "score desc, metadata_modified desc"
FQ_FIELDS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "organization": lambda p: [p["owner_org"]],
    "owner_org": lambda p: [p["owner_org"]],
    "groups": lambda p: [g["name"] for g in p["groups"]],
    "tags": lambda p: [t["name"] for t in p["tags"]],
    "res_format": lambda p: [r["format"] for r in p["resources"]],
    "name": lambda p: [p["name"]],
    "license_id": lambda p: [p["license_id"]],
    "kind": lambda p: [e["value"] for e in p["extras"] if e["key"] == "kind"],
    "open_type": lambda p: [e["value"] for e in p["extras"] if e["key"] == "open_type"],
}
SORT_FIELDS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "name": lambda p: p["name"],
    "title": lambda p: p["title"],
    "title_string": lambda p: p["title"],
    "metadata_modified": lambda p: p["metadata_modified"],
    "metadata_created": lambda p: p["metadata_created"],
    "num_resources": lambda p: p["num_resources"],
}
_TERM = re.compile(r"^([+-]?)([A-Za-z_]+):(.+)$")


class SearchQueryError(ValueError):
    """A ``q``, ``fq`` or ``sort`` parameter that cannot be understood; the message names it."""


def split_terms(text: str, param: str) -> list[str]:
    try:
        parts = shlex.split(text.replace("(", " ").replace(")", " "))
    except ValueError:
        raise SearchQueryError(f"{param}: unbalanced quotes in {text!r}") from None
    return [p for p in parts if p.upper() not in ("AND", "&&")]


def field_filter(term: str, param: str) -> Callable[[dict[str, Any]], bool] | None:
    """A test for a ``field:value`` term (None when the term is a free word)."""
    match = _TERM.match(term)
    if not match:
        return None
    sign, field, value = match.groups()
    if field not in FQ_FIELDS:
        raise SearchQueryError(f"{param}: unknown field {field!r}; use one of {', '.join(FQ_FIELDS)}")
    value = value.strip('"')
    pattern = re.compile("^" + ".*".join(map(re.escape, value.split("*"))) + "$", re.IGNORECASE)

    def test(p: dict[str, Any]) -> bool:
        hit = any(pattern.match(str(v)) for v in FQ_FIELDS[field](p))
        return not hit if sign == "-" else hit

    return test


def package_text(p: dict[str, Any]) -> str:
    parts = [
        p["name"],
        p["title"],
        p["notes"],
        p["title_translated"]["en"],
        p["notes_translated"]["en"],
        p["owner_org"],
        p["organization"]["title"],
    ]
    parts += [t["name"] for t in p["tags"]] + [g["title"] for g in p["groups"]]
    return normalise(" ".join(str(x) for x in parts if x))


def sort_keys(spec: str) -> list[tuple[str, bool]]:
    keys = []
    for part in (spec or DEFAULT_SORT).split(","):
        bits = part.split()
        if not bits:
            continue
        field, direction = bits[0], (bits[1].lower() if len(bits) > 1 else "asc")
        if field not in (*SORT_FIELDS, "score") or direction not in ("asc", "desc"):
            raise SearchQueryError(f"sort: cannot sort by {part.strip()!r}")
        keys.append((field, direction == "desc"))
    return keys


def facet_counts(results: list[dict[str, Any]], fields: Sequence[str]) -> tuple[dict, dict]:
    facets, search_facets = {}, {}
    for field in fields:
        if field not in FQ_FIELDS:
            continue
        counts: dict[str, int] = {}
        for p in results:
            for v in set(FQ_FIELDS[field](p)):
                counts[v] = counts.get(v, 0) + 1
        facets[field] = counts
        search_facets[field] = {
            "title": field,
            "items": [
                {"name": k, "display_name": k, "count": v}
                for k, v in sorted(counts.items(), key=lambda kv: -kv[1])
            ],
        }
    return facets, search_facets


def search_packages(
    packages: list[dict[str, Any]], q: str, fq: Sequence[str], sort: str, facet_fields: Sequence[str]
) -> tuple[list[dict[str, Any]], dict, dict]:
    """The packages matching ``q`` and every ``fq``, sorted, with facet counts over the matches."""
    tests, words = [], []
    for term in split_terms(q, "q") if q not in ("", "*:*") else []:
        found = field_filter(term, "q")
        (tests.append(found) if found else words.append(normalise(term)))
    for text in fq:
        for term in split_terms(text, "fq"):
            found = field_filter(term, "fq")
            if not found:
                raise SearchQueryError(f"fq: {term!r} is not field:value")
            tests.append(found)
    results = [p for p in packages if all(t(p) for t in tests)]
    if words:
        results = [p for p in results if substring_matches(package_text(p), words)]
    for field, desc in reversed(sort_keys(sort)):
        key = (lambda p: occurrences(package_text(p), words)) if field == "score" else SORT_FIELDS[field]
        results.sort(key=key, reverse=desc)
    facets, search_facets = facet_counts(results, facet_fields)
    return results, facets, search_facets
