"""Resident IDs and credit codes against python-stdnum, the reference implementation, on many values."""

from __future__ import annotations

import numpy as np
import pytest
from stdnum.cn import ric, uscc

from demo_province import identifiers as ids
from demo_province import reference as ref

N = 5000


def _stdnum_ric_valid(number: str) -> bool:
    """stdnum's full check, called defensively: 2.2 raises KeyError for some birthplace codes, and
    rejects codes that did not exist in the birth year; then the check digit alone decides."""
    try:
        return ric.is_valid(number)
    except KeyError:
        return ric.calc_check_digit(number) == number[-1]


def _random_bodies(rng: np.random.Generator, n: int) -> list[str]:
    counties = [str(c) for c in ref.geography().county_codes] + list(ref.OTHER_PROVINCE_COUNTIES)
    days = np.datetime64("1930-01-01") + rng.integers(0, 34000, n).astype("m8[D]")
    dates = np.datetime_as_string(days).tolist()
    return [
        f"{counties[c]}{d.replace('-', '')}{s:03d}"
        for c, d, s in zip(
            rng.integers(0, len(counties), n).tolist(), dates, rng.integers(0, 1000, n).tolist(), strict=True
        )
    ]


def test_ric_check_char_matches_stdnum() -> None:
    rng = np.random.default_rng(1)
    for body in _random_bodies(rng, N):
        # stdnum's calc_check_digit takes the whole number and ignores its last character.
        assert ids.ric_check_char(body) == ric.calc_check_digit(body + "?")


def test_ric_vectorised_equals_scalar() -> None:
    rng = np.random.default_rng(2)
    bodies = _random_bodies(rng, N)
    vector = ids.ric_check_chars(np.array([int(b) for b in bodies], dtype=np.int64))
    assert vector.tolist() == [ids.ric_check_char(b) for b in bodies]


def test_made_rics_are_valid_and_corrupted_ones_are_not() -> None:
    rng = np.random.default_rng(3)
    for body in _random_bodies(rng, N):
        number = ids.make_ric(body[:6], body[6:14], int(body[14:]))
        assert ids.is_valid_ric(number)
        assert ric.calc_check_digit(number) == number[-1]
        assert ric.get_birth_date(number).strftime("%Y%m%d") == body[6:14]
        bad = ids.corrupt_ric(number, int(rng.integers(1, 11)))
        assert bad[:17] == number[:17] and bad != number
        assert not ids.is_valid_ric(bad)
        assert ric.calc_check_digit(bad) != bad[-1]
        assert not _stdnum_ric_valid(bad)


def test_guizhou_rics_pass_stdnum_full_validation_where_it_can_judge() -> None:
    """Codes that existed at the birth date pass stdnum's full validation (birthplace history included)."""
    number = ids.make_ric("520102", "19900101", 123)
    assert ric.is_valid(number)
    assert ric.get_birth_place(number)["county"] == "南明区"


def test_org_check_char_known_examples() -> None:
    # GB 11714's worked example D2143569-X, and a real organisation code.
    assert ids.org_check_char("D2143569") == "X"
    assert ids.org_check_char("60003734") == "1"  # 91110000600037341L is stdnum's documented example


def _random_usccs(rng: np.random.Generator, n: int) -> list[str]:
    alphabet = ids.USCC_ALPHABET
    counties = [str(c) for c in ref.geography().county_codes]
    out = []
    for _ in range(n):
        kind = ("91", "92", "93")[int(rng.integers(0, 3))]
        body = "".join(alphabet[i] for i in rng.integers(0, len(alphabet), 8))
        out.append(ids.make_uscc(kind, counties[int(rng.integers(0, len(counties)))], body))
    return out


def test_uscc_matches_stdnum() -> None:
    rng = np.random.default_rng(4)
    for code in _random_usccs(rng, N):
        assert uscc.is_valid(code), code
        assert ids.uscc_check_char(code[:17]) == uscc.calc_check_digit(code[:17])
        assert ids.org_check_char(code[8:16]) == code[16]
        bad = ids.corrupt_uscc(code, int(rng.integers(1, 31)))
        assert bad[:17] == code[:17] and bad != code
        assert not uscc.is_valid(bad)
        assert not ids.is_valid_uscc(bad)


def test_is_valid_uscc_agrees_with_stdnum_on_random_strings() -> None:
    rng = np.random.default_rng(5)
    alphabet = ids.USCC_ALPHABET
    for _ in range(N):
        code = (
            "9"
            + "".join(str(d) for d in rng.integers(0, 10, 7))
            + "".join(alphabet[i] for i in rng.integers(0, 31, 10))
        )
        assert ids.is_valid_uscc(code) == uscc.is_valid(code)


def test_bad_input_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="17 digits"):
        ids.ric_check_char("52010219900101")
    with pytest.raises(ValueError, match="outside"):
        ids.uscc_check_char("91520102MA6DX4JQI")
    assert not ids.is_valid_ric("52010219900101123")
    assert not ids.is_valid_uscc("91520102MA6DX4JQ4")


