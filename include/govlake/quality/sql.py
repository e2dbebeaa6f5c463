"""SQL building blocks the suites' rule queries share: check characters of national identifiers, the
"later duplicates in the batch" rule, and the other department's rows a consistency rule compares with.

The rule queries in ``expectations/*.json`` are Jinja templates; these functions are the only macros they
may call. Keeping the arithmetic here (and nowhere else) means the resident-ID check that gates 公安厅's
batch is the very same SQL that gates 人社厅's and the population library, and one test compares it with
python-stdnum on many generated numbers. Everything is plain SQL evaluated where the data is: the
province's 38 M IDs are never pulled into Python.

The expressions avoid ``{``/``}`` (Great Expectations formats rule queries with ``str.format``) and the
``%`` operator (the quarantine INSERT passes parameters through psycopg), hence ``mod()`` and no regex
repetition counts.
"""

from __future__ import annotations

import re

# GB 11643-1999: weights 2^(17-i) mod 11 for the first 17 digits; the check character is indexed by the
# weighted sum mod 11 into this table (ISO 7064 MOD 11-2).
RIC_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RIC_CHECK_TABLE = "10X98765432"

# GB 32100-2015: 31 characters (no I, O, S, V, Z), weights 3^(i-1) mod 31, check = (31 - sum mod 31) mod 31.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS: tuple[int, ...] = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _weighted_sum(column: str, weights: tuple[int, ...], value_of: str) -> str:
    """``w1*v(c1) + ... + w17*v(c17)`` unrolled: about 10x faster than a generate_series subquery per row."""
    terms = [f"{w}*{value_of.format(f'substr({column}, {i}, 1)')}" for i, w in enumerate(weights, start=1)]
    return " + ".join(terms)


def ric_is_well_formed(column: str) -> str:
    """18 characters, 17 digits then a digit or an upper-case X (the canonical form staging delivers)."""
    return f"(length({column}) = 18 and {column} ~ '^[0-9]+[0-9X]$')"


def ric_check_char(column: str) -> str:
    """The check character a resident ID should end with, or NULL when its first 17 are not digits."""
    total = _weighted_sum(column, RIC_WEIGHTS, "{}::int")
    return (
        f"(case when substr({column}, 1, 17) ~ '^[0-9]+$' and length({column}) >= 17 "
        f"then substr('{RIC_CHECK_TABLE}', mod({total}, 11) + 1, 1) end)"
    )


def ric_is_valid(column: str) -> str:
    """Well formed and the 18th character is the check character (birthplace history is not checked)."""
    return f"({ric_is_well_formed(column)} and substr({column}, 18, 1) = {ric_check_char(column)})"


def uscc_is_well_formed(column: str) -> str:
    """18 characters; 8 digits (authority, kind, division) then the GB 32100 alphabet."""
    return (
        f"(length({column}) = 18 and substr({column}, 1, 8) ~ '^[0-9]+$' "
        f"and {column} ~ '^[0-9A-HJ-NPQRTUWXY]+$')"
    )


def uscc_check_char(column: str) -> str:
    """The check character a credit code should end with, or NULL when it uses characters outside the alphabet."""
    total = _weighted_sum(column, USCC_WEIGHTS, f"(strpos('{USCC_ALPHABET}', {{}}) - 1)")
    return (
        f"(case when substr({column}, 1, 17) ~ '^[0-9A-HJ-NPQRTUWXY]+$' and length({column}) >= 17 "
        f"then substr('{USCC_ALPHABET}', mod(31 - mod({total}, 31), 31) + 1, 1) end)"
    )


def uscc_is_valid(column: str) -> str:
    """Well formed and the 18th character is the check character."""
    return f"({uscc_is_well_formed(column)} and substr({column}, 18, 1) = {uscc_check_char(column)})"


def ric_birth_date_text(column: str) -> str:
    """The ``YYYYMMDD`` embedded in a resident ID, compared as text so that an impossible date cannot
    make the whole query fail the way ``make_date``/``to_date`` would (or silently roll over)."""
    return f"substr({column}, 7, 8)"


