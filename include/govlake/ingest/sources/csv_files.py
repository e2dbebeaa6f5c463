"""CSV deliveries: files a department drops under ``landing/<department>/<dataset>/<YYYY-MM-DD>/``.

Files are read as delivered — never copied — in a streamed pass of bounded memory (pyarrow's streaming
reader, one block at a time). The encoding is detected per file: a UTF-8 BOM, else valid UTF-8, else
GB18030, the superset of GBK that also covers the rare characters in people's names that GBK lacks.
Every value is read as text so identifiers keep their leading zeros; typing is normalize.py's job.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from govlake.ingest.context import CHUNK_ROWS, BatchContext
from govlake.ingest.errors import IngestError
from govlake.ingest.landing import download_file, list_keys, s3_uri
from govlake.ingest.sources import MalformedRow, SourceChunk

# Arrow reads ahead a few blocks; measured on 1.2M rows, 8 MiB blocks let memory grow with the file while
# 1 MiB blocks kept the peak flat (~60-90 MB), so blocks stay small and are regrouped into CHUNK_ROWS chunks.
BLOCK_BYTES = 1 << 20
SNIFF_BYTES = 1 << 16
CSV_SUFFIXES = (".csv", ".txt")


def detect_encoding(head: bytes, hint: str | None = None) -> str:
    """``utf-8``, ``utf-8-sig`` or ``gb18030`` from the first bytes of a file (``hint`` for pure ASCII)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        # An incremental decoder tolerates a multi-byte character cut at the end of the sample.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    if head.isascii() and hint and hint.lower().replace("-", "") in ("gbk", "gb2312", "gb18030"):
        return "gb18030"
    return "utf-8"


def _arrow_encoding(encoding: str) -> str:
    # Arrow reads UTF-8 natively and skips a UTF-8 BOM itself; other encodings are transcoded.
    return "utf8" if encoding in ("utf-8", "utf-8-sig") else encoding


def read_header(path: Path, encoding: str, delimiter: str) -> list[str]:
    with path.open("r", encoding=encoding, newline="") as f:
        header = next(csv.reader(f, delimiter=delimiter), None)
    if not header:
        raise IngestError(f"{path.name}: the file is empty — expected a header line with the column names")
    names = [h.strip() for h in header]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise IngestError(
            f"{path.name} 第 1 行: column(s) {', '.join(duplicates)} appear more than once in the header"
        )
    return names


def _row_numbers(first: int, count: int, skipped: set[int]) -> tuple[pa.Array, int]:
    """Line numbers of ``count`` parsed rows starting at line ``first``, stepping over skipped lines."""
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


def read_csv_file(
    path: Path, source_file: str, encoding: str, delimiter: str = ",", chunk_rows: int = CHUNK_ROWS
) -> Iterator[SourceChunk]:
    """Stream a local CSV file as chunks of text columns; malformed lines are reported, not fatal."""
    names = read_header(path, encoding, delimiter)
    malformed: list[MalformedRow] = []

    def on_invalid(row: pcsv.InvalidRow) -> str:
        malformed.append(MalformedRow(row.number, row.text, row.expected_columns, row.actual_columns))
        return "skip"

    reader = pcsv.open_csv(
        path,
        read_options=pcsv.ReadOptions(
            encoding=_arrow_encoding(encoding),
            block_size=BLOCK_BYTES,
            use_threads=False,
            column_names=names,
            skip_rows=1,
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
    next_line = 2  # line 1 is the header; Arrow numbers rows the same way (records, header included)
    skipped: set[int] = set()  # malformed lines not yet stepped over (Arrow may report them a block early)
    for batches in _regroup(reader, chunk_rows):
        count = sum(b.num_rows for b in batches)
        skipped |= {m.source_row for m in malformed}
        rows, next_line = _row_numbers(next_line, count, skipped)
        yield SourceChunk(pa.Table.from_batches(batches, reader.schema), source_file, rows, malformed)
        malformed = []
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


class CsvReader:
    """Every CSV file the department delivered for the logical date, in name order."""

    kind = "csv"

    def __init__(self, ctx: BatchContext) -> None:
        self.ctx = ctx
        self.source = s3_uri("landing", ctx.date_prefix)
        self.landed_files: list[str] = []
        self.details: dict = {"encodings": {}}

    def _keys(self) -> list[str]:
        keys = [
            k
            for k in list_keys(self.ctx.s3, "landing", self.ctx.date_prefix)
            if k.lower().endswith(CSV_SUFFIXES)
        ]
        if not keys:
            raise IngestError(
                f"no CSV file for {self.ctx.dataset.key} on {self.ctx.logical_date}: nothing under {self.source} "
                "— has the department delivered this date?"
            )
        return keys

    def chunks(self) -> Iterator[SourceChunk]:
        hint = self.ctx.dataset.source.get("encoding")
        delimiter = str(self.ctx.dataset.source.get("delimiter") or ",")
        for key in self._keys():
            uri = s3_uri("landing", key)
            path = download_file(self.ctx.s3, uri, self.ctx.workdir / PurePosixPath(key).name)
            with path.open("rb") as f:
                encoding = detect_encoding(f.read(SNIFF_BYTES), hint)
            self.details["encodings"][PurePosixPath(key).name] = encoding
            self.landed_files.append(uri)
            try:
                yield from read_csv_file(path, uri, encoding, delimiter)
            except (UnicodeDecodeError, pa.ArrowInvalid) as exc:
                raise IngestError(
                    f"{path.name}: cannot be read as {encoding} CSV ({exc}) — ask the department to re-deliver it"
                ) from exc
            finally:
                path.unlink(missing_ok=True)
