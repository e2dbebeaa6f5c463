"""S3 helpers for the zone buckets: replace a date's objects, upload and download files, hash them.

Files move through local temp files rather than memory so that a department's multi-gigabyte delivery
never has to fit in RAM; minio uploads large files in multipart parts.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

from minio import Minio
from minio.deleteobjects import DeleteObject


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def split_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def list_keys(s3: Minio, bucket: str, prefix: str) -> list[str]:
    return sorted(o.object_name for o in s3.list_objects(bucket, prefix=prefix, recursive=True))


def clear_prefix(s3: Minio, bucket: str, prefix: str, keep: set[str] | None = None) -> int:
    """Delete every object under ``prefix`` (except ``keep``): a re-run replaces a date, never adds to it."""
    doomed = [DeleteObject(k) for k in list_keys(s3, bucket, prefix) if k not in (keep or set())]
    errors = list(s3.remove_objects(bucket, doomed)) if doomed else []
    if errors:
        raise RuntimeError(f"could not delete from s3://{bucket}/{prefix}: {errors[0]}")
    return len(doomed)


def upload_file(s3: Minio, uri: str, path: Path, content_type: str = "application/octet-stream") -> None:
    bucket, key = split_uri(uri)
    s3.fput_object(bucket, key, str(path), content_type=content_type)


def upload_bytes(s3: Minio, uri: str, data: bytes, content_type: str = "application/octet-stream") -> None:
    bucket, key = split_uri(uri)
    s3.put_object(bucket, key, io.BytesIO(data), len(data), content_type=content_type)


def upload_json(s3: Minio, uri: str, doc: dict) -> None:
    upload_bytes(s3, uri, json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8"), "application/json")


def download_file(s3: Minio, uri: str, path: Path) -> Path:
    bucket, key = split_uri(uri)
    s3.fget_object(bucket, key, str(path))
    return path


def read_json(s3: Minio, uri: str) -> dict:
    bucket, key = split_uri(uri)
    response = s3.get_object(bucket, key)
    try:
        return json.loads(response.read())
    finally:
        response.close()
        response.release_conn()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
