"""Normalisation: source rows as received -> the registry's declared columns, typed, plus lineage.

Column-wise with pyarrow compute, so a chunk of 50k rows costs a handful of vectorised passes per column
rather than a Python call per cell:

* every value is trimmed and an empty value becomes null;
* ``integer`` / ``decimal`` / ``date`` / ``timestamp`` are shape-checked with a regex, then parsed; a value
  that does not parse is a ``type`` failure (dimension conformity);
* dates are YYYY-MM-DD, YYYYMMDD or YYYY/MM/DD, and must exist (2026-02-30 fails: the parse is round-tripped);
* timestamps are ISO 8601; without an offset they are local (Beijing) time;
* decimals have at most ``DECIMAL_SCALE`` places — more would be silently rounded, so it is a failure;
* a null in a ``required`` column is a ``required`` failure (dimension completeness).

A row with any failure is rejected whole and quarantined, one record per failure, each naming file, line,
column, value and rule; the other rows go on.

Whole-batch problems raise ``SchemaDrift`` instead (the pipeline quarantines the delivery):

* a declared column missing from the source (renamed: missing + a new column, named in the message);
* a declared typed column whose values have changed type: at least ``RETYPE_MIN_FAILURES`` values of a
  chunk and ``RETYPE_SHARE`` of its non-empty values fail the type rule (a date column now delivered as
  free text, an amount column now with units) — one bad cell is a row defect, a column of them is drift.

Soft deletes: when the registry names ``source.deleted_flag`` (alias ``soft_delete``; e.g. ``is_deleted``,
values true/t/1/yes/是), rows whose flag is
set become tombstones: ``_deleted = true``, only the primary key has to be valid (other columns are kept
when they parse, null otherwise), so a deleted record with since-blanked fields still reaches the warehouse
and staging can drop the key. Rows a database deleted outright arrive as a tombstone chunk
(``SourceChunk.tombstones``, see ``sources/deletes.py``): key and watermark only — the other declared
columns are null, every row is ``_deleted``, and its stamp does not move the watermark.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePosixPath

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from govlake.ingest.errors import SchemaDrift
from govlake.ingest.sources import MalformedRow, SourceChunk
from govlake.registry import Column, Dataset

DECIMAL_SCALE = 6  # registered capital in 万元 to the 0.01 yuan; widen here (and in the raw table) if needed
DECIMAL_TYPE = pa.decimal128(38, DECIMAL_SCALE)
TIMESTAMP_TYPE = pa.timestamp("us", tz="UTC")
LOCAL_OFFSET = "+08:00"

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "decimal": DECIMAL_TYPE,
    "date": pa.date32(),
    "timestamp": TIMESTAMP_TYPE,
}
LINEAGE_FIELDS = (
    pa.field("_batch_id", pa.string(), nullable=False),
    pa.field("_logical_date", pa.date32(), nullable=False),
    pa.field("_source_file", pa.string(), nullable=False),
    pa.field("_source_row", pa.int64(), nullable=False),
    pa.field("_ingested_at", TIMESTAMP_TYPE, nullable=False),
    pa.field("_deleted", pa.bool_(), nullable=False),
)
DIMENSIONS = {"required": "completeness", "type": "conformity", "columns": "conformity"}
RETYPE_MIN_FAILURES = 5
RETYPE_SHARE = 0.9
DELETED_VALUES = ["t", "true", "1", "y", "yes", "是", "已删除", "deleted"]

INTEGER_RE = r"^[+-]?\d{1,18}$"
DECIMAL_RE = rf"^[+-]?(\d{{1,{38 - DECIMAL_SCALE}}}(\.\d{{0,{DECIMAL_SCALE}}})?|\.\d{{1,{DECIMAL_SCALE}}})$"
DATE_RE = r"^(\d{4}-\d{2}-\d{2}|\d{4}/\d{2}/\d{2}|\d{8})$"
TIMESTAMP_RE = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
ZONE_RE = r"(Z|[+-]\d{2}(:?\d{2})?)$"

TYPE_PROBLEMS = {
    "integer": "不是有效整数",
    "decimal": f"不是有效数值 (最多 {DECIMAL_SCALE} 位小数)",
    "date": "不是有效日期 (YYYY-MM-DD, YYYYMMDD 或 YYYY/MM/DD)",
    "timestamp": "不是有效时间 (ISO 8601)",
}


def raw_schema(dataset: Dataset) -> pa.Schema:
    """The Parquet schema of ``raw/<dept>/<dataset>/<D>/part-00000.parquet``: declared columns + lineage."""
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in dataset.columns] + list(LINEAGE_FIELDS))


def schema_hash(dataset: Dataset) -> str:
    """sha256 of the declared column names and types: changes exactly when the raw contract changes."""
    text = "\n".join(f"{c.name}:{c.type}" for c in dataset.columns)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- column conversions: text array -> (typed array, mask of values that failed the type rule) ------------


def clean_text(values: pa.Array) -> pa.Array:
    """Trimmed text; empty becomes null (a blank cell and a missing value mean the same to a clerk)."""
    text = values if pa.types.is_string(values.type) else pc.cast(values, pa.string())
    trimmed = pc.utf8_trim_whitespace(text)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def _keep(values: pa.Array, mask: pa.Array) -> pa.Array:
    return pc.if_else(mask, values, pa.scalar(None, values.type))


def cast_or_null(values: pa.Array, target: pa.DataType) -> pa.Array:
    """Cast; values that cannot be cast become null. Bisects only when a cast fails, so clean data is one pass."""
    try:
        return pc.cast(values, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        if len(values) <= 1:
            return pa.nulls(len(values), target)
        middle = len(values) // 2
        return pa.concat_arrays(
            [cast_or_null(values[:middle], target), cast_or_null(values[middle:], target)]
        )


def _failed(text: pa.Array, typed: pa.Array) -> pa.Array:
    return pc.and_(pc.is_valid(text), pc.is_null(typed))


def _to_number(text: pa.Array, pattern: str, target: pa.DataType) -> pa.Array:
    return cast_or_null(_keep(text, pc.match_substring_regex(text, pattern)), target)


def _to_date(text: pa.Array) -> pa.Array:
    digits = pc.replace_substring_regex(_keep(text, pc.match_substring_regex(text, DATE_RE)), "[-/]", "")
    parsed = pc.strptime(digits, format="%Y%m%d", unit="s", error_is_null=True)
    # strptime rolls 2026-02-30 over to 2026-03-02; a date that does not exist must fail instead.
    exists = pc.equal(pc.strftime(parsed, format="%Y%m%d"), digits)
    return pc.cast(_keep(parsed, pc.fill_null(exists, False)), pa.date32())


def _to_timestamp(text: pa.Array) -> pa.Array:
    shaped = pc.fill_null(pc.match_substring_regex(text, TIMESTAMP_RE), False)
    zoned = pc.fill_null(pc.match_substring_regex(text, ZONE_RE), False)
    with_zone = cast_or_null(_keep(text, pc.and_(shaped, zoned)), TIMESTAMP_TYPE)
    local = cast_or_null(_keep(text, pc.and_(shaped, pc.invert(zoned))), pa.timestamp("us"))
    local = pc.cast(pc.assume_timezone(local, LOCAL_OFFSET), TIMESTAMP_TYPE)
    return pc.coalesce(with_zone, local)


def convert(column: Column, values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(typed values, type-failure mask) for one declared column."""
    text = clean_text(values)
    if column.type == "string":
        typed = text
    elif column.type == "integer":
        typed = _to_number(text, INTEGER_RE, pa.int64())
    elif column.type == "decimal":
        typed = _to_number(text, DECIMAL_RE, DECIMAL_TYPE)
    elif column.type == "date":
        typed = _to_date(text)
    elif column.type == "timestamp":
        typed = _to_timestamp(text)
    else:  # the registry only admits the types above
        raise ValueError(f"unknown column type {column.type!r}")
    return typed, _failed(text, typed)


