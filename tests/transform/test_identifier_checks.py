"""The SQL check-character rules (dbt macros and reference.* functions) agree with python-stdnum.

Thousands of generated valid identifiers and corruptions of them (one character changed, neighbours
swapped, wrong check character, bad birth dates, wrong length, forbidden letters, non-ASCII digits) are
checked in the real warehouse, once through the inline expression the macros render and once through the
SQL functions, and compared with stdnum.cn.ric / stdnum.cn.uscc.
"""

from __future__ import annotations

import calendar
import random
import re
from pathlib import Path

import pytest
import yaml
from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength

from govlake.transform import DBT_PROJECT_DIR, run_dbt

pytestmark = pytest.mark.integration

RIC_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
GUIZHOU_COUNTIES = [
    "520102",
    "520103",
    "520111",
    "520302",
    "520402",
    "520502",
    "520602",
    "522301",
    "522601",
    "522701",
]
N = 3000


# -- reference answers from stdnum -------------------------------------------------------------------


def stdnum_ric(value: str) -> bool:
    """stdnum's verdict on format, birth date and check digit; its birthplace check is not part of the rule.

    The SQL rule takes canonical values only: stdnum would first normalise (blanks, lower case, full-width
    digits), which the platform treats as a conformity defect to quarantine, not to repair silently.

    stdnum 2.2 validates the birthplace against its region history after the checksum (InvalidComponent)
    and was seen to raise KeyError there, so a failure at that step falls back to the birth-date check.
    """
    if ric.compact(value) != value:
        return False
    try:
        ric.validate(value)
        return True
    except (InvalidLength, InvalidFormat, InvalidChecksum):
        return False
    except (InvalidComponent, KeyError):
        try:
            ric.get_birth_date(value)
            return True
        except (InvalidComponent, ValueError):
            return False


def stdnum_uscc(value: str) -> bool:
    return uscc.compact(value) == value and uscc.is_valid(value)


# -- generators ---------------------------------------------------------------------------------------


def ric_check(first17: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, RIC_WEIGHTS, strict=True)) % 11]


def random_birth(rng: random.Random) -> str:
    year = rng.choice([rng.randint(1900, 2025), rng.randint(1, 9999)])
    month = rng.randint(1, 12)
    day = rng.randint(1, calendar.monthrange(year, month)[1])
    return f"{year:04d}{month:02d}{day:02d}"


def valid_ric(rng: random.Random) -> str:
    region = rng.choice(GUIZHOU_COUNTIES + [f"{rng.randint(110000, 659999)}"])
    first17 = region + random_birth(rng) + f"{rng.randint(0, 999):03d}"
    return first17 + ric_check(first17)


def bad_birth_ric(rng: random.Random) -> str:
    year = rng.choice([1900, 1999, 2000, 2023, 2024, 0])
    month, day = rng.choice([(2, 29), (2, 30), (4, 31), (6, 31), (13, 1), (0, 10), (1, 0), (1, 32), (12, 99)])
    first17 = rng.choice(GUIZHOU_COUNTIES) + f"{year:04d}{month:02d}{day:02d}" + f"{rng.randint(0, 999):03d}"
    return first17 + ric_check(first17)


def corrupt(value: str, rng: random.Random, alphabet: str) -> str:
    kind = rng.randrange(8)
    i = rng.randrange(len(value))
    if kind == 0:  # one character changed
        return value[:i] + rng.choice([c for c in alphabet if c != value[i]]) + value[i + 1 :]
    if kind == 1 and i < len(value) - 1 and value[i] != value[i + 1]:  # neighbours swapped
        return value[:i] + value[i + 1] + value[i] + value[i + 2 :]
    if kind == 2:  # wrong check character
        return value[:-1] + rng.choice([c for c in alphabet if c != value[-1]])
    if kind == 3:  # too short / too long
        return value[:-1] if rng.random() < 0.5 else value + rng.choice(alphabet)
    if kind == 4:  # a letter no rule allows
        return value[:i] + rng.choice("IOSVZabx*- ") + value[i + 1 :]
    if kind == 5:  # full-width digit (str.isdigit() would accept it)
        return value[:i] + chr(0xFF10 + rng.randrange(10)) + value[i + 1 :]
    if kind == 6:  # X where only digits may be
        return value[:i] + "X" + value[i + 1 :]
    return "".join(rng.choice(alphabet) for _ in range(18))


