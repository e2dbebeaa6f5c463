"""CSV deliveries: files a department drops under ``landing/<department>/<dataset>/<YYYY-MM-DD>/``.

Each file is first decoded end to end (``encoding.py``: UTF-8, UTF-8 with BOM, or GBK/GB18030 transcoded
to a UTF-8 working copy; undecodable bytes fail with the line), then parsed in a streamed pass of bounded
memory (pyarrow's streaming reader, one small block at a time):

* the delimiter is the registry's ``source.delimiter``, or — when absent or ``auto`` — the one of
  ``, ; TAB |`` that splits the header line into the most of the registry's column names;
* quoting follows RFC 4180: quoted fields may hold the delimiter, doubled quotes and line breaks;
* ``source_row`` is the record number counting the header as 1 — the row number a spreadsheet shows when
  the clerk opens the file, even when a quoted field spans several physical lines;
* a record with the wrong number of fields is quarantined on its own (rule ``columns``); but a file that
  ends inside its last record (no final line break and that record short or an open quote) was cut off in
  transfer, and the whole delivery is rejected as truncated.

Every value is read as text so identifiers keep their leading zeros; typing is normalize.py's job.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from govlake.ingest.context import CHUNK_ROWS
from govlake.ingest.delivered_files import DeliveredFile
from govlake.ingest.errors import IngestError, SchemaDrift, UnreadableInput
from govlake.ingest.sources import MalformedRow, SourceChunk
from govlake.ingest.sources.encoding import decode_file
from govlake.ingest.sources.file_drop import FileDropReader

# Arrow reads ahead a few blocks; measured on 1.2M rows, 8 MiB blocks let memory grow with the file while
# 1 MiB blocks kept the peak flat (~60-90 MB), so blocks stay small and are regrouped into CHUNK_ROWS chunks.
BLOCK_BYTES = 1 << 20
CSV_SUFFIXES = (".csv", ".txt")
DELIMITERS = (",", ";", "\t", "|")
HEADER_BYTES = 1 << 16


def _squash(name: str) -> str:
    return re.sub(r"\s+", "", name)


def choose_delimiter(header_line: str, declared: list[str], configured: str | None = None) -> str:
    """The registry's delimiter, or the candidate that splits the header into the most declared names."""
    if configured and configured.lower() != "auto":
        return "\t" if configured in ("\\t", "tab") else configured
    wanted = {_squash(n) for n in declared}

    def score(delimiter: str) -> tuple[int, int]:
        fields = next(csv.reader([header_line], delimiter=delimiter), [])
        return sum(_squash(f) in wanted for f in fields), len(fields)

    return max(DELIMITERS, key=score)


def first_line(path: Path, encoding: str) -> str:
    with path.open("r", encoding=encoding, newline="") as f:
        return f.readline(HEADER_BYTES).rstrip("\r\n")


def read_header(path: Path, encoding: str, delimiter: str, display: str = "") -> list[str]:
    with path.open("r", encoding=encoding, newline="") as f:
        header = next(csv.reader(f, delimiter=delimiter), None)
    name = display or path.name
    if not header or not any(h.strip() for h in header):
        raise UnreadableInput(
            f"{name} 第 1 行: no header line — expected the column names on line 1",
            source_file=display,
            source_row=1,
        )
    names = [h.strip() for h in header]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SchemaDrift(
            f"{name} 第 1 行: column(s) {', '.join(duplicates)} appear more than once in the header",
            source_file=display,
            source_row=1,
            column=duplicates[0],
        )
    return names


def _row_numbers(first: int, count: int, skipped: set[int]) -> tuple[pa.Array, int]:
    """Record numbers of ``count`` parsed rows starting at ``first``, stepping over skipped records."""
    if not skipped:
        return pa.array(np.arange(first, first + count, dtype=np.int64)), first + count
    numbers, line = [], first
    while len(numbers) < count:
        if line in skipped:
            skipped.discard(line)
        else:
            numbers.append(line)
        line += 1
    return pa.array(numbers, pa.int64()), line


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(0, 2)
        if f.tell() == 0:
            return False
        f.seek(-1, 2)
        return f.read(1) in (b"\n", b"\r")


def _odd_quotes(path: Path) -> bool:
    """An odd number of quote characters: a quoted field is never closed (doubled quotes count 2)."""
    count = 0
    with path.open("rb") as f:
        while block := f.read(BLOCK_BYTES):
            count += block.count(b'"')
    return count % 2 == 1


