"""The files the departments drop into the landing zone, written the way each department's tools write them.

* 卫健委: one Excel workbook a day, one sheet per prefecture-level city: a merged title row, a merged
  "填报单位" row, the header on row 3, and the issuing hospital (签发机构) merged down over its consecutive
  rows — the layout a hospital clerk's report has, which the reader must fill down.
* 交通运输厅: one workbook a month, one sheet per year, a merged title row and the header on row 2.
* 民政厅: UTF-8 CSV with a byte-order mark (what Excel's "CSV UTF-8" writes), every field quoted, remarks
  with commas, quotes and line breaks inside.
* 农业农村厅: GB18030 CSV separated by semicolons (a statistics package's export); GB18030 because two
  township names use characters GBK lacks.
* 自然资源厅: plain UTF-8 CSV.

Dates in workbooks are real Excel dates and division codes are numbers, as a person typing them in Excel
leaves them. Writing uses XlsxWriter (fast, write-only; merged ranges supported).
"""

from __future__ import annotations

import csv
import io
import pickle
import tempfile
from datetime import date, datetime
from pathlib import Path

from demo_province import reference as ref
from demo_province.tables import (
    BIRTHS,
    CROPS,
    DIVISIONS,
    MARRIAGES,
    PASSENGERS,
    Table,
)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def landing_key(dataset: str, logical_date: date) -> str:
    """Where a department's file for a day lands: ``<department>/<dataset>/<YYYY-MM-DD>/<file>``."""
    day, compact = logical_date.isoformat(), logical_date.strftime("%Y%m%d")
    files = {
        BIRTHS: f"出生医学证明登记_{compact}.xlsx",
        MARRIAGES: f"婚姻登记信息_{compact}.csv",
        CROPS: f"特色农业产业生产情况_{compact}.csv",
        DIVISIONS: f"行政区划_{compact}.csv",
        PASSENGERS: f"客运量统计_{compact}.xlsx",
    }
    department, _, code = dataset.partition("__")
    return f"{department}/{code}/{day}/{files[dataset]}"


CONTENT_TYPES = {
    BIRTHS: XLSX_TYPE,
    PASSENGERS: XLSX_TYPE,
    MARRIAGES: "text/csv; charset=utf-8",
    CROPS: "text/csv; charset=gb18030",
    DIVISIONS: "text/csv; charset=utf-8",
}


# -- CSV -------------------------------------------------------------------------------------------------


