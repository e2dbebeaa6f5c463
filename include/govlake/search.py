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
    in all documents is one regex scan per field (positions mapped to documents with ``searchsorted``);
    the hits per document give both the match and the term frequencies BM25 needs. Hits per word are cached (queries repeat)."""

    def __init__(self, documents: Iterable[Document], weights: Mapping[str, float]):
        self.weights = dict(weights)
        self.documents = list(documents)
        self._blobs: dict[str, tuple[str, np.ndarray]] = {}
        self._norms: dict[str, np.ndarray] = {}
        for f in self.weights:
            texts = [normalise(d.fields.get(f, "")).replace("\0", " ") for d in self.documents]
            starts, offset = [], 0
            for text in texts:
                starts.append(offset)
                offset += len(text) + 1
            self._blobs[f] = ("\0".join(texts), np.asarray(starts, dtype=np.int64))
            average = (sum(map(len, texts)) / len(texts) if texts else 1.0) or 1.0
            self._norms[f] = np.asarray([1 - B + B * len(t) / average for t in texts])
        self._hits: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
        by_key = sorted(range(len(self.documents)), key=lambda n: self.documents[n].key)
        self._key_rank = np.empty(len(self.documents), dtype=np.int64)  # place in key order: the tie-break
        self._key_rank[by_key] = np.arange(len(by_key))
        self._facets: dict[str, tuple] = {}
        self._ranked: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = {}
        self._ordered: dict[Any, np.ndarray] = {}

    def _facet(self, name: str) -> tuple[str, list[str], Any]:
        """A facet coded once: ``("codes", labels, int array)`` when every document has at most one value
        (department, type, cycle ...), else ``("masks", labels, {label: bool array})`` (grades)."""
        coded = self._facets.get(name)
        if coded is None:
            values = [tuple(dict.fromkeys(d.facets.get(name, ()))) for d in self.documents]
            labels = sorted({v for vs in values for v in vs})
            if all(len(v) <= 1 for v in values):
                code = {label: i for i, label in enumerate(labels)}
                codes = np.array([code[v[0]] if v else len(labels) for v in values], dtype=np.int32)
                coded = ("codes", labels, codes)
            else:
                masks = {label: np.zeros(len(values), dtype=bool) for label in labels}
                for n, vs in enumerate(values):
                    for v in vs:
                        masks[v][n] = True
                coded = ("masks", labels, masks)
            self._facets[name] = coded
        return coded

    def facet_counts(self, name: str, numbers: Sequence[int]) -> list[tuple[str, int]]:
        """How many of the documents ``numbers`` have each value of a facet, most frequent first."""
        kind, labels, coded = self._facet(name)
        numbers = np.asarray(numbers, dtype=np.intp)
        if kind == "codes":
            found = np.bincount(coded[numbers], minlength=len(labels) + 1)
            counts = {labels[i]: int(c) for i, c in enumerate(found[: len(labels)]) if c}
        else:
            counts = {v: int(n) for v in labels if (n := np.count_nonzero(coded[v][numbers]))}
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    def keep_mask(self, filters: Mapping[str, Iterable[str]]) -> np.ndarray | None:
        """Which documents have, for every facet filtered, one of its wanted values (None: no filter)."""
        mask = None
        for name, wanted in filters.items():
            wanted = set(wanted)
            if not wanted:
                continue
            kind, labels, coded = self._facet(name)
            if kind == "codes":
                codes = [i for i, label in enumerate(labels) if label in wanted]
                this = np.isin(coded, np.asarray(codes, dtype=np.int32))
            else:
                this = np.zeros(len(self.documents), dtype=bool)
                for v in wanted & set(labels):
                    this |= coded[v]
            mask = this if mask is None else mask & this
        return mask

    def __len__(self) -> int:
        return len(self.documents)

    def hits(self, term: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{field: (document numbers, occurrences)}`` of a word (non-overlapping, like ``str.count``)."""
        cached = self._hits.get(term)
        if cached is not None:
            return cached
        found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        pattern = re.compile(re.escape(term))
        for f, (blob, starts) in self._blobs.items():
            positions = np.fromiter((m.start() for m in pattern.finditer(blob)), dtype=np.int64)
            numbers = np.searchsorted(starts, positions, side="right") - 1
            found[f] = np.unique(numbers, return_counts=True)
        if len(self._hits) > 1024:
            self._hits.clear()
        self._hits[term] = found
        return found

    def ranked(self, terms: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """The documents matching every term, best first by BM25 (equal scores in key order), and their
        scores; cached per query (the index never changes: a changed catalog builds a new one)."""
        cached = self._ranked.get(terms)
        if cached is not None:
            return cached
        total = len(self.documents)
        matched = np.ones(total, dtype=bool)
        scores = np.zeros(total)
        for t in terms:
            hits = self.hits(t)
            having = np.zeros(total, dtype=bool)
            for numbers, _ in hits.values():
                having[numbers] = True
            matched &= having
            df = int(np.count_nonzero(having))
            idf = math.log(1 + (total - df + 0.5) / (df + 0.5))
            # BM25, each (term, field) posting weighted by the field
            for f, weight in self.weights.items():
                numbers, tf = hits[f]
                scores[numbers] += idf * weight * (K1 + 1) * tf / (tf + K1 * self._norms[f][numbers])
        numbers = np.flatnonzero(matched)
        # best first; equal scores in key order
        order = np.lexsort((self._key_rank[numbers], -scores[numbers]))
        found = (numbers[order], scores[numbers[order]])
        if len(self._ranked) > 1024:
            self._ranked.clear()
        self._ranked[terms] = found
        return found

    def ordered(self, sort: Callable[[Document], Any] | None) -> np.ndarray:
        """Every document in ``sort`` order (index order without one); cached per sort function."""
        cached = self._ordered.get(sort)
        if cached is None:
            numbers = list(range(len(self.documents)))
            if sort is not None:
                numbers.sort(key=lambda n: sort(self.documents[n]))
            cached = self._ordered[sort] = np.asarray(numbers, dtype=np.intp)
        return cached

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

        ``filters`` keep documents having one of the given values for each facet named. Pass ``sort`` as
        a function defined once (not a new lambda per call) so its order is computed once per index."""
        terms = query_terms(query or "")
        if terms:
            numbers, scores = self.ranked(terms)
        else:
            numbers = self.ordered(sort)
            scores = np.zeros(len(numbers))
        mask = self.keep_mask(filters or {})
        if mask is not None:
            keep = mask[numbers]
            numbers, scores = numbers[keep], scores[keep]
        facets = {name: self.facet_counts(name, numbers) for name in facet_fields}
        offset = max(0, offset)
        page = range(offset, min(len(numbers), offset + max(0, limit)))
        hits = [(self.documents[int(numbers[i])], float(scores[i])) for i in page]
        return Results(len(numbers), hits, facets, terms)
