"""Reading the lake's Parquet files in bounded memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq


def record_batches(
    source: Path | BinaryIO, batch_rows: int, columns: list[str] | None = None
) -> Iterator[pa.RecordBatch]:
    """The file's record batches, read one row group at a time. One reader over every row group kept
    what it had decoded (pyarrow's allocation grew ~55 bytes a row: the load of 10 M 公安厅 rows peaked
    at 763 MiB, the province's would need ~2.5 GiB); a reader per row group stays flat (~180 MiB)."""
    file = pq.ParquetFile(source)
    for group in range(file.num_row_groups):
        yield from file.iter_batches(batch_size=batch_rows, row_groups=[group], columns=columns)