def test_issued_bodies_stay_few_sorted_blocks_and_answer_membership_exactly() -> None:
    from demo_province.people import IssuedBodies

    rng = np.random.default_rng(5)
    issued, everything = IssuedBodies(), []
    for chunk in range(100):
        bodies = rng.integers(0, 10**9, 1000 + chunk)
        issued.add(bodies)
        everything.append(bodies)
        assert len(issued.blocks) <= (chunk + 1).bit_length()  # a binary counter of chunks
    issued.add(np.empty(0, dtype=np.int64))
    assert all(np.all(b[:-1] <= b[1:]) for b in issued.blocks)
    union = np.concatenate(everything)
    assert len(issued) == len(union)
    probe = np.concatenate([union[::7], rng.integers(0, 10**9, 5000)])
    assert np.array_equal(issued.contains(probe), np.isin(probe, union))


def _resident_ids_as_before(rng, division, birth, male, issued: np.ndarray):
    """make_resident_ids as it was until session 12: every retry re-checked the whole chunk against
    everything issued (here a plain np.isin), which is what the generator's bytes were made with."""
    from demo_province.identifiers import ric_bodies
    from demo_province.people import date_parts

    year, month, dd = date_parts(birth)
    seq = 2 * rng.integers(0, 500, len(birth)) + male.astype(np.int64)
    bodies = ric_bodies(division, year, month, dd, seq)
    while True:
        order = np.argsort(bodies, kind="stable")
        later = np.zeros(len(bodies), dtype=bool)
        later[order[1:]] = bodies[order][1:] == bodies[order][:-1]
        dup = np.isin(bodies, issued) | later
        if not dup.any():
            return bodies
        seq[dup] = 2 * rng.integers(0, 500, int(dup.sum())) + male[dup].astype(np.int64)
        bodies[dup] = ric_bodies(division[dup], year[dup], month[dup], dd[dup], seq[dup])


def test_resident_ids_are_the_ones_the_generator_always_made_even_when_crowded() -> None:
    """Re-checking only the re-drawn bodies must not change a single ID (same seed, same bytes): a crowded
    county and birthday range forces many retries, against earlier chunks and within the chunk."""
    from demo_province.people import IssuedBodies, make_resident_ids

    draw = np.random.default_rng(11)
    used, issued = IssuedBodies(), np.empty(0, dtype=np.int64)
    for chunk in range(6):  # 6 chunks of 500 into 2 counties × 3 days × 1,000 sequences: half full
        n = 500
        division = draw.choice(np.array([520102, 520103], dtype=np.int64), n)
        birth = np.datetime64("1990-01-01") + draw.integers(0, 3, n).astype("timedelta64[D]")
        male = draw.random(n) < 0.5
        expected = _resident_ids_as_before(np.random.default_rng(chunk), division, birth, male, issued)
        bodies, _, used = make_resident_ids(np.random.default_rng(chunk), division, birth, male, used)
        assert np.array_equal(bodies, expected), chunk
        assert len(np.unique(bodies)) == n and not np.isin(bodies, issued).any()
        issued = np.concatenate([issued, bodies])


def test_a_day_with_no_free_sequence_number_is_named_not_retried_forever() -> None:
    """501 women of one county born the same day cannot all have IDs (500 even sequence numbers): the
    generator says which county, day and sex, where it used to re-draw forever."""
    from demo_province.people import IssuedBodies, make_resident_ids

    n = 501
    division = np.full(n, 520102, dtype=np.int64)
    birth = np.full(n, np.datetime64("2008-01-15"))
    with pytest.raises(ValueError, match="520102 2008-01-15 女 ×1"):
        make_resident_ids(np.random.default_rng(0), division, birth, np.zeros(n, bool), IssuedBodies())
    bodies, ids, _ = make_resident_ids(
        np.random.default_rng(0), division[:500], birth[:500], np.zeros(500, bool), IssuedBodies()
    )
    assert len(set(ids)) == 500


def test_no_birthday_gathers_a_spike_that_would_fill_a_county_day() -> None:
    """Ages were clipped: every spouse drawn under 18 was born on one day (0.43 % of persons), which at
    10 M persons is more people of one county and sex than a day has sequence numbers. The busiest
    birthday now holds a handful per 100,000, as any other."""
    from demo_province import people as p

    rng = np.random.default_rng(1)
    sizes = p._household_sizes(rng, 100_000)
    member_of = np.repeat(np.arange(len(sizes)), sizes)
    position = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    bins = p._HEAD_AGE_BINS[p.pick(rng, p._HEAD_AGE_BINS[:, 2], len(sizes))]
    head_age = (bins[:, 0] + rng.random(len(sizes)) * bins[:, 1])[member_of]
    head_male = (rng.random(len(sizes)) < 0.8)[member_of]
    age = p._ages(rng, p._roles(rng, position, head_age), head_age, head_male)
    days = (age * 365.25).astype(np.int64)
    assert np.bincount(days).max() < 40  # was 429 on the 18th birthday