def delimited_bytes(
    table: Table,
    header: bool,
    encoding: str,
    delimiter: str = ",",
    quoting: int = csv.QUOTE_MINIMAL,
    bom: bool = False,
) -> bytes:
    """The rows as CSV in the department's dialect; ``None`` is an empty field; CRLF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, quoting=quoting, lineterminator="\r\n")
    if header:
        writer.writerow(list(table))
    writer.writerows(zip(*(["" if v is None else v for v in col] for col in table.values()), strict=True))
    data = buffer.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom and header else data


def marriage_csv(table: Table, first: bool) -> bytes:
    return delimited_bytes(table, header=first, encoding="utf-8", quoting=csv.QUOTE_ALL, bom=True)


def crop_csv(table: Table) -> bytes:
    return delimited_bytes(table, header=True, encoding="gb18030", delimiter=";")


def division_csv(table: Table) -> bytes:
    return delimited_bytes(table, header=True, encoding="utf-8")


# -- Excel -----------------------------------------------------------------------------------------------

_DATE_COLUMNS = {"出生日期", "签发日期"}
_NUMBER_COLUMNS = {"行政区划代码", "客运量（万人次）", "旅客周转量（万人公里）"}


def _cell(column: str, value: object) -> object:
    if value is None:
        return None
    if column in _DATE_COLUMNS:
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            return value
    if column in _NUMBER_COLUMNS:
        try:
            return float(value) if "." in str(value) else int(str(value))
        except ValueError:
            return value
    return value


class _Sheet:
    """One worksheet: title rows merged across the columns, header, data, optional merged runs."""

    def __init__(self, book, name: str, columns: list[str], formats: dict) -> None:
        self.ws = book.add_worksheet(name)
        self.columns = columns
        self.formats = formats
        self.row = 0
        self.ws.set_column(0, len(columns) - 1, 16)

    def banner(self, text: str, style: str) -> None:
        self.ws.merge_range(self.row, 0, self.row, len(self.columns) - 1, text, self.formats[style])
        self.row += 1

    def header(self) -> None:
        self.ws.write_row(self.row, 0, self.columns, self.formats["header"])
        self.row += 1

    def data(self, rows: list[tuple], merge_column: str | None = None) -> None:
        """Write ``rows`` strictly row by row (what constant-memory mode needs), each run of equal
        consecutive ``merge_column`` values merged into one cell (a single row is just written)."""
        merge_at = self.columns.index(merge_column) if merge_column else -1
        run_end = -1  # index of the last row of the current merged run
        for k, values in enumerate(rows):
            for c, (column, value) in enumerate(zip(self.columns, values, strict=True)):
                if c == merge_at:
                    run_end = self._merge_cell(rows, k, c, run_end)
                    continue
                cell = _cell(column, value)
                if cell is None:
                    continue
                if isinstance(cell, date):
                    self.ws.write_datetime(self.row, c, cell, self.formats["date"])
                elif isinstance(cell, str):
                    self.ws.write_string(self.row, c, cell)
                else:
                    self.ws.write_number(self.row, c, cell)
            self.row += 1

    def _merge_cell(self, rows: list[tuple], k: int, c: int, run_end: int) -> int:
        """The merge column's cell of row ``k``: what ``merge_range`` writes (the value with the merged
        format on the run's first row, formatted blanks below it), cell by cell in row order."""
        value = rows[k][c]
        if k <= run_end:
            self.ws.write_blank(self.row, c, None, self.formats["merged"])
            return run_end
        end = k
        while end + 1 < len(rows) and rows[end + 1][c] == value:
            end += 1
        if value is None:
            return k
        if end == k:
            self.ws.write_string(self.row, c, value)
            return k
        self.ws.write_string(self.row, c, value, self.formats["merged"])
        # the range itself, as merge_range records it (written to the sheet's <mergeCells> at the end)
        self.ws.merge.append([self.row, c, self.row + end - k, c])
        return end


def _book(target: io.BytesIO | Path, logical_date: date):
    """A workbook in memory (a BytesIO) or, for a file path, in constant-memory mode: rows are flushed
    as they are written, so a province's births never sit in memory as cells."""
    import xlsxwriter  # only the generator needs it

    if isinstance(target, Path):
        book = xlsxwriter.Workbook(str(target), {"constant_memory": True, "tmpdir": str(target.parent)})
    else:
        book = xlsxwriter.Workbook(target, {"in_memory": True})
    # The creation time is the logical date, not now: the same seed and date give the same bytes.
    book.set_properties({"created": datetime(logical_date.year, logical_date.month, logical_date.day, 18)})
    formats = {
        "title": book.add_format({"bold": True, "font_size": 14, "align": "center"}),
        "unit": book.add_format({"align": "left"}),
        "header": book.add_format({"bold": True, "border": 1, "bg_color": "#DDEBF7"}),
        "date": book.add_format({"num_format": "yyyy-mm-dd"}),
        "merged": book.add_format({"valign": "vcenter"}),
    }
    return book, formats


def _cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def birth_workbook(table: Table, logical_date: date) -> bytes:
    """卫健委's workbook: a sheet per prefecture-level city, rows grouped by issuing hospital."""
    with BirthWorkbook(list(table), logical_date) as book:
        book.add(table)
        return book.finish().read_bytes()