# -- rejected rows ----------------------------------------------------------------------------------------


def column_ref(column: Column) -> str:
    """How a clerk finds the column: its label (and the source's name when that differs) and our name."""
    shown = column.label if column.label == column.source_name else f"{column.label}/{column.source_name}"
    return f"{shown} ({column.name})"


def rejection_message(source_file: str, row: int | None, column: Column, value: str | None, rule: str) -> str:
    where = f"{PurePosixPath(source_file).name} 第 {row} 行 列 {column_ref(column)}"
    if rule == "required":
        return f"{where}: 必填项为空 — rule required"
    return f"{where}: {value!r} {TYPE_PROBLEMS[column.type]} — rule type"


def malformed_rejection(source_file: str, bad: MalformedRow) -> dict:
    message = (
        f"{PurePosixPath(source_file).name} 第 {bad.source_row} 行: 应有 {bad.expected_columns} 列, "
        f"实际 {bad.actual_columns} 列 — rule columns"
    )
    return {
        "source_file": source_file,
        "source_row": bad.source_row,
        "rule": "columns",
        "dimension": DIMENSIONS["columns"],
        "column_name": None,
        "value": bad.text,
        "message": message,
        "record": {"_line": bad.text},
    }


@dataclass
class Normalized:
    good: pa.Table
    rejects: list[dict]
    rows_in: int
    rows_rejected: int


