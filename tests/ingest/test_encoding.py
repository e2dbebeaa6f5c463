"""Encodings, delimiters and quoting of CSV deliveries, decided on the whole file (no services needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from govlake.ingest.errors import UnreadableInput
from govlake.ingest.sources.csv_files import choose_delimiter, read_csv_file
from govlake.ingest.sources.encoding import BLOCK_BYTES, decode_file

HEADER = "行政区划代码,统计期,客运量,备注\n"


def _write(tmp_path: Path, data: bytes, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _rows(path: Path, delimiter: str = ",", encoding: str = "utf-8") -> list[dict]:
    out = []
    for chunk in read_csv_file(path, "s3://landing/x/y/1999-01-01/" + path.name, encoding, delimiter):
        numbers = chunk.source_rows.to_pylist()
        out += [{"_row": n, **r} for n, r in zip(numbers, chunk.table.to_pylist(), strict=True)]
    return out


@pytest.mark.parametrize(
    ("encoding", "bom", "expected"),
    [
        ("utf-8", False, "utf-8"),
        ("utf-8", True, "utf-8-sig"),
        ("gbk", False, "gb18030"),
        ("gb18030", False, "gb18030"),
    ],
)
def test_each_encoding_is_detected_and_decodes_to_the_same_text(
    tmp_path: Path, encoding: str, bom: bool, expected: str
) -> None:
    text = HEADER + "520102,2026-11,12345,贵阳市南明区\n"
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding)
    decoded = decode_file(_write(tmp_path, data), "s3://landing/f.csv")
    assert decoded.encoding == expected
    assert decoded.path.read_text(encoding="utf-8-sig") == text


def test_a_gb18030_only_name_survives(tmp_path: Path) -> None:
    # 䶮 (U+4DAE) is in GB18030 but not in GBK: a GBK decoder would fail or replace it.
    text = HEADER + "520102,2026-11,1,龑䶮\n"
    decoded = decode_file(_write(tmp_path, text.encode("gb18030")), "s3://landing/f.csv")
    assert "龑䶮" in decoded.path.read_text(encoding="utf-8")


def test_gbk_after_a_long_ascii_prefix_is_not_mistaken_for_utf8(tmp_path: Path) -> None:
    # A 64 KiB sniff would see only ASCII here; the whole-file pass finds the GBK name 2 MiB in.
    ascii_rows = "".join(f"520102,2026-{i % 12 + 1:02d},{i},x\n" for i in range(150_000))
    assert len(ascii_rows) > 2 * BLOCK_BYTES
    data = b"code,period,n,note\n" + ascii_rows.encode() + "520102,2026-12,9,王芳\n".encode("gbk")
    decoded = decode_file(_write(tmp_path, data), "s3://landing/f.csv")
    assert decoded.encoding == "gb18030"
    assert decoded.path.read_text(encoding="utf-8").endswith("王芳\n")


def test_undecodable_bytes_fail_with_the_line(tmp_path: Path) -> None:
    data = HEADER.encode("gbk") + "520102,2026-11,1,贵阳\n".encode("gbk") + b"520102,2026-12,2,\xff\xfe\n"
    with pytest.raises(UnreadableInput, match=r"f.csv 第 3 行.*not valid GB18030") as info:
        decode_file(_write(tmp_path, data), "s3://landing/f.csv")
    assert info.value.source_row == 3 and info.value.rule == "encoding"


def test_a_utf8_file_with_a_gbk_line_is_refused_not_misdecoded(tmp_path: Path) -> None:
    data = (
        HEADER.encode("utf-8")
        + "520102,2026-11,1,贵阳市\n".encode()
        + "520103,2026-11,2,遵义市\n".encode("gbk")
    )
    with pytest.raises(UnreadableInput, match=r"第 3 行.*not valid UTF-8"):
        decode_file(_write(tmp_path, data), "s3://landing/f.csv")


def test_a_gbk_file_with_a_utf8_line_is_refused_not_misdecoded(tmp_path: Path) -> None:
    data = (
        HEADER.encode("gbk")
        + "520102,2026-11,1,贵阳市南明区\n".encode("gbk")
        + "520103,2026-11,2,遵义市红花岗区\n".encode()
    )
    with pytest.raises(UnreadableInput, match=r"第 3 行.*UTF-8 inside a GBK"):
        decode_file(_write(tmp_path, data), "s3://landing/f.csv")


def test_an_empty_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInput, match="empty"):
        decode_file(_write(tmp_path, b""), "s3://landing/f.csv")


@pytest.mark.parametrize(
    ("delimiter", "line"),
    [
        (",", "a,b"),
        (";", "行政区划代码;统计期;客运量"),
        ("\t", "行政区划代码\t统计期"),
        ("|", "行政区划代码|统计期|客运量"),
    ],
)
def test_the_delimiter_is_the_one_that_splits_out_the_declared_names(delimiter: str, line: str) -> None:
    assert choose_delimiter(line, ["行政区划代码", "统计期", "客运量"]) == delimiter
    assert choose_delimiter(line, ["x"], ";") == ";"


def test_quoted_commas_doubled_quotes_and_embedded_newlines(tmp_path: Path) -> None:
    text = (
        HEADER
        + '520102,2026-11,1,"南明区, 花果园"\n'
        + '520103,2026-11,2,"他说""好""\n第二行"\n'
        + "520111,2026-11,3,普通\n"
    )
    rows = _rows(_write(tmp_path, text.encode()))
    assert [r["备注"] for r in rows] == ["南明区, 花果园", '他说"好"\n第二行', "普通"]
    assert [r["_row"] for r in rows] == [2, 3, 4]  # record numbers, as a spreadsheet shows them


def test_a_file_cut_off_inside_its_last_record_is_truncated(tmp_path: Path) -> None:
    text = HEADER + "520102,2026-11,1,完整\n" + '520103,2026-11,2,"被截'
    with pytest.raises(UnreadableInput, match=r"第 3 行.*cut off") as info:
        _rows(_write(tmp_path, text.encode()))
    assert info.value.rule == "truncated"


def test_a_short_record_in_the_middle_is_a_row_defect_not_truncation(tmp_path: Path) -> None:
    text = HEADER + "520102,2026-11\n" + "520103,2026-11,2,好\n"
    chunks = list(read_csv_file(_write(tmp_path, text.encode()), "s3://landing/f.csv"))
    assert sum(c.table.num_rows for c in chunks) == 1
    assert [m.source_row for c in chunks for m in c.malformed] == [2]
