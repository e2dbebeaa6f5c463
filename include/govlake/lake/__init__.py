"""The lake (S3): a client for the configured endpoint and the bucket per zone."""

from __future__ import annotations

from minio import Minio

from govlake.settings import BUCKETS, Settings, get_settings


def s3_client(settings: Settings | None = None) -> Minio:
    settings = settings or get_settings()
    return Minio(
        settings.s3_endpoint,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        secure=settings.s3_secure,
        region=settings.s3_region,
    )


def ensure_buckets(client: Minio) -> list[str]:
    """Create the zone buckets (landing, raw, quarantine, exchange, open) that are missing."""
    created = []
    for bucket in BUCKETS:
        if not client.bucket_exists(bucket):
            client.make_bucket(bucket)
            created.append(bucket)
    return created
