"""Text encodings of department files: UTF-8, UTF-8 with BOM, GBK and GB18030 — decided on the whole file.

Why a whole-file pass rather than a sniff of the first 64 KiB: a file can be ASCII for a million lines and
then carry one GBK name, and a sniff would call it UTF-8 and fail (or worse, mis-decode) far from where it
looked. So the file is decoded end to end, in 1 MiB blocks (memory stays flat), before it is parsed:

* a UTF-8 BOM means UTF-8; every byte after it must decode, else the error names the line;
* otherwise strict UTF-8 is tried; a file that decodes completely is UTF-8;
* a file that fails UTF-8 *on its first line with non-ASCII bytes* is read as GB18030 (the superset of
  GBK and GB2312: every GBK file decodes identically as GB18030, and GB18030 adds the rare characters of
  people's names that GBK lacks) and transcoded to a UTF-8 working copy for the parser; every byte must
  decode, else the error names the line;
* a file that fails UTF-8 *after* a whole non-ASCII line decoded as UTF-8 mixes encodings: it fails, naming the line —
  decoding it as GB18030 would silently turn the UTF-8 part into the wrong characters. For the same reason
  a GB18030 file in which a whole line is valid non-ASCII UTF-8 fails: GBK text practically never forms
  valid UTF-8, so such a line is a UTF-8 fragment pasted into a GBK file.

Line numbers here are physical lines (newline count + 1), which is what an editor shows.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from govlake.ingest.errors import UnreadableInput

BLOCK_BYTES = 1 << 20
GB_NAMES = ("gbk", "gb2312", "gb18030", "cp936")
NON_ASCII = re.compile(rb"[\x80-\xff]")


@dataclass(frozen=True)
class DecodedFile:
    path: Path  # UTF-8 (possibly with BOM) file the parser reads: the original or a transcoded copy
    encoding: str  # what the delivery was: utf-8, utf-8-sig or gb18030
    transcoded: bool


def _line_of(lines_before: int, block: bytes, offset: int) -> int:
    return lines_before + block.count(b"\n", 0, offset) + 1


def _undecodable(name: str, encoding: str, line: int, raw: bytes, source_file: str) -> UnreadableInput:
    return UnreadableInput(
        f"{name} 第 {line} 行 (physical line): bytes {raw[:12].hex(' ')} are not valid {encoding} — the file "
        "is damaged or mixes encodings; ask the department to re-export it in one encoding (UTF-8 or GBK)",
        source_file=source_file,
        source_row=line,
        rule="encoding",
    )


def _scan_utf8(path: Path, skip: int) -> tuple[bool, int, bytes, bool]:
    """(valid, line of the error, bytes there, whether a whole non-ASCII line decoded before the error line).

    A few GBK characters can form valid UTF-8 by chance (统一 is CD B3 D2 BB, two valid 2-byte sequences),
    so UTF-8 counts as proven only by a complete non-ASCII line before the failing one.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 0
    first_non_ascii_line = 0
    with path.open("rb") as f:
        f.seek(skip)
        while block := f.read(BLOCK_BYTES):
            if not first_non_ascii_line and not block.isascii():
                first = NON_ASCII.search(block)
                first_non_ascii_line = _line_of(lines, block, first.start() if first else 0)
            try:
                decoder.decode(block, final=False)
            except UnicodeDecodeError as exc:
                line = _line_of(lines, block, exc.start)
                return False, line, block[exc.start :], 0 < first_non_ascii_line < line
            lines += block.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False, lines + 1, b"", 0 < first_non_ascii_line < lines + 1
    return True, 0, b"", bool(first_non_ascii_line)


def _utf8_fragment(block: bytes) -> int | None:
    """Offset of a whole line that is valid non-ASCII UTF-8 inside a GB18030 block, else None."""
    try:
        block.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return None if block.isascii() else 0
    offset = 0
    for line in block.split(b"\n"):
        if len(line) > 8 and not line.isascii():
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                return offset
        offset += len(line) + 1
    return None


def _transcode_gb18030(path: Path, out: Path, name: str, source_file: str) -> None:
    decoder = codecs.getincrementaldecoder("gb18030")()
    lines = 0
    carry = b""  # a partial last line, so the UTF-8 fragment check always sees whole lines
    with path.open("rb") as src, out.open("wb") as dst:
        while block := src.read(BLOCK_BYTES):
            cut = block.rfind(b"\n") + 1
            whole, carry_next = (carry + block[:cut], block[cut:]) if cut else (b"", carry + block)
            if whole:
                _transcode_block(decoder, whole, lines, name, source_file, dst)
                lines += whole.count(b"\n")
            carry = carry_next
        if carry:
            _transcode_block(decoder, carry, lines, name, source_file, dst)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise _undecodable(name, "GB18030", lines + 1, carry[-4:], source_file) from exc


def _transcode_block(decoder, block: bytes, lines: int, name: str, source_file: str, dst) -> None:  # noqa: ANN001
    fragment = _utf8_fragment(block)
    if fragment is not None:
        raise UnreadableInput(
            f"{name} 第 {_line_of(lines, block, fragment)} 行 (physical line): this line is UTF-8 inside a "
            "GBK/GB18030 file — the file mixes encodings; ask the department to re-export it in one encoding",
            source_file=source_file,
            source_row=_line_of(lines, block, fragment),
            rule="encoding",
        )
    try:
        dst.write(decoder.decode(block, final=False).encode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _undecodable(
            name, "GB18030", _line_of(lines, block, exc.start), block[exc.start :], source_file
        ) from exc


def decode_file(
    path: Path, source_file: str, hint: str | None = None, display: str | None = None
) -> DecodedFile:
    """Decide the encoding of a delivered text file over all of its bytes; GB18030 is transcoded to UTF-8.

    ``hint`` (the registry's ``source.encoding``) is recorded in the error only: the bytes decide, because
    departments change export tools without telling the registry.
    """
    name = display or PurePosixPath(source_file).name or path.name
    size = path.stat().st_size
    if size == 0:
        raise UnreadableInput(
            f"{name}: the file is empty (0 bytes) — expected a header line and rows; ask the department to re-deliver",
            source_file=source_file,
            rule="empty_file",
        )
    with path.open("rb") as f:
        head = f.read(3)
    bom = head == codecs.BOM_UTF8
    valid, line, raw, non_ascii = _scan_utf8(path, 3 if bom else 0)
    if valid:
        return DecodedFile(path, "utf-8-sig" if bom else "utf-8", False)
    if bom or non_ascii:
        raise _undecodable(name, "UTF-8", line, raw, source_file)
    out = path.with_name(path.name + ".utf8")
    try:
        _transcode_gb18030(path, out, name, source_file)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return DecodedFile(out, "gb18030", True)


def is_gb_hint(hint: str | None) -> bool:
    return bool(hint) and str(hint).lower().replace("-", "") in GB_NAMES
