"""One small search engine for the platform's lists: the catalog (政务信息资源目录) and open data.

Documents are a few thousand at most, so the engine is in memory and exact: a query is cut into words
with jieba (Chinese word segmentation: ``人口基础库`` → ``人口 / 基础 / 库``), a document matches when
every word occurs in one of its fields (substring, so ``人口`` finds ``常住人口``), and matches are
ranked by BM25 over the fields, each field weighted (a word in the name counts more than one in an
item's description). Facets count the values of the matching documents. Any input is safe: the query
is cut to ``MAX_QUERY`` characters and ``MAX_TERMS`` words, and markup is just text.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

MAX_QUERY = 200
MAX_TERMS = 16
K1, B = 1.2, 0.5
_PUNCT = re.compile(r"^[\W_]+$", re.UNICODE)


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def normalise(text: str) -> str:
    """NFKC (full-width letters and digits become ASCII) and lower case."""
    return unicodedata.normalize("NFKC", text or "").lower()


@lru_cache(maxsize=4096)
def query_terms(query: str) -> tuple[str, ...]:
    """The words of a query: jieba's segmentation, without spaces and punctuation, deduplicated."""
    text = normalise(query)[:MAX_QUERY]
    words: list[str] = []
    for word in _jieba().lcut(text):
        word = word.strip()
        if word and not _PUNCT.match(word) and word not in words:
            words.append(word)
    return tuple(words[:MAX_TERMS])


def substring_matches(text: str, words: Sequence[str]) -> bool:
    """True when every word occurs in the (normalised) text."""
    return all(w in text for w in words)


def occurrences(text: str, words: Sequence[str]) -> int:
    """How often the words occur in the text, together (a simple relevance for short lists)."""
    return sum(text.count(w) for w in words)


@dataclass(frozen=True)
class Document:
    """A searchable thing: ``fields`` are texts (weighted by the index), ``facets`` its facet values."""

    key: str
    fields: Mapping[str, str]
    facets: Mapping[str, Sequence[str]] = field(default_factory=dict)
    payload: Any = None


@dataclass(frozen=True)
class Results:
    total: int
    hits: list[tuple[Document, float]]
    facets: dict[str, list[tuple[str, int]]]
    terms: tuple[str, ...]


class Index:
    """Documents with weighted fields, searched by :meth:`search`."""

    def __init__(self, documents: Iterable[Document], weights: Mapping[str, float]):
        self.weights = dict(weights)
        self.documents = list(documents)
        self._texts = [{f: normalise(d.fields.get(f, "")) for f in self.weights} for d in self.documents]
        self._whole = [" ".join(t.values()) for t in self._texts]
        self._lengths = {
            f: (sum(len(t[f]) for t in self._texts) / len(self._texts) if self._texts else 1.0) or 1.0
            for f in self.weights
        }

    def __len__(self) -> int:
        return len(self.documents)

    def _score(self, texts: dict[str, str], terms: Sequence[str], idf: dict[str, float]) -> float:
        score = 0.0
        for term in terms:
            weighted = 0.0
            for f, weight in self.weights.items():
                tf = texts[f].count(term)
                if tf:
                    norm = 1 - B + B * len(texts[f]) / self._lengths[f]
                    weighted += weight * tf * (K1 + 1) / (tf + K1 * norm)
            score += idf[term] * weighted
        return score

    def search(
        self,
        query: str = "",
        filters: Mapping[str, Iterable[str]] | None = None,
        facet_fields: Sequence[str] = (),
        offset: int = 0,
        limit: int = 20,
        sort: Callable[[Document], Any] | None = None,
    ) -> Results:
        """Matching documents, best first (or by ``sort`` when there is no query), and facet counts.

        ``filters`` keep documents having one of the given values for each facet named."""
        terms = query_terms(query or "")
        wanted = {k: set(v) for k, v in (filters or {}).items() if v}
        matched: list[tuple[int, dict[str, str]]] = []
        for n, (doc, texts) in enumerate(zip(self.documents, self._texts, strict=True)):
            if any(not wanted[k].intersection(doc.facets.get(k, ())) for k in wanted):
                continue
            if terms and not substring_matches(self._whole[n], terms):
                continue
            matched.append((n, texts))
        if terms:
            total = len(self.documents)
            df = {t: sum(1 for whole in self._whole if t in whole) for t in terms}
            idf = {t: math.log(1 + (total - df[t] + 0.5) / (df[t] + 0.5)) for t in terms}
            scored = [(self.documents[n], self._score(texts, terms, idf)) for n, texts in matched]
            scored.sort(key=lambda hit: -hit[1])
        else:
            scored = [(self.documents[n], 0.0) for n, _ in matched]
            if sort:
                scored.sort(key=lambda hit: sort(hit[0]))
        facets: dict[str, list[tuple[str, int]]] = {}
        for name in facet_fields:
            counts: dict[str, int] = {}
            for doc, _ in scored:
                for value in set(doc.facets.get(name, ())):
                    counts[value] = counts.get(value, 0) + 1
            facets[name] = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        offset = max(0, offset)
        return Results(len(scored), scored[offset : offset + max(0, limit)], facets, terms)
