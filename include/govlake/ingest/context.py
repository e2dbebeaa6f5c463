"""What every ingest step needs to know about the batch it is working on."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import cached_property
from pathlib import Path

from minio import Minio

from govlake.lake import s3_client
from govlake.registry import Dataset
from govlake.settings import Settings

# Guizhou keeps Beijing time all year (no DST), so a fixed offset is exact and needs no tz database.
# A logical date D means the local calendar day D; source timestamps without a zone are local time.
PROVINCE_TZ = timezone(timedelta(hours=8))

# Rows per chunk: large enough for columnar speed, small enough that memory stays bounded.
CHUNK_ROWS = 50_000


@dataclass
class BatchContext:
    """One batch: a registry dataset for one logical date, with the clients and a scratch directory."""

    dataset: Dataset
    logical_date: date
    settings: Settings
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="govlake-ingest-")))

    @property
    def batch_id(self) -> str:
        return self.dataset.batch_id(self.logical_date.isoformat())

    @property
    def date_prefix(self) -> str:
        """``<department>/<dataset>/<YYYY-MM-DD>/``: the key prefix of this batch in every zone bucket."""
        return f"{self.dataset.landing_prefix}{self.logical_date.isoformat()}/"

    @property
    def day_end(self) -> datetime:
        """The exclusive upper bound of the logical day: local midnight that starts D + 1."""
        d = self.logical_date + timedelta(days=1)
        return datetime(d.year, d.month, d.day, tzinfo=PROVINCE_TZ)

    @cached_property
    def s3(self) -> Minio:
        return s3_client(self.settings)


def parse_logical_date(value: str) -> date:
    try:
        return date.fromisoformat(value[:10])
    except ValueError as exc:
        raise ValueError(f"logical date {value!r} is not YYYY-MM-DD") from exc
