"""Last line of defence before anything reaches the open bucket: scan the produced files for identifiers.

Aggregation and suppression should make a direct identifier impossible in an open release, but a bug, a
bad join or a mis-typed reference value could still carry one through. So every file is scanned as it
will be published — CSV and JSON as text, Parquet value by value — and the release fails if any token is
a resident ID with a valid GB 11643 check character (ISO 7064 MOD 11-2), a mainland mobile number, or a
bank card number (16–19 digits passing the Luhn check, as payment card numbers do).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import pyarrow.parquet as pq
from stdnum.iso7064 import mod_11_2

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
    """18 characters whose last is the MOD 11-2 check character of the first 17 (GB 11643)."""
    if len(value) != 18:
        return False
    try:
        return mod_11_2.is_valid(value.upper())
    except Exception:  # stdnum raises its own ValidationError subclasses on malformed input
        return False


def scan_value(text: str) -> Iterator[tuple[str, str]]:
    """(kind, value) for every identifier in one piece of text."""
    for match in _RESIDENT_ID.finditer(text):
        if is_valid_resident_id(match.group()):
            yield "resident_id", match.group()
    for match in _MOBILE.finditer(text):
        yield "mobile", match.group()
    for match in _CARD.finditer(text):
        if is_bank_card(match.group()) and not is_valid_resident_id(match.group()):
            yield "bank_card", match.group()


def is_bank_card(value: str) -> bool:
    """16–19 digits with a valid Luhn check digit (ISO/IEC 7812), what payment cards carry."""
    from stdnum import luhn

    return 16 <= len(value) <= 19 and value.isdigit() and luhn.is_valid(value)


def scan_text(name: str, text: str) -> list[Leak]:
    return [
        Leak(name, f"line {n}", kind, _mask(value))
        for n, line in enumerate(text.splitlines(), start=1)
        for kind, value in scan_value(line)
    ]


def scan_parquet(name: str, data: bytes) -> list[Leak]:
    """Every value of every column, as text: numbers too, since an ID can hide in an integer column."""
    table = pq.read_table(io.BytesIO(data))
    leaks = []
    for column in table.column_names:
        for row, value in enumerate(table.column(column).to_pylist()):
            if value is None:
                continue
            leaks += [
                Leak(name, f"row {row + 1}, column {column}", kind, _mask(found))
                for kind, found in scan_value(_numbers_of(value))
            ]
    # Column names and schema metadata are published too.
    leaks += scan_text(f"{name} (schema)", str(table.schema))
    return leaks


def scan_release(files: Mapping[str, bytes]) -> list[Leak]:
    """Scan a release's files by name: ``*.parquet`` value by value, everything else as UTF-8 text."""
    leaks: list[Leak] = []
    for name, data in files.items():
        if name.endswith(".parquet"):
            leaks += scan_parquet(name, data)
        else:
            leaks += scan_text(name, data.decode("utf-8-sig", errors="replace"))
    return leaks
