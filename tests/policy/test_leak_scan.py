"""The open release's last gate (govlake.opendata.scan calls it): identifiers are found in every file kind,
the error text never repeats them, and checksums or counts are not mistaken for them.

The release path itself (a blocked release uploads nothing) is tested in tests/opendata/test_release.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import pyarrow as pa
import pyarrow.parquet as pq
from stdnum.iso7064 import mod_11_2

from govlake.policy.leak_scan import scan_release


def _resident_id(region: str, birth: dt.date, seq: int) -> str:
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + mod_11_2.calc_check_digit(body)


VALID_ID = _resident_id("520102", dt.date(1990, 1, 1), 7)


def _parquet(rows: list[dict]) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    return buffer.getvalue()


def test_resident_ids_are_found_in_text_and_parquet_values_and_never_repeated():
    row = {"county_code": "520102", "county_name": f"南明区{VALID_ID}", "population": 12}
    text = f"county_code,county_name,population\n520102,南明区{VALID_ID},12\n"
    leaks = scan_release({"data.csv": text.encode("utf-8-sig"), "data.parquet": _parquet([row])})

    assert [(leak.file, leak.location, leak.kind) for leak in leaks] == [
        ("data.csv", "line 2", "resident_id"),
        ("data.parquet", "row 1, column county_name", "resident_id"),
    ]
    assert all(VALID_ID not in str(leak) for leak in leaks)  # safe to log: the middle is hidden


def test_an_identifier_stored_as_a_number_or_in_a_column_name_is_found():
    numeric = _parquet([{"population": 12, "code": float(13812345678)}])
    named = _parquet([{f"id_{VALID_ID}": 1}])
    leaks = scan_release({"a.parquet": numeric, "b.parquet": named})
    assert {(leak.file, leak.kind) for leak in leaks} == {
        ("a.parquet", "mobile"),
        ("b.parquet (schema)", "resident_id"),
    }


def test_mobiles_are_found_but_checksums_counts_and_wrong_check_characters_are_not():
    assert [leak.kind for leak in scan_release({"metadata.json": "联系电话 13812345678".encode()})] == [
        "mobile"
    ]
    wrong_check = VALID_ID[:-1] + ("0" if VALID_ID[-1] != "0" else "1")
    harmless = f"{wrong_check}\n{hashlib.sha256(b'x').hexdigest()}\n{'1' * 64}\n520102 38600000\n"
    assert scan_release({"data.csv": harmless.encode("utf-8-sig")}) == []


def _digit_credit_codes(count: int) -> list[str]:
    """All-digit unified social credit codes of Guizhou enterprises, valid check character (GB 32100)."""
    from demo_province.identifiers import make_uscc

    return [make_uscc("91", "520102", f"{n:08d}") for n in range(10_000_000, 10_000_000 + count)]


def test_credit_codes_of_entities_are_not_taken_for_resident_ids_or_bank_cards():
    """Found at scale medium: the open entity release publishes credit codes, and an all-digit one passes
    MOD 11-2 (a resident ID's check) one time in eleven and Luhn (a card's) one time in ten."""
    from stdnum import luhn

    codes = _digit_credit_codes(2_000)
    lookalikes = [c for c in codes if luhn.is_valid(c) or mod_11_2.is_valid(c)]
    assert len(lookalikes) > 100  # the old scan blocked the release on every one of these
    text = "credit_code,name\n" + "".join(f"{c},企业\n" for c in lookalikes)
    assert scan_release({"data.csv": text.encode("utf-8-sig")}) == []


def test_an_id_needs_a_real_birth_date_and_a_card_is_still_found_next_to_credit_codes():
    no_date = "520102" + "00001399" + "123"  # the 13th month of year 0
    no_date += mod_11_2.calc_check_digit(no_date)
    foreigner = _resident_id("952840", dt.date(1985, 6, 30), 1)  # a 2023 permanent-residence card's shape
    card = "6222021234567890128"  # 19 digits, Luhn-valid
    text = f"{no_date}\n{foreigner}\n{card}\n{_digit_credit_codes(1)[0]}\n"
    assert [(leak.location, leak.kind) for leak in scan_release({"d.csv": text.encode()})] == [
        ("line 2", "resident_id"),
        ("line 3", "bank_card"),
    ]


def test_files_on_disk_are_scanned_in_blocks_with_the_lines_and_rows_of_the_whole(tmp_path, monkeypatch):
    """A release's data files are scanned from disk in bounded blocks: the line and row named are those of
    the whole file, whatever block or batch the identifier falls in."""
    from govlake.policy import leak_scan

    monkeypatch.setattr(leak_scan, "PARQUET_BATCH_ROWS", 7)
    monkeypatch.setattr(leak_scan, "BLOCK_BYTES", 100)
    lines = [f"520102,南明区,{n}" for n in range(1, 200)]
    lines[150] = f"520102,南明区{VALID_ID},151"
    text = "\ufeffcounty_code,county_name,population\r\n" + "\r\n".join(lines) + "\r\n"
    csv_path = tmp_path / "data.csv"
    csv_path.write_text(text, encoding="utf-8")
    rows = [{"county_name": "南明区", "population": n} for n in range(100)]
    rows[40]["county_name"] = f"南明区{VALID_ID}"
    parquet_path = tmp_path / "data.parquet"
    parquet_path.write_bytes(_parquet(rows))

    found = leak_scan.scan_release({"data.csv": csv_path, "data.parquet": parquet_path})
    in_memory = leak_scan.scan_release(
        {"data.csv": text.encode("utf-8"), "data.parquet": parquet_path.read_bytes()}
    )
    assert [(leak.file, leak.location) for leak in found] == [
        ("data.csv", "line 152"),
        ("data.parquet", "row 41, column county_name"),
    ]
    assert found == in_memory
    blocks = list(leak_scan.text_blocks(csv_path, block_bytes=100))
    assert len(blocks) > 10 and "".join(blocks) == text.removeprefix("\ufeff")


def test_values_searched_together_find_what_each_value_scanned_alone_does():
    """scan_values (one regex pass over a column or a block of lines) is scan_value applied to each value."""
    import random

    from govlake.policy.leak_scan import scan_value, scan_values

    rng = random.Random(19)
    card = "6222021234567890128"
    pieces = [
        VALID_ID,
        "13812345678",
        card,
        *_digit_credit_codes(3),
        "1" * 10,
        "2" * 11,
        "南明区",
        "a1",
        "\n",
    ]
    values = [
        "".join(rng.choice(pieces + [" ", ",", "x"]) for _ in range(rng.randint(0, 6))) for _ in range(3_000)
    ]
    one_by_one = [(i, kind, found) for i, value in enumerate(values) for kind, found in scan_value(value)]
    assert len({kind for _, kind, _ in one_by_one}) == 3  # every kind occurs, glued to others or not
    assert list(scan_values(values)) == one_by_one
    assert list(scan_values(["南明区", "520102 38600000", ""])) == []