@dataclass
class Normalizer:
    """Normalises the chunks of one batch, remembering what the manifest must say about them."""

    dataset: Dataset
    batch_id: str
    logical_date: date
    ingested_at: datetime
    watermark_column: str | None = None  # source name
    extra_columns_seen: set[str] = field(default_factory=set)
    watermark_max: datetime | None = None
    tombstones: int = 0

    def __post_init__(self) -> None:
        self.schema = raw_schema(self.dataset)

    @property
    def deleted_flag(self) -> str | None:
        flag = self.dataset.source.get("deleted_flag") or self.dataset.source.get("soft_delete")
        return str(flag) if flag else None

    def check_columns(self, chunk: SourceChunk) -> None:
        """A declared column missing from a file fails the batch; unknown new columns are noted, not loaded."""
        present = set(chunk.table.column_names)
        declared = {c.source_name for c in self.dataset.columns}
        if self.deleted_flag:
            declared.add(self.deleted_flag)
        missing = [c for c in self.dataset.columns if c.source_name not in present]
        if self.deleted_flag and self.deleted_flag not in present and chunk.table.num_columns:
            raise SchemaDrift(
                f"{chunk.source_file}: the soft-delete flag column {self.deleted_flag!r} "
                f"(registry {self.dataset.registry_file.name}: source.deleted_flag) is missing from the source",
                source_file=chunk.source_file,
                column=self.deleted_flag,
            )
        extra = sorted(present - declared)
        if missing and chunk.table.num_columns:
            names = ", ".join(f"{c.source_name} ({c.name})" for c in missing)
            renamed = f"; the source has new column(s) {', '.join(extra)} — renamed?" if extra else ""
            raise SchemaDrift(
                f"{chunk.source_file}: declared column(s) {names} of {self.dataset.key} missing from the source"
                f"{renamed} — the department must deliver them, or the registry "
                f"{self.dataset.registry_file.name} must change",
                source_file=chunk.source_file,
                column=missing[0].name,
            )
        self.extra_columns_seen |= set(extra)

    def _deleted(self, chunk: SourceChunk) -> pa.Array:
        n = chunk.table.num_rows
        if chunk.tombstones:
            return pc.fill_null(pa.nulls(n, pa.bool_()), True)
        if not self.deleted_flag or self.deleted_flag not in chunk.table.column_names:
            return pc.fill_null(pa.nulls(n, pa.bool_()), False)
        flag = clean_text(chunk.table.column(self.deleted_flag).combine_chunks())
        return pc.fill_null(pc.is_in(pc.utf8_lower(flag), pa.array(DELETED_VALUES)), False)

    def _check_retyped(self, chunk: SourceChunk, column: Column, text_valid: int, failed: int) -> None:
        if column.type == "string" or failed < RETYPE_MIN_FAILURES or failed < RETYPE_SHARE * text_valid:
            return
        raise SchemaDrift(
            f"{chunk.source_file}: column {column_ref(column)} of {self.dataset.key} is declared {column.type}, "
            f"but {failed} of {text_valid} values in rows {chunk.source_rows[0]}-{chunk.source_rows[-1]} are not "
            f"({TYPE_PROBLEMS[column.type]}) — the column changed type; the department must deliver "
            f"{column.type} values, or the registry {self.dataset.registry_file.name} must change",
            source_file=chunk.source_file,
            source_row=chunk.source_rows[0].as_py(),
            column=column.name,
            rule="schema_drift",
        )

    def _lineage(self, chunk: SourceChunk, deleted: pa.Array) -> list[pa.Array]:
        n = chunk.table.num_rows

        def constant(value: object, kind: pa.DataType) -> pa.Array:
            return pc.fill_null(pa.nulls(n, kind), pa.scalar(value, kind))

        return [
            constant(self.batch_id, pa.string()),
            constant(self.logical_date, pa.date32()),
            constant(chunk.source_file, pa.string()),
            chunk.source_rows,
            constant(self.ingested_at, TIMESTAMP_TYPE),
            deleted,
        ]

    def _track_watermark(self, column: Column, typed: pa.Array) -> None:
        if column.source_name == self.watermark_column and len(typed):
            high = pc.max(typed).as_py()
            if high is not None and (self.watermark_max is None or high > self.watermark_max):
                self.watermark_max = high

    def _with_declared_columns(self, chunk: SourceChunk) -> SourceChunk:
        """A tombstone chunk carries only the key and watermark; the other declared columns become null."""
        table = chunk.table
        for column in self.dataset.columns:
            if column.source_name not in table.column_names:
                table = table.append_column(column.source_name, pa.nulls(table.num_rows, pa.string()))
        return SourceChunk(table, chunk.source_file, chunk.source_rows, chunk.malformed, tombstones=True)

    def normalize(self, chunk: SourceChunk) -> Normalized:
        if chunk.tombstones:
            chunk = self._with_declared_columns(chunk)
        else:
            self.check_columns(chunk)
        table = chunk.table
        n = table.num_rows
        deleted = self._deleted(chunk)
        has_tombstones = bool(self.deleted_flag) or chunk.tombstones
        tombstones = deleted.to_numpy(zero_copy_only=False) if has_tombstones else None
        keys = set(self.dataset.primary_key)
        arrays: list[pa.Array] = []
        failures: list[tuple[Column, str, np.ndarray]] = []
        bad = np.zeros(n, dtype=bool)
        for column in self.dataset.columns:
            source = table.column(column.source_name).combine_chunks()
            typed, type_failed = convert(column, source)
            if n:
                self._check_retyped(
                    chunk,
                    column,
                    pc.sum(pc.is_valid(clean_text(source))).as_py() or 0,
                    pc.sum(type_failed).as_py() or 0,
                )
            if not chunk.tombstones:  # a tombstone's stamp is ours, not the source's
                self._track_watermark(column, typed)
            arrays.append(typed)
            masks = [("type", type_failed)]
            if column.required:
                masks.append(("required", pc.and_(pc.is_null(typed), pc.invert(type_failed))))
            for rule, mask in masks:
                flags = mask.to_numpy(zero_copy_only=False)
                if tombstones is not None and column.name not in keys:
                    flags = flags & ~tombstones  # a tombstone needs only its key
                positions = np.flatnonzero(flags)
                if positions.size:
                    failures.append((column, rule, positions))
                    bad[positions] = True
        good = pa.Table.from_arrays(arrays + self._lineage(chunk, deleted), schema=self.schema)
        if bad.any():
            good = good.filter(pa.array(~bad))
        if tombstones is not None:
            self.tombstones += int((tombstones & ~bad).sum())
        rejects = self._rejects(chunk, table, failures, bad)
        rejects += [malformed_rejection(chunk.source_file, m) for m in chunk.malformed]
        return Normalized(good, rejects, n + len(chunk.malformed), int(bad.sum()) + len(chunk.malformed))

    def _rejects(self, chunk: SourceChunk, table: pa.Table, failures: list, bad: np.ndarray) -> list[dict]:
        """One quarantine record per failure; the full source row rides along as ``record``."""
        if not failures:
            return []
        bad_positions = np.flatnonzero(bad)
        originals = dict(
            zip(bad_positions.tolist(), table.take(pa.array(bad_positions)).to_pylist(), strict=True)
        )
        rows = chunk.source_rows.to_numpy(zero_copy_only=False)
        out = []
        for column, rule, positions in failures:
            for p in positions.tolist():
                value = originals[p].get(column.source_name)
                row = int(rows[p])
                out.append(
                    {
                        "source_file": chunk.source_file,
                        "source_row": row,
                        "rule": rule,
                        "dimension": DIMENSIONS[rule],
                        "column_name": column.name,
                        "value": value,
                        "message": rejection_message(chunk.source_file, row, column, value, rule),
                        "record": originals[p],
                    }
                )
        return out
