"""Last line of defence before anything reaches the open bucket: scan the produced files for identifiers.

Aggregation and suppression should make a direct identifier impossible in an open release, but a bug, a
bad join or a mis-typed reference value could still carry one through. So every file is scanned as it
will be published — CSV and JSON as text, Parquet value by value — and the release fails if any token is
a resident ID (a real birth date and a valid GB 11643 check character, ISO 7064 MOD 11-2), a mainland
mobile number, or a bank card number (16–19 digits passing the Luhn check, as payment card numbers do; a
valid unified social credit code — an entity's public identifier — is not taken for one).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

import pyarrow.parquet as pq
from stdnum.cn import uscc
from stdnum.iso7064 import mod_11_2

from govlake.lake.parquet_files import record_batches

# Tokens are delimited by anything that is not an ASCII letter or digit, so a 64-hex-digit checksum is
# one token (not a resident ID inside it) while an ID glued to Chinese text is still found.
_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z])1[3-9][0-9]{9}(?![0-9A-Za-z])")
_CARD = re.compile(r"(?<![0-9A-Za-z])[0-9]{16,19}(?![0-9A-Za-z])")


@dataclass(frozen=True)
class Leak:
    file: str
    location: str  # "line 12" or "row 5, column county_name"
    kind: str  # resident_id | mobile | bank_card
    masked: str  # the value with its middle hidden, safe to put in a log or an error

    def __str__(self) -> str:
        return f"{self.file} {self.location}: {self.kind} {self.masked}"


def _mask(value: str) -> str:
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def _numbers_of(value: object) -> str:
    """Text of a Parquet value; floats without exponent, so a card number stored as a double is seen."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def is_valid_resident_id(value: str) -> bool:
    """18 characters: a real birth date in characters 7–14 and, last, the MOD 11-2 check character of the
    first 17 (GB 11643). The date matters: a unified social credit code (GB 32100, public for every legal
    entity and published in the open entity release) is 18 characters too, and one made of digits only
    passes MOD 11-2 one time in eleven — but carries a division code's last digits and an organisation code
    where a birth date would be. (The 2023 permanent-residence card of foreigners keeps the date there, so
    it is still found.)"""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    try:
        born = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if not 1900 <= born.year <= 2100:
        return False
    try:
        return mod_11_2.is_valid(value.upper())
    except Exception:  # stdnum raises its own ValidationError subclasses on malformed input
        return False


def is_credit_code(value: str) -> bool:
    """A unified social credit code with a valid check character (GB 32100): a legal entity's public
    identifier, not a person's."""
    return len(value) == 18 and uscc.is_valid(value)


def scan_value(text: str) -> Iterator[tuple[str, str]]:
    """(kind, value) for every identifier in one piece of text."""
    for match in _RESIDENT_ID.finditer(text):
        if is_valid_resident_id(match.group()):
            yield "resident_id", match.group()
    for match in _MOBILE.finditer(text):
        yield "mobile", match.group()
    for match in _CARD.finditer(text):
        # an all-digit credit code passes Luhn one time in ten; a card number that is also a valid credit
        # code (18 digits, one in 31 of those) is the price of publishing entities' codes at all
        value = match.group()
        if is_bank_card(value) and not is_valid_resident_id(value) and not is_credit_code(value):
            yield "bank_card", value


def is_bank_card(value: str) -> bool:
    """16–19 digits with a valid Luhn check digit (ISO/IEC 7812), what payment cards carry."""
    from stdnum import luhn

    return 16 <= len(value) <= 19 and value.isdigit() and luhn.is_valid(value)


# A release file is scanned as bytes (the small ones) or on disk (the data files, which are written
# to disk so a release of millions of records never sits in memory): either way in bounded memory.
Content = bytes | Path
BLOCK_BYTES = 1 << 20
PARQUET_BATCH_ROWS = 65_536


# Every identifier above is a run of at least 11 digits (a mobile number's length): a piece of text without
# one holds none, and a release of millions of values has few that do.
_CANDIDATE = re.compile(r"[0-9]{11}")


def scan_values(values: Sequence[str]) -> Iterator[tuple[int, str, str]]:
    """(index, kind, value) for every identifier in ``values``, as :func:`scan_value` finds them one by one,
    in order. The values are searched together, joined by newlines (a delimiter to every pattern), for runs
    of 11 digits; only the values holding one are scanned — one pass in the regex engine instead of a
    Python call per value (17 M of them, 31 s, for one 880 k-row release)."""
    text = "\n".join(values)
    if _CANDIDATE.search(text) is None:
        return
    ends = list(accumulate(len(value) + 1 for value in values))
    last = -1
    for match in _CANDIDATE.finditer(text):
        index = bisect_right(ends, match.start())
        if index != last:
            last = index
            for kind, value in scan_value(values[index]):
                yield index, kind, value


def scan_text(name: str, text: str, first_line: int = 1) -> list[Leak]:
    return [
        Leak(name, f"line {first_line + n}", kind, _mask(value))
        for n, kind, value in scan_values(text.splitlines())
    ]


def text_blocks(content: Content, block_bytes: int | None = None) -> Iterator[str]:
    """The content as UTF-8 text (a BOM dropped) in blocks that each end at a line break, so numbering the
    lines block by block numbers them as in the whole text (a newline byte is never inside a character)."""
    if isinstance(content, bytes):
        yield content.decode("utf-8-sig", errors="replace")
        return
    encoding, rest = "utf-8-sig", b""
    with content.open("rb") as fh:
        while block := fh.read(block_bytes or BLOCK_BYTES):
            block = rest + block
            cut = block.rfind(b"\n") + 1
            if not cut:
                rest = block
                continue
            rest = block[cut:]
            yield block[:cut].decode(encoding, errors="replace")
            encoding = "utf-8"
    if rest:
        yield rest.decode(encoding, errors="replace")


def scan_text_content(name: str, content: Content) -> list[Leak]:
    leaks, line = [], 1
    for text in text_blocks(content):
        leaks += scan_text(name, text, line)
        line += len(text.splitlines())
    return leaks


def scan_parquet(name: str, data: Content) -> list[Leak]:
    """Every value of every column, as text: numbers too, since an ID can hide in an integer column."""
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    leaks, first = [], 0
    for batch in record_batches(source, PARQUET_BATCH_ROWS):
        for column in batch.schema.names:
            values = batch.column(column).to_pylist()
            rows = [row for row, value in enumerate(values) if value is not None]
            texts = [
                value if isinstance(value, str) else _numbers_of(value)
                for value in values
                if value is not None
            ]
            leaks += [
                Leak(name, f"row {first + rows[n] + 1}, column {column}", kind, _mask(found))
                for n, kind, found in scan_values(texts)
            ]
        first += batch.num_rows
    # Column names and schema metadata are published too.
    leaks += scan_text(
        f"{name} (schema)", str(pq.read_schema(io.BytesIO(data) if isinstance(data, bytes) else data))
    )
    return leaks


def scan_release(files: Mapping[str, Content]) -> list[Leak]:
    """Scan a release's files by name: ``*.parquet`` value by value, everything else as UTF-8 text."""
    leaks: list[Leak] = []
    for name, content in files.items():
        if name.endswith(".parquet"):
            leaks += scan_parquet(name, content)
        else:
            leaks += scan_text_content(name, content)
    return leaks
