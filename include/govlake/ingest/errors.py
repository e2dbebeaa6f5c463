"""Errors a data engineer reads in the Airflow log: each names the dataset, file, column and rule.

Two families:

* ``IngestError`` — the batch cannot be ingested now (no delivery yet, API down past its retries, a
  registry mistake). Airflow's retries may help.
* ``BatchRejected`` (a subclass) — the delivery itself is unusable as delivered: unreadable bytes, an empty
  or truncated file, a corrupt workbook, a declared column missing, renamed or retyped. Re-running cannot
  fix it, so the DAG fails at once (no retries), the delivery is copied to quarantine with a reason JSON and
  a ``platform.quarantine`` record, and the department is asked to re-deliver.
"""

from __future__ import annotations


class IngestError(RuntimeError):
    """The batch cannot be ingested as delivered; the message says what to fix and where."""


class BatchRejected(IngestError):
    """The whole delivery is rejected; ``source_file``/``source_row``/``column`` say where, ``rule`` why."""

    dimension = "conformity"
    retryable = False  # re-running cannot fix the delivery: the DAG fails without Airflow retries

    def __init__(
        self,
        message: str,
        *,
        source_file: str | None = None,
        source_row: int | None = None,
        column: str | None = None,
        rule: str = "unreadable",
    ) -> None:
        super().__init__(message)
        self.source_file = source_file
        self.source_row = source_row
        self.column = column
        self.rule = rule


class UnreadableInput(BatchRejected):
    """Bytes that cannot be read as the declared kind: encoding, empty, truncated, corrupt workbook."""

    dimension = "accessibility"


class SourceUnavailable(BatchRejected):
    """The source answered with errors past all retries (API 5xx/timeouts): recorded, quarantined, retryable."""

    dimension = "accessibility"
    retryable = True

    def __init__(self, message: str, **kwargs: object) -> None:
        kwargs.setdefault("rule", "source_unavailable")
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


class SchemaDrift(BatchRejected):
    """A declared column is missing, renamed or retyped in the delivery."""

    dimension = "conformity"

    def __init__(self, message: str, **kwargs: object) -> None:
        kwargs.setdefault("rule", "schema_drift")
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
