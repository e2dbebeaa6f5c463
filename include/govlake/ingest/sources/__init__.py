"""Source readers: one per registry source kind (database, csv, xlsx, rest_api).

Every reader lands what it receives in ``s3://landing/<department>/<dataset>/<YYYY-MM-DD>/`` (csv files are
already there, delivered by the department) and yields ``SourceChunk``s: source rows as received, column
names as the source spells them, each row tagged with the landed file and its 1-based line/record number
there, so that a clerk can open the file and find the row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import pyarrow as pa

from govlake.ingest.context import BatchContext
from govlake.ingest.watermark import Window


@dataclass
class MalformedRow:
    """A line the parser could not split into the header's columns; it goes to quarantine as it was."""

    source_row: int
    text: str
    expected_columns: int
    actual_columns: int


@dataclass
class SourceChunk:
    table: pa.Table  # source column names, values as received (text)
    source_file: str  # s3:// URI of the landed file
    source_rows: pa.Array  # int64, the row's line/record number in the landed file
    malformed: list[MalformedRow] = field(default_factory=list)
    # Keys the source deleted outright (database delete capture): only key and watermark columns are set.
    tombstones: bool = False


class SourceReader(Protocol):
    kind: str
    source: str  # what was read: table, landing prefix or API URL
    landed_files: list[str]  # s3:// URIs, filled while chunks are read
    details: dict  # kind-specific facts for the manifest (encodings, pages, rows outside the window)

    def chunks(self) -> Iterator[SourceChunk]: ...


def make_reader(ctx: BatchContext, window: Window | None) -> SourceReader:
    """The reader for the dataset's registry ``source.kind``."""
    kind = ctx.dataset.source_kind
    if kind == "csv":
        from govlake.ingest.sources.csv_files import CsvReader

        return CsvReader(ctx)
    if kind == "xlsx":
        from govlake.ingest.sources.xlsx_files import XlsxReader

        return XlsxReader(ctx)
    if kind == "database":
        from govlake.ingest.sources.database import DatabaseReader

        return DatabaseReader(ctx, window)
    if kind == "rest_api":
        from govlake.ingest.sources.rest_api import RestApiReader

        return RestApiReader(ctx, window)
    raise ValueError(f"{ctx.dataset.registry_file}: unknown source kind {kind!r} for {ctx.dataset.key}")