def valid_uscc(rng: random.Random) -> str:
    head = rng.choice("159") + rng.choice("123") + rng.choice(GUIZHOU_COUNTIES)
    body = head + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    return body + uscc.calc_check_digit(body + "0")


def ric_corpus() -> list[str]:
    rng = random.Random(11643)
    valid = [valid_ric(rng) for _ in range(N)]
    values = valid + [bad_birth_ric(rng) for _ in range(N // 3)]
    values += [corrupt(rng.choice(valid), rng, "0123456789X") for _ in range(N)]
    values += [
        "",
        "X" * 18,
        "52010219900101123x",
        "00000000000000000" + "0",
        "5201021990010112",
        "52010219900229123X",
    ]
    return values


def uscc_corpus() -> list[str]:
    rng = random.Random(32100)
    valid = [valid_uscc(rng) for _ in range(N)]
    values = valid + [corrupt(rng.choice(valid), rng, USCC_ALPHABET) for _ in range(N)]
    values += ["", "Y" * 18, "Y1520100MA6DKXY10C", "91520100ma6dkxy10c", "91520100MA6DKXY10C"]
    return values


# -- SQL ----------------------------------------------------------------------------------------------


def compiled(macro: str, column: str) -> str:
    result = run_dbt(["compile", "--quiet", "--inline", f"{{{{ {macro}('{column}') }}}}"])
    return "\n".join(line for line in result.output_tail if line.strip())


@pytest.fixture(scope="module")
def expressions() -> dict[str, str]:
    return {m: compiled(m, "v") for m in ("is_valid_resident_id", "is_valid_credit_code")}


def run_checks(warehouse, expression: str, function: str, values: list[str]) -> list[tuple[str, bool, bool]]:
    sql = (
        f"select v, {expression.replace('%', '%%')} as inline_ok, {function}(v) as function_ok "
        "from unnest(%s::text[]) with ordinality as t (v, i) order by i"
    )
    return warehouse.execute(sql, (values,)).fetchall()


@pytest.mark.parametrize(
    ("macro", "function", "corpus", "reference"),
    [
        ("is_valid_resident_id", "is_valid_resident_id", ric_corpus, stdnum_ric),
        ("is_valid_credit_code", "is_valid_credit_code", uscc_corpus, stdnum_uscc),
    ],
)
def test_sql_rule_agrees_with_stdnum(
    warehouse, validity_functions, expressions, macro, function, corpus, reference
):
    values = corpus()
    rows = run_checks(warehouse, expressions[macro], f"{validity_functions}.{function}", values)
    expected = [reference(v) for v in values]
    mismatches = [(v, ok, exp) for (v, ok, _), exp in zip(rows, expected, strict=True) if ok != exp]
    assert not mismatches, f"{len(mismatches)} disagreements with stdnum, e.g. {mismatches[:10]}"
    assert [r[1] for r in rows] == [r[2] for r in rows], "the SQL function and the inline macro disagree"
    # The corpus must exercise both answers in quantity.
    assert sum(expected) >= N and len(expected) - sum(expected) >= N // 2


@pytest.mark.parametrize("function", ["is_valid_resident_id", "is_valid_credit_code"])
def test_null_in_null_out_and_no_errors_on_literals(warehouse, validity_functions, function):
    assert warehouse.execute(f"select {validity_functions}.{function}(null)").fetchone()[0] is None
    for literal in [
        "",
        "abc",
        "１２３４５６７８９０１２３４５６７８",
        "52010219901301123X",
        "9152010OMA6DKXY10C",
    ]:
        # constants are folded at plan time: the rule must not raise there either
        row = warehouse.execute(f"select {validity_functions}.{function}('{literal}')").fetchone()
        assert row[0] is False


def test_macro_docs_show_the_rendered_sql():
    """macros/_macros.yml documents the expanded expression for a column x; it must match the macros."""
    doc = yaml.safe_load((DBT_PROJECT_DIR / "macros" / "_macros.yml").read_text(encoding="utf-8"))
    descriptions = {m["name"]: m["description"] for m in doc["macros"]}
    squash = lambda s: re.sub(r"\s+", " ", s).strip()  # noqa: E731
    for macro in ("is_valid_resident_id", "is_valid_credit_code"):
        assert squash(compiled(macro, "x")) in squash(descriptions[macro]), (
            f"regenerate the SQL in _macros.yml for {macro}"
        )


def test_project_dir_is_the_repository_copy():
    assert (Path(DBT_PROJECT_DIR) / "dbt_project.yml").exists()
