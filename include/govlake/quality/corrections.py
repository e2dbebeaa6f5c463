"""Correction lists (纠错清单): every quarantined row goes back to the department that owns it.

After each cycle, each department with rejected rows for the logical date receives in its exchange outbox

    s3://exchange/<department>/correction-lists/<YYYY-MM-DD>/纠错清单_<department>_<YYYYMMDD>.xlsx
                                                            纠错清单_<department>_<YYYYMMDD>.csv   (UTF-8 with BOM)
                                                            纠错清单_<department>_<YYYYMMDD>.manifest.json

The workbook has one sheet per dataset (a clerk fixes one system at a time) with Chinese headers, the
header row frozen and filtered, the original record spread over the registry's Chinese item names, and
every text cell that a spreadsheet would run as a formula (``= + - @``) neutralised with a leading ``'``.
The CSV carries the same rows with the original record as JSON, for systems that import lists. The
manifest gives row counts and SHA-256 so the department can check it received everything.

Rows are streamed from a server-side cursor into openpyxl's write-only workbook and the CSV file at the
same time, so memory stays bounded whatever the size of the list. Re-running a date overwrites the
objects; a department whose rows have all gone (re-run after a fix) has its stale list removed. A list
holds open records only: after a corrected re-delivery of the date it names just the rows still wrong.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from govlake.lake import s3_client
from govlake.registry import Dataset, iter_datasets
from govlake.settings import Settings, get_settings
from govlake.warehouse import connect, ensure_platform_schema

log = logging.getLogger(__name__)

BUCKET = "exchange"
STAGES = ("ingest", "validate")
# Only what the clerk still has to fix: not the records of an earlier delivery of the date that a corrected
# re-delivery replaced (superseded), nor rows already corrected (resolved).
OPEN = "superseded_at is null and resolved_at is null"
EXCEL_MAX_ROWS = 1_048_575  # a sheet's rows after the header; longer lists continue on "<name> (2)"
CURSOR_ROWS = 2000
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

DIMENSIONS_ZH = {
    "conformity": "规范性",
    "completeness": "完整性",
    "accuracy": "准确性",
    "consistency": "一致性",
    "timeliness": "时效性",
    "accessibility": "可访问性",
}
STAGES_ZH = {"ingest": "接入检查", "validate": "质量校验"}
SEVERITY_ZH = {"blocking": "阻断（未发布）", "warning": "告警"}
INGEST_RULES_ZH = {
    "required": "必填项不能为空。",
    "type": "取值须符合目录登记的数据类型和格式。",
    "columns": "每行的列数须与表头一致。",
}

# (header, width in Excel character units; CJK characters count about two)
FIXED_COLUMNS: tuple[tuple[str, int], ...] = (
    ("数据集", 20),
    ("批次", 44),
    ("检查环节", 10),
    ("源文件", 48),
    ("行号", 8),
    ("字段", 16),
    ("规则", 30),
    ("规则说明", 44),
    ("质量维度", 10),
    ("处理结果", 14),
    ("问题说明", 64),
)
CSV_HEADER = [h for h, _ in FIXED_COLUMNS] + ["原始记录"]


@dataclass(frozen=True)
class ListRow:
    """One quarantine record as the clerk reads it."""

    dataset: str
    batch_id: str
    stage: str
    source_file: str | None
    source_row: int | None
    column_name: str | None
    rule: str
    dimension: str
    severity: str
    message: str
    record: dict[str, Any]


def neutralise(value: Any) -> Any:
    """Text a spreadsheet would evaluate (``=cmd|…``, ``+``, ``-``, ``@``) gets a leading ``'`` (OWASP)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def object_prefix(department: str, day: date) -> str:
    return f"{department}/correction-lists/{day.isoformat()}/"


def file_stem(department: str, day: date) -> str:
    return f"纠错清单_{department}_{day:%Y%m%d}"


