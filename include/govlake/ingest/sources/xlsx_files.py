"""XLSX deliveries: workbooks as offices fill them in — title rows, several sheets, merged cells.

Registry ``source`` block::

    source: {kind: xlsx, header_row: 3, sheets: all, merged_cells: fill}

* ``header_row``: the 1-based row holding the registry ``source_name``s (rows above it — a merged title,
  a "填报单位：…" line — are skipped); ``auto`` (the default) takes, per sheet, the first of the top 30 rows
  that holds the most declared names. Data starts on the next row; fully empty rows are skipped.
* ``sheets``: ``all`` (default) or a list of sheet names. With ``all``, a sheet whose header row holds none
  of the declared names (a notes sheet, 填表说明) is skipped and listed in the manifest; a listed sheet that
  is missing fails the batch.
* ``merged_cells``: ``fill`` copies a merged range's value into every cell of the range (a 签发机构 cell
  merged down over consecutive rows belongs to each of them); ``keep`` leaves the covered cells empty.

**Bounded memory.** openpyxl's read-only mode streams rows but does not expose merged ranges. They are
read separately: the sheet's XML part is scanned in 1 MiB blocks with a regular expression for
``<mergeCell ref="A5:A9"/>`` (the ranges are listed after the sheet data, so the scan runs first; it never
builds a tree), and the fill is applied while rows stream past. Memory holds the list of ranges and one
chunk of rows, never the sheet.

**Where a row came from.** ``_source_file`` is ``s3://landing/…/<file>.xlsx#<sheet>`` and ``_source_row``
the row number Excel shows at the left of that sheet — a clerk opens the file, the sheet, and goes to
the row.

**Types.** Cells arrive typed: dates (openpyxl applies the workbook's 1900/1904 epoch) are written as
``YYYY-MM-DD`` (or ISO date-time when they carry a time), whole numbers without ``.0``, other numbers with
up to 15 significant digits; a bare number in a column declared ``date`` is taken as an Excel date serial.
Everything is then typed and checked by normalize.py exactly as for CSV.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time

import pyarrow as pa

from govlake.ingest.context import CHUNK_ROWS
from govlake.ingest.delivered_files import DeliveredFile
from govlake.ingest.errors import IngestError, SchemaDrift, UnreadableInput
from govlake.ingest.sources import SourceChunk
from govlake.ingest.sources.file_drop import FileDropReader

XLSX_SUFFIXES = (".xlsx", ".xlsm")
AUTO_HEADER_ROWS = 30
SCAN_BYTES = 1 << 20
MERGE_RE = re.compile(rb"<(?:\w+:)?mergeCell\b[^>]*?\bref=\"([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?\"")
MAX_EXCEL_SERIAL = 2958465  # 9999-12-31


@dataclass(frozen=True)
class Merge:
    min_row: int
    max_row: int
    min_col: int  # 0-based
    max_col: int  # 0-based, inclusive


def column_index(letters: bytes | str) -> int:
    """0-based index of an Excel column name (A -> 0, AA -> 26)."""
    text = letters.decode() if isinstance(letters, bytes) else letters
    n = 0
    for ch in text:
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def scan_merges(stream) -> list[Merge]:  # noqa: ANN001 - a binary file object
    """Every merged range of a sheet, from its XML part read in blocks (a tag cut by a block edge is kept)."""
    merges: list[Merge] = []
    tail = b""
    while block := stream.read(SCAN_BYTES):
        data = tail + block
        last_end = 0
        for m in MERGE_RE.finditer(data):
            c1, r1, c2, r2 = m.groups()
            c2, r2 = c2 or c1, r2 or r1
            merges.append(Merge(int(r1), int(r2), column_index(c1), column_index(c2)))
            last_end = m.end()
        # keep what might be the start of a tag split by the block boundary
        cut = data.rfind(b"<")
        tail = data[max(cut, last_end) :] if cut >= last_end else b""
        if len(tail) > 4096:
            tail = b""
    return sorted(merges, key=lambda m: (m.min_row, m.min_col))


class MergeFiller:
    """Fills merged ranges while rows stream past, in row order, holding only the active ranges."""

    def __init__(self, merges: list[Merge], first_row: int) -> None:
        self.pending = [
            m for m in merges if m.max_row >= first_row and (m.max_row > m.min_row or m.max_col > m.min_col)
        ]
        self.active: list[tuple[Merge, object]] = []
        self.next = 0

    def apply(self, number: int, row: list) -> None:
        while self.next < len(self.pending) and self.pending[self.next].min_row <= number:
            merge = self.pending[self.next]
            self.next += 1
            value = row[merge.min_col] if merge.min_row == number and merge.min_col < len(row) else None
            self.active.append((merge, value))
        if not self.active:
            return
        keep = []
        for merge, value in self.active:
            if merge.max_row < number:
                continue
            keep.append((merge, value))
            if value is None:
                continue
            if len(row) <= merge.max_col:
                row.extend([None] * (merge.max_col + 1 - len(row)))
            for c in range(merge.min_col, merge.max_col + 1):
                if row[c] is None or row[c] == "":
                    row[c] = value
        self.active = keep


def cell_text(value: object, as_date: bool = False, epoch: datetime | None = None) -> str | None:
    """A cell's value as the text normalize.py parses: dates ISO, whole numbers without '.0'."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep="T")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float)) and as_date and 0 < value < MAX_EXCEL_SERIAL:
        from openpyxl.utils.datetime import from_excel

        converted = from_excel(value, epoch) if epoch else from_excel(value)
        return cell_text(converted)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        text = f"{value:.15g}"
        return text if "e" not in text else repr(value)
    if isinstance(value, time):
        return value.isoformat()
    return str(value)


