-- Ingest records: what each department delivered, when, and whether it was on time.
-- Idempotent: applied by ensure_platform_schema after 00_core.sql.

-- Timeliness per dataset and logical date (GB/T 36344 时效性): expected by vs delivered at.
create table if not exists platform.deliveries (
    department              text not null,
    dataset                 text not null,
    logical_date            date not null,
    source_kind             text not null,
    update_cycle            text not null,             -- 每日 / 每月 / ... from the registry
    expected_by             timestamptz not null,      -- end of the logical day + the registry's allowance
    delivered_at            timestamptz,               -- newest delivered file (S3 last-modified) or extraction time
    late_by                 interval,                  -- delivered_at - expected_by when late
    status                  text not null,             -- on_time | late | missing
    files                   integer not null default 0,
    detail                  text,
    checked_at              timestamptz not null default now(),
    notified_at             timestamptz,               -- when the late/missing alert went out (once per status)
    notified_status         text,
    primary key (department, dataset, logical_date)
);

-- Every file dropped into landing, by content hash: duplicates are ingested once, corrections supersede.
create table if not exists platform.delivered_files (
    department              text not null,
    dataset                 text not null,
    logical_date            date not null,
    file_key                text not null,             -- key in the landing bucket as delivered
    sha256                  text not null,
    bytes                   bigint not null,
    last_modified           timestamptz,
    status                  text not null,             -- pending | ingested | duplicate | superseded | quarantined
    duplicate_of            text,                      -- landing key of the identical file already ingested
    version_uri             text,                      -- kept copy: s3://landing/<dept>/<dataset>/<date>/_versions/<sha>/<file>
    batch_id                text,
    duplicate_deliveries    integer not null default 0, -- the same bytes delivered again (new upload, same hash)
    seen_at                 timestamptz not null default now(),
    primary key (department, dataset, logical_date, file_key, sha256)
);
create index if not exists delivered_files_sha_idx on platform.delivered_files (department, dataset, sha256);
