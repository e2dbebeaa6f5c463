"""Chinese identifiers the departments key their records on, built and broken on purpose.

* Resident ID (公民身份号码, GB 11643-1999): 6-digit division + birth date YYYYMMDD + 3-digit sequence
  (odd = male, even = female) + an ISO 7064 MOD 11-2 check character (``0-9`` or ``X``).
* Unified social credit code (统一社会信用代码, GB 32100-2015): registration authority + entity type +
  6-digit division + 9-character organisation code (8 characters and its own GB 11714 check character)
  + a MOD 31 check character over ``0-9A-HJ-NPQRTUWXY``.

The synthetic province needs millions of valid IDs quickly, so the resident-ID check is also offered in a
numpy-vectorised form. python-stdnum (``stdnum.cn.ric`` / ``stdnum.cn.uscc``) is the reference the unit
tests compare against; it is not used here because a Python loop over it is far too slow at volume.
"""

from __future__ import annotations

import numpy as np

# -- resident ID (GB 11643) ---------------------------------------------------------------------------

RIC_WEIGHTS: tuple[int, ...] = tuple(pow(2, 17 - i, 11) for i in range(17))
_RIC_CHECK = "10X98765432"  # index = weighted sum mod 11


def ric_check_char(body: str) -> str:
    """The MOD 11-2 check character for the first 17 digits of a resident ID."""
    if len(body) < 17 or not body[:17].isdigit():
        raise ValueError(f"resident ID body must start with 17 digits, got {body!r}")
    total = sum(int(d) * w for d, w in zip(body[:17], RIC_WEIGHTS, strict=True))
    return _RIC_CHECK[total % 11]


def ric_check_chars(bodies: np.ndarray) -> np.ndarray:
    """Check characters for many 17-digit bodies given as int64 (vectorised; same rule as above)."""
    bodies = np.asarray(bodies, dtype=np.int64)
    total = np.zeros(bodies.shape, dtype=np.int64)
    rest = bodies.copy()
    # Walk the digits from the right: the last body digit carries weight RIC_WEIGHTS[16].
    for weight in reversed(RIC_WEIGHTS):
        total += (rest % 10) * weight
        rest //= 10
    return np.frombuffer(_RIC_CHECK.encode("ascii"), dtype="S1")[total % 11].astype("U1")


def ric_body(division: int, year: int, month: int, day: int, sequence: int) -> int:
    """The 17-digit body as an integer (division, birth date, sequence)."""
    return ((division * 10_000 + year) * 100 + month) * 100_000 + day * 1_000 + sequence


def ric_bodies(
    division: np.ndarray, year: np.ndarray, month: np.ndarray, day: np.ndarray, seq: np.ndarray
) -> np.ndarray:
    """Vectorised :func:`ric_body`."""
    i64 = np.int64
    return ((division.astype(i64) * 10_000 + year) * 100 + month) * 100_000 + day.astype(i64) * 1_000 + seq


def make_ric(division: str, birth_date: str, sequence: int) -> str:
    """A valid resident ID; ``birth_date`` as YYYYMMDD or YYYY-MM-DD, ``sequence`` 0-999 (odd = male)."""
    body = f"{division}{birth_date.replace('-', '')}{sequence:03d}"
    if len(body) != 17 or not body.isdigit():
        raise ValueError(f"cannot build a resident ID from {division!r}, {birth_date!r}, {sequence!r}")
    return body + ric_check_char(body)


def format_rics(bodies: np.ndarray, checks: np.ndarray) -> list[str]:
    """18-character resident IDs from int bodies and their check characters."""
    return [f"{b:017d}{c}" for b, c in zip(bodies.tolist(), checks.tolist(), strict=True)]


def is_valid_ric(number: str) -> bool:
    """Format and check character only (no birthplace history lookup, unlike stdnum)."""
    return (
        isinstance(number, str)
        and len(number) == 18
        and number[:17].isdigit()
        and number[17] == ric_check_char(number[:17])
    )


def corrupt_ric(number: str, shift: int = 1) -> str:
    """The same ID with a wrong check character (as a mistyped or badly migrated ID looks)."""
    right = _RIC_CHECK.index(number[17])
    return number[:17] + _RIC_CHECK[(right + 1 + (shift - 1) % 10) % 11]


# -- organisation code (GB 11714) ---------------------------------------------------------------------

ORG_WEIGHTS: tuple[int, ...] = (3, 7, 9, 10, 5, 8, 4, 2)


def _org_value(char: str) -> int:
    if char.isdigit():
        return int(char)
    if "A" <= char <= "Z":
        return ord(char) - ord("A") + 10
    raise ValueError(f"organisation code character {char!r} is not 0-9 or A-Z")


def org_check_char(body: str) -> str:
    """GB 11714 check character for the 8-character organisation code body (``0-9`` or ``X``)."""
    if len(body) != 8:
        raise ValueError(f"organisation code body must be 8 characters, got {body!r}")
    value = 11 - sum(_org_value(c) * w for c, w in zip(body, ORG_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(value, str(value))


# -- unified social credit code (GB 32100) ------------------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS: tuple[int, ...] = tuple(pow(3, i, 31) for i in range(17))
_USCC_INDEX = {c: i for i, c in enumerate(USCC_ALPHABET)}

# Registration authority 9 (market regulation) with its entity types; the platform's 市场监管局 source
# only ever carries these.
USCC_ENTITY_TYPES: dict[str, str] = {"企业": "91", "个体工商户": "92", "农民专业合作社": "93"}


def uscc_check_char(body: str) -> str:
    """The MOD 31 check character for the first 17 characters of a credit code."""
    if len(body) < 17:
        raise ValueError(f"credit code body must be 17 characters, got {body!r}")
    try:
        total = sum(_USCC_INDEX[c] * w for c, w in zip(body[:17], USCC_WEIGHTS, strict=True))
    except KeyError as exc:
        raise ValueError(f"credit code {body!r} has a character outside {USCC_ALPHABET}") from exc
    return USCC_ALPHABET[(31 - total % 31) % 31]


def make_uscc(authority_type: str, division: str, org_body: str) -> str:
    """A valid credit code from ``authority_type`` (e.g. ``"91"``), a 6-digit division and 8 org characters.

    The organisation code's own GB 11714 check character is appended first, then the MOD 31 check.
    """
    org = org_body + org_check_char(org_body)
    body = f"{authority_type}{division}{org}"
    if len(body) != 17 or any(c not in _USCC_INDEX for c in body):
        raise ValueError(f"cannot build a credit code from {authority_type!r}, {division!r}, {org_body!r}")
    return body + uscc_check_char(body)


def is_valid_uscc(number: str) -> bool:
    """Length, alphabet and the MOD 31 check character (the organisation code check is not required)."""
    return (
        isinstance(number, str)
        and len(number) == 18
        and number[:8].isdigit()
        and all(c in _USCC_INDEX for c in number)
        and number[17] == uscc_check_char(number)
    )


def corrupt_uscc(number: str, shift: int = 1) -> str:
    """The same code with a wrong final check character."""
    right = _USCC_INDEX[number[17]]
    return number[:17] + USCC_ALPHABET[(right + 1 + (shift - 1) % 30) % 31]
