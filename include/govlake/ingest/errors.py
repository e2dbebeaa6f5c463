"""Errors a data engineer reads in the Airflow log: each names the dataset, file, column and rule."""

from __future__ import annotations


class IngestError(RuntimeError):
    """The batch cannot be ingested as delivered; the message says what to fix and where."""
