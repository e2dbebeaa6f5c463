"""吼一声: a question typed in Chinese -> one question kind of ``question_kinds.KINDS`` with its slots.

No language model: the text is segmented with jieba (a tokenizer of our own that knows every division and
crop name, ``vocabulary.tokenizer``), the slots are read from the words —

* ``region``: a division code (full name, short name, with or without 市/县/州, former names);
* ``crop``: one of the 12 characteristic industries or 玉米 (everyday names: 茶, 猪, 蘑菇 ...);
* ``period``: the number of years asked about (这五年, 近三年, 2019年以来) or a single year;
* ``forecast``: the question asks about next year (明年, 预测, 前景);

and each kind scores the question by its trigger words (weights in its registry entry). The best kind
with a score of at least ``MIN_SCORE`` wins; otherwise — or when a kind cannot answer the slots it got —
the answer is the closest catalog resources, never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from govlake.cockpit import vocabulary

MAX_QUESTION = 200  # characters parsed; the rest of a longer text is ignored (and said so)
MIN_SCORE = 1.5
CLOSEST = "closest_resources"

_CN_DIGITS = {
    "一": 1,
    "两": 2,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}
_YEARS_RE = re.compile(r"(?:这|近|最近|过去|前)?([一两二三四五六七八九十\d]{1,2})年(?!以来|来)")
_SINCE_RE = re.compile(r"((?:19|20)\d{2})\s*年?\s*(?:以来|来|至今|到现在)")
_YEAR_RE = re.compile(r"((?:19|20)\d{2})\s*年")
_FORECAST_WORDS = ("明年", "下一年", "来年", "预测", "前景", "将来", "未来", "会怎样", "预计")


@dataclass
class ParsedQuestion:
    text: str
    kind: str
    score: float
    tokens: list[str]
    region: str | None = None
    regions: list[str] = field(default_factory=list)
    crop: str | None = None
    crops: list[str] = field(default_factory=list)
    years: int | None = None  # "the last N years"
    since_year: int | None = None
    year: int | None = None
    forecast: bool = False
    truncated: bool = False
    scores: dict[str, float] = field(default_factory=dict)

    def slots(self) -> dict:
        return {
            "region": self.region,
            "crop": self.crop,
            "years": self.years,
            "since_year": self.since_year,
            "year": self.year,
            "forecast": self.forecast,
        }


def _number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if text == "十":
        return 10
    if text.startswith("十"):
        return 10 + _CN_DIGITS.get(text[1:], 0)
    if text.endswith("十"):
        return _CN_DIGITS.get(text[0], 0) * 10
    return _CN_DIGITS.get(text)


def _find_names(text: str, tokens: list[str], aliases: dict[str, str], min_substring: int) -> list[str]:
    """Values named in the text, in order of appearance: whole tokens, then longer names as substrings
    (jieba may glue a name to the next word); a name inside a longer one found already is not counted."""
    found: list[tuple[int, int, str]] = []  # (position, length, value)
    taken: list[tuple[int, int]] = []
    for alias in sorted(aliases, key=len, reverse=True):
        if len(alias) < min_substring and alias not in tokens:
            continue
        start = text.find(alias)
        while start >= 0:
            end = start + len(alias)
            if not any(s < end and start < e for s, e in taken):
                taken.append((start, end))
                found.append((start, len(alias), aliases[alias]))
            start = text.find(alias, end)
    values: list[str] = []
    for _, _, value in sorted(found):
        if value not in values:
            values.append(value)
    return values


def parse(question: str) -> ParsedQuestion:
    """The kind and slots of ``question`` (any text: markup, any length, nonsense)."""
    from govlake.cockpit.question_kinds import KINDS

    raw = " ".join((question or "").split())
    truncated = len(raw) > MAX_QUESTION
    text = raw[:MAX_QUESTION]
    tokens = vocabulary.cut(text) if text else []
    regions = _find_names(text, tokens, vocabulary.region_aliases(), min_substring=2)
    crops = _find_names(text, tokens, vocabulary.crop_aliases(), min_substring=2)
    parsed = ParsedQuestion(
        text=text,
        kind=CLOSEST,
        score=0.0,
        tokens=tokens,
        region=regions[0] if regions else None,
        regions=regions,
        crop=next((c for c in crops if c != vocabulary.CORN), crops[0] if crops else None),
        crops=crops,
        forecast=any(w in text for w in _FORECAST_WORDS),
        truncated=truncated,
    )
    if m := _SINCE_RE.search(text):
        parsed.since_year = int(m.group(1))
    elif m := _YEARS_RE.search(text):
        n = _number(m.group(1))
        parsed.years = n if n and 1 <= n <= 30 else None
    if parsed.since_year is None and (m := _YEAR_RE.search(text)):
        parsed.year = int(m.group(1))
    best_key, best = CLOSEST, 0.0
    for kind in KINDS:
        score = kind.score(parsed)
        parsed.scores[kind.key] = round(score, 2)
        if score > best:
            best_key, best = kind.key, score
    if best >= MIN_SCORE:
        parsed.kind, parsed.score = best_key, best
    return parsed