def _registry() -> dict[tuple[str, str], Dataset]:
    return {(d.department, d.code): d for d in iter_datasets()}


def _rule_descriptions() -> dict[tuple[str | None, str | None, str], str]:
    from govlake.quality.suites import load_suites

    return {
        (s.department, s.dataset, r.rule): r.description_zh for s in load_suites().values() for r in s.rules
    }


class _Labels:
    """Chinese names for datasets, columns and rules, from the registry and the suites."""

    def __init__(self) -> None:
        self.datasets = _registry()
        self.rules = _rule_descriptions()

    def dataset_name(self, department: str, dataset: str) -> str:
        ds = self.datasets.get((department, dataset))
        return f"{ds.name} ({dataset})" if ds else dataset

    def column_label(self, department: str, dataset: str, column: str | None) -> str:
        ds = self.datasets.get((department, dataset))
        if column is None:
            return "（整行）"
        if ds:
            for c in ds.columns:
                if c.name == column:
                    return f"{c.label} ({column})"
        return column

    def rule_text(self, department: str, row: ListRow) -> str:
        if row.stage == "ingest":
            return INGEST_RULES_ZH.get(row.rule, row.rule)
        return self.rules.get((department, row.dataset, row.rule), row.rule)


def _rows(conn: psycopg.Connection, department: str, day: date) -> Iterator[ListRow]:
    with conn.transaction(), conn.cursor(name=f"corrections_{department}") as cur:
        cur.itersize = CURSOR_ROWS
        cur.execute(
            "select dataset, batch_id, stage, source_file, source_row, column_name, rule, dimension, severity,"
            " message, record from platform.quarantine"
            f" where department = %s and logical_date = %s and stage = any(%s) and {OPEN}"
            " order by dataset, stage, source_row nulls last, quarantine_id",
            (department, day, list(STAGES)),
        )
        for row in cur:
            yield ListRow(*row)


def _sheet_title(name: str, used: set[str]) -> str:
    """Excel sheet names: at most 31 characters, none of ``[]:*?/\\``, unique in the workbook."""
    clean = "".join(ch for ch in name if ch not in "[]:*?/\\")[:31] or "sheet"
    title, n = clean, 2
    while title in used:
        suffix = f" ({n})"
        title, n = clean[: 31 - len(suffix)] + suffix, n + 1
    used.add(title)
    return title


def _display_width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


