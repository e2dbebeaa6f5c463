"""What every file-drop reader (CSV, XLSX) shares: which delivered files to read, each read once.

``prepare()`` lists the date's files under ``landing/<department>/<dataset>/<YYYY-MM-DD>/``, downloads and
hashes them and decides (``deliveries.plan_files``) which to read: duplicates of bytes already ingested
are skipped, and ``unchanged`` tells the pipeline that the date needs no re-load at all. Files are read
one at a time and deleted locally after reading, so disk holds the date's files and memory one chunk.
"""

from __future__ import annotations

from collections.abc import Iterator

from govlake.ingest.context import BatchContext
from govlake.ingest.delivered_files import DeliveredFile, FilePlan, plan_files
from govlake.ingest.landing import s3_uri
from govlake.ingest.sources import SourceChunk


class FileDropReader:
    kind = "file"
    suffixes: tuple[str, ...] = ()
    label = "file"

    def __init__(self, ctx: BatchContext) -> None:
        self.ctx = ctx
        self.source = s3_uri("landing", ctx.date_prefix)
        self.landed_files: list[str] = []
        self.details: dict = {}
        self.plan: FilePlan | None = None
        self.current: DeliveredFile | None = None

    def prepare(self) -> FilePlan:
        if self.plan is None:
            self.plan = plan_files(self.ctx, self.suffixes, self.label)
            self.details["files"] = [f.summary() for f in self.plan.files]
            self.details["duplicates"] = [f.key for f in self.plan.files if f.status == "duplicate"]
        return self.plan

    @property
    def unchanged(self) -> bool:
        return self.prepare().unchanged

    @property
    def files_read(self) -> list[dict]:
        """(key, sha256) of every file this batch read: what ``load`` marks as ingested."""
        return [{"key": f.key, "sha256": f.sha256} for f in self.prepare().to_read]

    def chunks(self) -> Iterator[SourceChunk]:
        for f in self.prepare().to_read:
            self.current = f
            self.landed_files.append(f.uri)
            try:
                yield from self.read_file(f)
            finally:
                if f.path is not None:
                    f.path.unlink(missing_ok=True)
        self.current = None

    def read_file(self, f: DeliveredFile) -> Iterator[SourceChunk]:  # pragma: no cover - abstract
        raise NotImplementedError