def read_csv_file(
    path: Path,
    source_file: str,
    encoding: str = "utf-8",
    delimiter: str = ",",
    chunk_rows: int = CHUNK_ROWS,
    names: list[str] | None = None,
) -> Iterator[SourceChunk]:
    """Stream a local UTF-8 CSV file as chunks of text columns; malformed records are reported, not fatal."""
    names = names or read_header(path, encoding, delimiter, source_file)
    display = PurePosixPath(source_file).name
    malformed: list[MalformedRow] = []
    last_malformed = 0

    def on_invalid(row: pcsv.InvalidRow) -> str:
        malformed.append(MalformedRow(row.number, row.text, row.expected_columns, row.actual_columns))
        return "skip"

    reader = pcsv.open_csv(
        path,
        read_options=pcsv.ReadOptions(
            encoding="utf8", block_size=BLOCK_BYTES, use_threads=False, column_names=names, skip_rows=1
        ),
        parse_options=pcsv.ParseOptions(
            delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
        ),
        convert_options=pcsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    next_line = 2  # line 1 is the header; Arrow numbers records the same way (header included)
    skipped: set[int] = set()  # malformed records not yet stepped over (Arrow may report them a block early)
    try:
        for batches in _regroup(reader, chunk_rows):
            count = sum(b.num_rows for b in batches)
            skipped |= {m.source_row for m in malformed}
            last_malformed = max([last_malformed, *(m.source_row for m in malformed)])
            rows, next_line = _row_numbers(next_line, count, skipped)
            yield SourceChunk(pa.Table.from_batches(batches, reader.schema), source_file, rows, malformed)
            malformed = []
    except pa.ArrowInvalid as exc:
        raise UnreadableInput(
            f"{display} near record {next_line}: cannot be parsed as CSV ({exc}) — ask the department to re-deliver",
            source_file=source_file,
            source_row=next_line,
        ) from exc
    last_malformed = max([last_malformed, *(m.source_row for m in malformed)])
    if _odd_quotes(path):
        last = max(next_line - 1, last_malformed)
        cut = "the file ends inside a quoted field — it was cut off in transfer"
        raise UnreadableInput(
            f"{display} 第 {last} 行: a quote opened in this record (or before it) is never closed; {cut} or a "
            "quote is missing; ask the department to re-deliver",
            source_file=source_file,
            source_row=last,
            rule="truncated" if not _ends_with_newline(path) else "unbalanced_quotes",
        )
    if last_malformed and last_malformed >= next_line and not _ends_with_newline(path):
        raise UnreadableInput(
            f"{display} 第 {last_malformed} 行: the file ends in the middle of this record (no final line break, "
            "fields missing or a quote left open) — it was cut off in transfer; ask the department to re-deliver",
            source_file=source_file,
            source_row=last_malformed,
            rule="truncated",
        )
    if malformed:
        yield SourceChunk(reader.schema.empty_table(), source_file, pa.array([], pa.int64()), malformed)


def _regroup(reader: pcsv.CSVStreamingReader, chunk_rows: int) -> Iterator[list[pa.RecordBatch]]:
    """Small parsed blocks regrouped into chunks of about ``chunk_rows`` rows."""
    group: list[pa.RecordBatch] = []
    rows = 0
    for batch in reader:
        group.append(batch)
        rows += batch.num_rows
        if rows >= chunk_rows:
            yield group
            group, rows = [], 0
    if group:
        yield group


class CsvReader(FileDropReader):
    """Every CSV file the department delivered for the logical date, in name order, each read once."""

    kind = "csv"
    suffixes = CSV_SUFFIXES
    label = "CSV"

    def __init__(self, ctx) -> None:  # noqa: ANN001 - BatchContext
        super().__init__(ctx)
        self.details.update({"encodings": {}, "delimiters": {}})

    def read_file(self, f: DeliveredFile) -> Iterator[SourceChunk]:
        assert f.path is not None
        source = self.ctx.dataset.source
        decoded = decode_file(f.path, f.uri, source.get("encoding"), f.name)
        try:
            encoding = "utf-8-sig" if decoded.encoding == "utf-8-sig" else "utf-8"
            declared = [c.source_name for c in self.ctx.dataset.columns]
            delimiter = choose_delimiter(
                first_line(decoded.path, encoding), declared, source.get("delimiter")
            )
            self.details["encodings"][f.name] = decoded.encoding
            self.details["delimiters"][f.name] = delimiter
            yield from read_csv_file(decoded.path, f.uri, encoding, delimiter)
        except UnicodeDecodeError as exc:  # the decode pass makes this unreachable; kept as a guard
            raise IngestError(f"{f.name}: cannot be read as {decoded.encoding} ({exc})") from exc
        finally:
            if decoded.transcoded:
                decoded.path.unlink(missing_ok=True)