class BirthWorkbook:
    """卫健委's workbook, built from the generator's chunks with bounded memory.

    Each chunk's rows spill to one temporary file per prefecture-level city; ``finish`` then sorts one
    city's rows at a time by hospital and certificate number and writes its sheet in constant-memory
    mode. Memory holds one city's rows, never the province's (a province has ~475,000 births).
    """

    UNKNOWN = "unknown"

    def __init__(self, columns: list[str], logical_date: date) -> None:
        self.columns, self.logical_date = columns, logical_date
        self._dir = tempfile.TemporaryDirectory(prefix="govlake-births-")
        self.path = Path(self._dir.name) / "births.xlsx"
        self._spills: dict[str, object] = {}
        self.hospital_city: dict[str, str] = {}
        self.rows = 0
        self._code_at = columns.index("行政区划代码")
        self._hospital_at = columns.index("签发机构")

    def __enter__(self) -> BirthWorkbook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for spill in self._spills.values():
            spill.close()
        self._dir.cleanup()

    def add(self, table: Table) -> None:
        groups: dict[str, list[tuple]] = {}
        for r in zip(*table.values(), strict=True):
            prefix = str(r[self._code_at] or "")[:4] + "00"
            known = prefix in ref.PREFECTURES
            groups.setdefault(prefix if known else self.UNKNOWN, []).append(r)
            if known:
                self.hospital_city[r[self._hospital_at]] = prefix
        for key, rows in groups.items():
            if key not in self._spills:
                self._spills[key] = open(Path(self._dir.name) / f"{key}.pickle", "w+b")  # noqa: SIM115
            pickle.dump(rows, self._spills[key], protocol=pickle.HIGHEST_PROTOCOL)
            self.rows += len(rows)

    def _load(self, key: str) -> list[tuple]:
        spill = self._spills.get(key)
        if spill is None:
            return []
        spill.seek(0)
        rows: list[tuple] = []
        while True:
            try:
                rows += pickle.load(spill)  # noqa: S301 - our own spill file, written just above
            except EOFError:
                return rows

    def finish(self) -> Path:
        """Write the workbook; its path (valid until ``close``)."""
        names = {d.code: d.name for d in ref.load_divisions()}
        # A row whose division is unknown still belongs to the hospital's city: file it there.
        unknown: dict[str, list[tuple]] = {}
        for r in self._load(self.UNKNOWN):
            unknown.setdefault(self.hospital_city.get(r[self._hospital_at], ref.PREFECTURES[0]), []).append(r)
        book, formats = _book(self.path, self.logical_date)
        for prefecture in ref.PREFECTURES:
            sheet_rows = self._load(prefecture) + unknown.get(prefecture, [])
            sheet_rows.sort(key=lambda r: (str(r[self._hospital_at] or ""), str(r[0])))
            sheet = _Sheet(book, names[prefecture], self.columns, formats)
            sheet.banner(f"贵州省出生医学证明签发登记表（{_cn_date(self.logical_date)}）", "title")
            sheet.banner(f"填报单位：{_short_prefecture(names[prefecture])}卫生健康局", "unit")
            sheet.header()
            sheet.data(sheet_rows, merge_column="签发机构")
        book.close()
        return self.path


def _short_prefecture(name: str) -> str:
    """黔东南苗族侗族自治州 -> 黔东南州 (how the autonomous prefectures name their bureaus)."""
    for suffix in ("布依族苗族自治州", "苗族侗族自治州"):
        if name.endswith(suffix):
            return name.removesuffix(suffix) + "州"
    return name


def passenger_workbook(table: Table, logical_date: date) -> bytes:
    """交通运输厅's workbook: one sheet per year (``2024年``), title on row 1, header on row 2."""
    columns = list(table)
    rows = list(zip(*table.values(), strict=True))
    by_year: dict[str, list[tuple]] = {}
    for r in rows:
        by_year.setdefault(str(r[0])[:4], []).append(r)
    buffer = io.BytesIO()
    book, formats = _book(buffer, logical_date)
    for year in sorted(by_year):
        sheet = _Sheet(book, f"{year}年", columns, formats)
        sheet.banner(f"贵州省分市州旅客运输量统计表（{year}年）", "title")
        sheet.header()
        sheet.data(by_year[year])
    book.close()
    return buffer.getvalue()