def latest_clean_rows(relation: str, dataset: str, key: str, batch_key: str, columns: str) -> str:
    """A SELECT of the other department's latest staged row per ``key`` up to the batch's date that was not
    quarantined and is not in a held batch — what a cross-department consistency rule compares ``b`` with.
    Superseded records describe an earlier delivery of a date, not the rows staged now: they do not count.

    Use it as a CTE next to ``b``: ``with b as (...), other as ({{ latest_clean_rows(...) }}) select ...``.
    ``batch_key`` is the batch column holding the other side's key (e.g. ``employer_credit_code``).
    The other dataset must be validated (and quarantined) first in the build DAG. A batch whose latest
    validation failed is held out of the libraries, good rows included, so it is no reference either.
    """
    return (
        f"select distinct on ({key}) {key}, {columns} from {relation}"
        f" where {key} in (select {batch_key} from b) and _logical_date <= (select max(_logical_date) from b)"
        f" and {clean_reference_rows(dataset)}"
        f" order by {key}, _logical_date desc, _source_row desc"
    )


def clean_reference_rows(dataset: str, alias: str = "") -> str:
    """The condition :func:`latest_clean_rows` puts on the other department's staged rows, for a rule that
    reads them another way (卫健委's children by household): not quarantined now (a superseded finding
    belongs to an earlier delivery), not in a held batch. ``alias`` qualifies the lineage columns."""
    if not _IDENTIFIER.match(dataset) or (alias and not _IDENTIFIER.match(alias)):
        raise ValueError(f"clean_reference_rows: {dataset!r} / {alias!r} must be plain names")
    column = f"{alias}." if alias else ""
    return (
        f"({column}_batch_id, {column}_source_file, {column}_source_row) not in"
        f" (select batch_id, source_file, source_row from platform.quarantine"
        f" where dataset = '{dataset}' and source_row is not null and source_file is not null"
        f" and superseded_at is null)"
        f" and {column}_batch_id not in (select batch_id from platform.batch_validations where not success)"
    )


_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def later_duplicates_in_batch(keys: str, label: str) -> str:
    """The whole rule query for "``keys`` unique within the batch": every row after the first one of its key.

    ``keys`` is a comma-separated list of batch columns (rows with any of them null are not compared),
    ``label`` what the clerk calls them (``公民身份号码``). The first row of a key by source file and row
    is kept; each later one fails with the row number of the first. One window pass over the batch: the
    rows travel through it as a whole-row value (``b as r``) and come out with ``(d.r).*``, so the batch
    is read once and never joined back to itself (a self-join on the lineage columns materialised the
    batch and sorted it twice). ``b`` stays referenced once, so PostgreSQL inlines it into the scan.
    """
    columns = [c.strip() for c in keys.split(",")]
    bad = [c for c in columns if not _IDENTIFIER.match(c)]
    if not columns or bad:
        raise ValueError(f"later_duplicates_in_batch: {keys!r} is not a list of column names ({bad})")
    if "'" in label or "{" in label or "}" in label:
        raise ValueError(f"later_duplicates_in_batch: the label {label!r} may not contain quotes or braces")
    not_null = " and ".join(f"b.{c} is not null" for c in columns)
    partition = ", ".join(f"b.{c}" for c in columns)
    shown = ", ' / ', ".join(f"(d.r).{c}" for c in columns)
    return (
        "with b as (select * from {batch}),"
        " d as (select b as r, first_value(b._source_row) over w as first_row, row_number() over w as n"
        f" from b where {not_null}"
        f" window w as (partition by {partition} order by b._source_file, b._source_row))"
        f" select (d.r).*, concat('{label} ', {shown}, ' 在本批次中重复 (首次出现在第 ', d.first_row, ' 行)')"
        " as _message from d where d.n > 1"
    )


MACROS = {
    "clean_reference_rows": clean_reference_rows,
    "latest_clean_rows": latest_clean_rows,
    "later_duplicates_in_batch": later_duplicates_in_batch,
    "ric_is_well_formed": ric_is_well_formed,
    "ric_check_char": ric_check_char,
    "ric_is_valid": ric_is_valid,
    "uscc_is_well_formed": uscc_is_well_formed,
    "uscc_check_char": uscc_check_char,
    "uscc_is_valid": uscc_is_valid,
    "ric_birth_date_text": ric_birth_date_text,
}
