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
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from typing import Any

import numpy as np

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
    """Documents with weighted fields, searched by :meth:`search`.

    Each field of every document is kept in one string (documents separated by NUL), so finding a word
    in all documents is one C-level ``str.find`` scan per field; the hits per document give both the
    match and the term frequencies BM25 needs. Hits per word are cached (queries repeat)."""

    def __init__(self, documents: Iterable[Document], weights: Mapping[str, float]):
        self.weights = dict(weights)
        self.documents = list(documents)
        self._blobs: dict[str, tuple[str, list[int]]] = {}
        self._norms: dict[str, list[float]] = {}
        for f in self.weights:
            texts = [normalise(d.fields.get(f, "")).replace("\0", " ") for d in self.documents]
            starts, offset = [], 0
            for text in texts:
                starts.append(offset)
                offset += len(text) + 1
            self._blobs[f] = ("\0".join(texts), starts)
            average = (sum(map(len, texts)) / len(texts) if texts else 1.0) or 1.0
            self._norms[f] = [1 - B + B * len(t) / average for t in texts]
        self._hits: dict[str, dict[str, dict[int, int]]] = {}
        by_key = sorted(range(len(self.documents)), key=lambda n: self.documents[n].key)
        self._key_rank = [0] * len(self.documents)  # a document's place in key order: the tie-break
        for place, n in enumerate(by_key):
            self._key_rank[n] = place
        self._facets: dict[str, tuple] = {}

    def facet_counts(self, name: str, numbers: Sequence[int]) -> list[tuple[str, int]]:
        """How many of the documents ``numbers`` have each value of a facet, most frequent first.

        A facet with at most one value per document is counted as integer codes with numpy (most are:
        department, type, cycle ...); one with several values per document (grades) with a Counter."""
        coded = self._facets.get(name)
        if coded is None:
            values = [tuple(dict.fromkeys(d.facets.get(name, ()))) for d in self.documents]
            if all(len(v) <= 1 for v in values):
                labels = sorted({v[0] for v in values if v})
                code = {label: i for i, label in enumerate(labels)}
                codes = np.array([code[v[0]] if v else len(labels) for v in values], dtype=np.int32)
                coded = ("codes", labels, codes)
            else:
                coded = ("values", values, None)
            self._facets[name] = coded
        kind, labels, codes = coded
        if kind == "codes":
            found = np.bincount(codes[np.asarray(numbers, dtype=np.intp)], minlength=len(labels) + 1)
            counts = {labels[i]: int(c) for i, c in enumerate(found[: len(labels)]) if c}
        else:
            counts = Counter(chain.from_iterable(map(labels.__getitem__, numbers)))
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    def __len__(self) -> int:
        return len(self.documents)

    def hits(self, term: str) -> dict[str, dict[int, int]]:
        """``{field: {document number: occurrences}}`` of a word (non-overlapping, like ``str.count``)."""
        cached = self._hits.get(term)
        if cached is not None:
            return cached
        found: dict[str, dict[int, int]] = {}
        for f, (blob, starts) in self._blobs.items():
            counts: dict[int, int] = {}
            at = blob.find(term)
            while at != -1:
                n = bisect_right(starts, at) - 1
                counts[n] = counts.get(n, 0) + 1
                at = blob.find(term, at + len(term))
            found[f] = counts
        if len(self._hits) > 1024:
            self._hits.clear()
        self._hits[term] = found
        return found

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

        def kept(n: int) -> bool:
            facets = self.documents[n].facets
            return all(wanted[k].intersection(facets.get(k, ())) for k in wanted)

        if terms:
            hits = {t: self.hits(t) for t in terms}
            per_term = {t: set().union(*(h.keys() for h in hits[t].values())) for t in terms}
            total = len(self.documents)
            matched = set.intersection(*per_term.values())
            if wanted:
                matched = {n for n in matched if kept(n)}
            # BM25 summed over the (term, field) postings of the matched documents only
            scores = dict.fromkeys(matched, 0.0)
            for t in terms:
                idf = math.log(1 + (total - len(per_term[t]) + 0.5) / (len(per_term[t]) + 0.5))
                for f, weight in self.weights.items():
                    norms, boost = self._norms[f], idf * weight * (K1 + 1)
                    for n, tf in hits[t][f].items():
                        if n in scores:
                            scores[n] += boost * tf / (tf + K1 * norms[n])
            # best first; equal scores in key order (key order first, then a stable sort on the score)
            numbers = sorted(
                sorted(scores, key=self._key_rank.__getitem__), key=scores.__getitem__, reverse=True
            )
            score_of = [scores[n] for n in numbers]
        else:
            numbers = [n for n in range(len(self.documents)) if not wanted or kept(n)]
            if sort:
                numbers.sort(key=lambda n: sort(self.documents[n]))
            score_of = [0.0] * len(numbers)
        facets: dict[str, list[tuple[str, int]]] = {}
        matched_numbers = np.asarray(numbers, dtype=np.intp)
        for name in facet_fields:
            facets[name] = self.facet_counts(name, matched_numbers)
        offset = max(0, offset)
        page = range(offset, min(len(numbers), offset + max(0, limit)))
        return Results(len(numbers), [(self.documents[numbers[i]], score_of[i]) for i in page], facets, terms)