class _Workbook:
    """openpyxl's write-only workbook: rows go to a temporary file as they are appended."""

    def __init__(self, labels: _Labels, department: str) -> None:
        from openpyxl import Workbook

        self._wb = Workbook(write_only=True)
        self._labels = labels
        self._department = department
        self._used: set[str] = set()
        self._sheet = None
        self._sheet_rows = 0
        self._dataset: str | None = None
        self._record_columns: list[tuple[str, str]] = []

    def _header_cells(self, headers: list[str]) -> list:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Alignment, Font, PatternFill

        cells = []
        for text in headers:
            cell = WriteOnlyCell(self._sheet, value=text)
            cell.font = Font(bold=True, color="FFFFFF")
            cell.fill = PatternFill("solid", fgColor="1F4E79")
            cell.alignment = Alignment(vertical="center", wrap_text=True)
            cells.append(cell)
        return cells

    def _open_sheet(self, dataset: str) -> None:
        from openpyxl.utils import get_column_letter

        ds = self._labels.datasets.get((self._department, dataset))
        base = ds.name if ds else dataset
        self._sheet = self._wb.create_sheet(_sheet_title(base, self._used))
        self._record_columns = [(c.name, c.source_name) for c in ds.columns] if ds else []
        record_headers = [f"原始记录：{c.label}" for c in ds.columns] if ds else ["原始记录"]
        headers = [h for h, _ in FIXED_COLUMNS] + record_headers
        widths = [w for _, w in FIXED_COLUMNS] + [
            max(_display_width(h) + 2, 14) if ds else 80 for h in record_headers
        ]
        for i, width in enumerate(widths, start=1):
            self._sheet.column_dimensions[get_column_letter(i)].width = width
        self._sheet.freeze_panes = "A2"
        self._sheet.append(self._header_cells(headers))
        self._sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}1"
        self._sheet_rows = 0
        self._dataset = dataset

    def _record_values(self, record: dict[str, Any]) -> list[Any]:
        if not self._record_columns:
            return [json.dumps(record, ensure_ascii=False, default=str)]
        values = []
        for name, source_name in self._record_columns:
            value = record.get(name, record.get(source_name))
            values.append(value if value is None or isinstance(value, int | float) else str(value))
        return values

    def append(self, fixed: list[Any], row: ListRow) -> None:
        if row.dataset != self._dataset or self._sheet_rows >= EXCEL_MAX_ROWS:
            self._open_sheet(row.dataset)
        self._sheet.append([neutralise(v) for v in fixed + self._record_values(row.record)])
        self._sheet_rows += 1

    def save(self, path: Path) -> None:
        if self._sheet is None:  # an empty list still opens in Excel
            self._sheet = self._wb.create_sheet("无")
        self._wb.save(path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fixed_values(labels: _Labels, department: str, row: ListRow) -> list[Any]:
    return [
        labels.dataset_name(department, row.dataset),
        row.batch_id,
        STAGES_ZH.get(row.stage, row.stage),
        row.source_file,
        row.source_row,
        labels.column_label(department, row.dataset, row.column_name),
        row.rule,
        labels.rule_text(department, row),
        DIMENSIONS_ZH.get(row.dimension, row.dimension),
        SEVERITY_ZH.get(row.severity, row.severity),
        row.message,
    ]


def write_list(
    conn: psycopg.Connection, department: str, day: date, workdir: Path, labels: _Labels | None = None
) -> dict[str, Any]:
    """Write the department's XLSX and CSV for ``day`` into ``workdir``; returns paths and counts."""
    labels = labels or _Labels()
    stem = file_stem(department, day)
    xlsx_path, csv_path = workdir / f"{stem}.xlsx", workdir / f"{stem}.csv"
    workbook = _Workbook(labels, department)
    by_dataset: dict[str, int] = {}
    with csv_path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_HEADER)
        for row in _rows(conn, department, day):
            fixed = _fixed_values(labels, department, row)
            workbook.append(fixed, row)
            record = json.dumps(row.record, ensure_ascii=False, default=str)
            writer.writerow([neutralise(v) for v in [*fixed, record]])
            by_dataset[row.dataset] = by_dataset.get(row.dataset, 0) + 1
    workbook.save(xlsx_path)
    return {"xlsx": xlsx_path, "csv": csv_path, "rows_by_dataset": by_dataset}


def _manifest(department: str, day: date, written: dict[str, Any], uris: dict[str, str]) -> dict[str, Any]:
    files = []
    for kind in ("xlsx", "csv"):
        path: Path = written[kind]
        files.append(
            {"name": path.name, "uri": uris[kind], "bytes": path.stat().st_size, "sha256": _sha256(path)}
        )
    return {
        "kind": "纠错清单 correction list",
        "department": department,
        "logical_date": day.isoformat(),
        "rows": sum(written["rows_by_dataset"].values()),
        "rows_by_dataset": written["rows_by_dataset"],
        "stages": list(STAGES),
        "files": files,
        "source": "platform.quarantine",
        "how_to_fix": "按行号修正源系统中的记录后重新报送；修正后的记录通过全部规则即自动标记为已解决。",
    }