def _squash(value: object) -> str:
    return re.sub(r"\s+", "", str(value)) if value is not None else ""


class XlsxReader(FileDropReader):
    """Every workbook the department delivered for the date; every configured sheet of each."""

    kind = "xlsx"
    suffixes = XLSX_SUFFIXES
    label = "XLSX"

    def __init__(self, ctx) -> None:  # noqa: ANN001 - BatchContext
        super().__init__(ctx)
        source = ctx.dataset.source
        self.header_row = source.get("header_row", "auto")
        self.sheets = source.get("sheets", "all")
        self.fill_merged = str(source.get("merged_cells", "fill")) == "fill"
        self.declared = {_squash(c.source_name): c.source_name for c in ctx.dataset.columns}
        self.date_columns = {c.source_name for c in ctx.dataset.columns if c.type == "date"}
        self.details.update({"sheets": {}, "skipped_sheets": [], "header_rows": {}})

    # -- workbook ---------------------------------------------------------------------------------------
    def _open(self, f: DeliveredFile):  # noqa: ANN202 - openpyxl workbook
        from openpyxl import load_workbook

        try:
            return load_workbook(f.path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
            raise UnreadableInput(
                f"{f.name}: not a readable XLSX workbook ({type(exc).__name__}: {exc}) — the file is corrupt or "
                "not an Excel 2007+ file; ask the department to re-save it as .xlsx and re-deliver",
                source_file=f.uri,
                rule="corrupt_file",
            ) from exc
        except Exception as exc:  # openpyxl raises its own InvalidFileException and various parse errors
            raise UnreadableInput(
                f"{f.name}: not a readable XLSX workbook ({type(exc).__name__}: {exc}) — ask the department to "
                "re-save it as .xlsx and re-deliver",
                source_file=f.uri,
                rule="corrupt_file",
            ) from exc

    def _sheet_names(self, wb, f: DeliveredFile) -> list[str]:  # noqa: ANN001
        if self.sheets in (None, "all", "*"):
            return list(wb.sheetnames)
        wanted = [self.sheets] if isinstance(self.sheets, str) else list(self.sheets)
        missing = [s for s in wanted if s not in wb.sheetnames]
        if missing:
            raise SchemaDrift(
                f"{f.name}: sheet(s) {', '.join(missing)} named in the registry "
                f"{self.ctx.dataset.registry_file.name} (source.sheets) are not in the workbook "
                f"(it has {', '.join(wb.sheetnames)})",
                source_file=f.uri,
                rule="missing_sheet",
            )
        return wanted

    def read_file(self, f: DeliveredFile) -> Iterator[SourceChunk]:
        wb = self._open(f)
        try:
            names = self._sheet_names(wb, f)
            if not names:
                raise UnreadableInput(
                    f"{f.name}: the workbook has no sheets", source_file=f.uri, rule="empty_file"
                )
            read_any = False
            for name in names:
                for chunk in self._read_sheet(wb, f, name):
                    read_any = True
                    yield chunk
                read_any = read_any or name in self.details["sheets"]
            if not read_any:
                declared = ", ".join(self.declared.values())
                raise SchemaDrift(
                    f"{f.name}: no sheet has a header row with the declared columns ({declared}) — checked rows "
                    f"{self.header_row if self.header_row != 'auto' else f'1-{AUTO_HEADER_ROWS}'} of sheets "
                    f"{', '.join(names)}",
                    source_file=f.uri,
                    rule="schema_drift",
                )
        except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as exc:
            raise UnreadableInput(
                f"{f.name}: the workbook is damaged ({type(exc).__name__}: {exc}) — ask the department to re-deliver",
                source_file=f.uri,
                rule="corrupt_file",
            ) from exc
        finally:
            wb.close()

    # -- one sheet -------------------------------------------------------------------------------------
    def _merges(self, ws) -> list[Merge]:  # noqa: ANN001
        if not self.fill_merged:
            return []
        with ws._get_source() as stream:  # the sheet's XML part inside the zip, streamed
            return scan_merges(stream)

    def _find_header(self, rows: Iterator[tuple], sheet: str) -> tuple[int, list, list[tuple[int, list]]]:
        """(header row number, header values, rows read past the header while looking for it)."""
        if self.header_row != "auto":
            target = int(self.header_row)
            for number, row in enumerate(rows, start=1):
                if number == target:
                    return number, list(row), []
            return target, [], []
        seen: list[tuple[int, list]] = []
        best = (0, 0)
        for number, row in enumerate(rows, start=1):
            seen.append((number, list(row)))
            hits = sum(_squash(v) in self.declared for v in row)
            if hits > best[1]:
                best = (number, hits)
            if number >= AUTO_HEADER_ROWS:
                break
        if not best[1]:
            return 0, [], []
        header = seen[best[0] - 1][1]
        return best[0], header, seen[best[0] :]

    def _read_sheet(self, wb, f: DeliveredFile, sheet: str) -> Iterator[SourceChunk]:  # noqa: ANN001
        ws = wb[sheet]
        ws.reset_dimensions()  # a wrong <dimension> written by some tools would cut rows off
        rows = ws.iter_rows(values_only=True)
        header_number, header, buffered = self._find_header(rows, sheet)
        names = [self.declared.get(_squash(v), _squash(v)) if v is not None else "" for v in header]
        if not any(n in self.declared.values() for n in names):
            self.details["skipped_sheets"].append(sheet)
            return
        duplicates = sorted({n for n in names if n and names.count(n) > 1})
        if duplicates:
            raise SchemaDrift(
                f"{f.name}#{sheet} 第 {header_number} 行: column(s) {', '.join(duplicates)} appear more than once",
                source_file=f"{f.uri}#{sheet}",
                source_row=header_number,
                column=duplicates[0],
            )
        self.details["header_rows"][sheet] = header_number
        filler = MergeFiller(self._merges(ws), header_number + 1)
        positions = [(i, n) for i, n in enumerate(names) if n]
        as_date = {i for i, n in positions if n in self.date_columns}
        epoch = getattr(wb, "epoch", None)
        source_file = f"{f.uri}#{sheet}"
        columns: dict[int, list] = {i: [] for i, _ in positions}
        numbers: list[int] = []
        count = 0

        def flush() -> SourceChunk:
            table = pa.table({n: pa.array(columns[i], pa.string()) for i, n in positions})
            chunk = SourceChunk(table, source_file, pa.array(numbers, pa.int64()))
            for values in columns.values():
                values.clear()
            numbers.clear()
            return chunk

        def stream() -> Iterator[tuple[int, list]]:
            yield from buffered
            for number, row in enumerate(rows, start=header_number + len(buffered) + 1):
                yield number, list(row)

        try:
            for number, row in stream():
                filler.apply(number, row)
                if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
                    continue
                for i, _ in positions:
                    value = row[i] if i < len(row) else None
                    columns[i].append(cell_text(value, i in as_date, epoch))
                numbers.append(number)
                count += 1
                if len(numbers) >= CHUNK_ROWS:
                    yield flush()
        except (zipfile.BadZipFile, EOFError) as exc:
            raise UnreadableInput(
                f"{f.name}#{sheet}: the sheet is damaged after row {numbers[-1] if numbers else header_number} "
                f"({type(exc).__name__}: {exc}) — ask the department to re-deliver",
                source_file=source_file,
                source_row=numbers[-1] if numbers else header_number,
                rule="corrupt_file",
            ) from exc
        except Exception as exc:
            if isinstance(exc, IngestError):
                raise
            raise UnreadableInput(
                f"{f.name}#{sheet}: cannot read the sheet ({type(exc).__name__}: {exc})",
                source_file=source_file,
                rule="corrupt_file",
            ) from exc
        self.details["sheets"][sheet] = count
        if numbers:
            yield flush()
        elif count == 0:
            yield SourceChunk(
                pa.table({n: pa.array([], pa.string()) for _, n in positions}),
                source_file,
                pa.array([], pa.int64()),
            )
