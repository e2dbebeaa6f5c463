"""dbt docs for analysts: generated after the libraries are built, uploaded to the data office's private area.

The site (``index.html``) reads ``manifest.json`` and ``catalog.json`` from its own folder, so the three
files are uploaded side by side to ``s3://exchange/_data_office/dbt-docs/`` (the exchange bucket is private
to the platform; the docs describe personal-information columns and must never go to the ``open`` bucket).
The platform's web service can serve that prefix later; until then ``govlake`` users fetch it with any S3
client.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

from govlake.settings import Settings, get_settings
from govlake.transform.runner import generate_docs

log = logging.getLogger(__name__)

DOCS_BUCKET = "exchange"
DOCS_PREFIX = "_data_office/dbt-docs/"
DOCS_FILES = ("index.html", "manifest.json", "catalog.json")
_CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".json": "application/json"}


@dataclass(frozen=True)
class PublishedDocs:
    uris: tuple[str, ...]
    bytes_uploaded: int

    def as_dict(self) -> dict:
        return {"uris": list(self.uris), "bytes": self.bytes_uploaded}


def upload_docs(target_path: Path, settings: Settings | None = None) -> PublishedDocs:
    """Upload the generated docs site from ``target_path`` (see :data:`DOCS_FILES`)."""
    from govlake.lake import s3_client

    missing = [name for name in DOCS_FILES if not (target_path / name).exists()]
    if missing:
        raise FileNotFoundError(
            f"dbt docs are incomplete in {target_path}: {', '.join(missing)} missing — "
            "run `dbt docs generate` (govlake.transform.generate_docs) first"
        )
    client = s3_client(settings or get_settings())
    uris, total = [], 0
    for name in DOCS_FILES:
        data = (target_path / name).read_bytes()
        client.put_object(
            DOCS_BUCKET,
            DOCS_PREFIX + name,
            io.BytesIO(data),
            len(data),
            content_type=_CONTENT_TYPES[Path(name).suffix],
        )
        uris.append(f"s3://{DOCS_BUCKET}/{DOCS_PREFIX}{name}")
        total += len(data)
    log.info("dbt docs uploaded: %s (%d bytes)", ", ".join(uris), total)
    return PublishedDocs(tuple(uris), total)


def publish_docs(
    logical_date: str, settings: Settings | None = None, *, schema_prefix: str = ""
) -> PublishedDocs:
    """``dbt docs generate`` for the cycle (catalog of the freshly built audit tables), then upload."""
    result = generate_docs(settings, schema_prefix=schema_prefix, logical_date=logical_date)
    assert result.target_path is not None
    return upload_docs(result.target_path, settings)