def _upload(department: str, day: date, written: dict[str, Any], settings: Settings) -> dict[str, Any]:
    client = s3_client(settings)
    prefix = object_prefix(department, day)
    uris = {}
    types = {
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "csv": "text/csv; charset=utf-8",
    }
    for kind in ("xlsx", "csv"):
        path: Path = written[kind]
        client.fput_object(BUCKET, prefix + path.name, str(path), content_type=types[kind])
        uris[kind] = f"s3://{BUCKET}/{prefix}{path.name}"
    manifest = _manifest(department, day, written, uris)
    body = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
    key = f"{prefix}{file_stem(department, day)}.manifest.json"
    from io import BytesIO

    client.put_object(BUCKET, key, BytesIO(body), len(body), content_type="application/json; charset=utf-8")
    return {**manifest, "manifest_uri": f"s3://{BUCKET}/{key}"}


def _remove_stale(department: str, day: date, settings: Settings) -> None:
    client = s3_client(settings)
    for obj in client.list_objects(BUCKET, prefix=object_prefix(department, day), recursive=True):
        client.remove_object(BUCKET, obj.object_name)


def _departments(conn: psycopg.Connection, day: date) -> tuple[list[str], list[str]]:
    """(departments with rows for the date, departments whose earlier list for the date is now stale)."""
    with_rows = [
        r[0]
        for r in conn.execute(
            "select distinct department from platform.quarantine where logical_date = %s and stage = any(%s)"
            f" and {OPEN} order by 1",
            (day, list(STAGES)),
        )
    ]
    listed = [
        r[0]
        for r in conn.execute(
            "select department from platform.correction_lists where logical_date = %s", (day,)
        )
    ]
    return with_rows, sorted(set(listed) - set(with_rows))


def _record(conn: psycopg.Connection, result: dict[str, Any]) -> None:
    sha = {f["name"].rsplit(".", 1)[1]: f["sha256"] for f in result["files"]}
    uri = {f["name"].rsplit(".", 1)[1]: f["uri"] for f in result["files"]}
    conn.execute(
        "insert into platform.correction_lists (logical_date, department, rows, rows_by_dataset, xlsx_uri,"
        " csv_uri, manifest_uri, xlsx_sha256, csv_sha256, generated_at)"
        " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, now())"
        " on conflict (logical_date, department) do update set rows = excluded.rows,"
        " rows_by_dataset = excluded.rows_by_dataset, xlsx_uri = excluded.xlsx_uri, csv_uri = excluded.csv_uri,"
        " manifest_uri = excluded.manifest_uri, xlsx_sha256 = excluded.xlsx_sha256,"
        " csv_sha256 = excluded.csv_sha256, generated_at = now()",
        (
            date.fromisoformat(result["logical_date"]),
            result["department"],
            result["rows"],
            Jsonb(result["rows_by_dataset"]),
            uri["xlsx"],
            uri["csv"],
            result["manifest_uri"],
            sha["xlsx"],
            sha["csv"],
        ),
    )


def publish_correction_lists(logical_date: date | str, settings: Settings | None = None) -> list[dict]:
    """Send every department its correction list for ``logical_date`` (ingest + validate quarantine).

    Returns one manifest per department that has rows (department, rows, rows_by_dataset, files with
    URI/bytes/sha256, manifest_uri), JSON-ready for XCom. Idempotent per date.
    """
    settings = settings or get_settings()
    day = logical_date if isinstance(logical_date, date) else date.fromisoformat(str(logical_date)[:10])
    labels = _Labels()
    results = []
    with connect(settings, autocommit=True) as conn:
        ensure_platform_schema(conn)
        departments, stale = _departments(conn, day)
        for department in stale:
            _remove_stale(department, day, settings)
            conn.execute(
                "delete from platform.correction_lists where logical_date = %s and department = %s",
                (day, department),
            )
        for department in departments:
            with tempfile.TemporaryDirectory(prefix="govlake-corrections-") as tmp:
                written = write_list(conn, department, day, Path(tmp), labels)
                _remove_stale(department, day, settings)
                result = _upload(department, day, written, settings)
            _record(conn, result)
            log.info(
                "correction list %s %s: %d rows -> %s",
                department,
                day,
                result["rows"],
                result["manifest_uri"],
            )
            results.append(result)
    return results
