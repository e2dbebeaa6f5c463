-- The platform's own records: batches, quarantine, validation results, publications, reconciliation.
-- Idempotent, and applied once per version of these files: ensure_platform_schema (govlake.warehouse)
-- runs them when platform.schema_applied lacks their digest, as on `govlake stack up` or after an upgrade.
create schema if not exists platform;
create schema if not exists raw;
create schema if not exists audit;
create schema if not exists base;
create schema if not exists share;

-- The digests of the schema files' versions applied to this warehouse (govlake.warehouse).
create table if not exists platform.schema_applied (
    digest                  text primary key,          -- sha256 of every schema file, in order
    applied_at              timestamptz not null default now()
);

-- One row per ingested batch: a department dataset for one logical date.
create table if not exists platform.batches (
    batch_id                text primary key,          -- <department>__<dataset>__<YYYY-MM-DD>
    department              text not null,
    dataset                 text not null,
    logical_date            date not null,
    source_kind             text not null,             -- database | csv | rest_api
    source                  text not null,             -- table, landing prefix or API URL read
    landed_uris             text[] not null default '{}',
    raw_uri                 text,
    manifest                jsonb,
    rows_extracted          bigint not null default 0, -- rows read from the source
    rows_loaded             bigint not null default 0, -- rows loaded into raw (passed ingest rules)
    rows_rejected           bigint not null default 0, -- rows quarantined at ingest
    schema_hash             text,
    checksum                text,
    status                  text not null,             -- landed | loaded | failed
    error                   text,
    started_at              timestamptz not null default now(),
    finished_at             timestamptz
);

-- Every row that did not make it, with where it came from and why. Never capped.
create table if not exists platform.quarantine (
    quarantine_id           bigserial primary key,
    batch_id                text not null,
    department              text not null,
    dataset                 text not null,
    logical_date            date not null,
    stage                   text not null,             -- ingest | validate
    source_file             text,
    source_row              bigint,
    rule                    text not null,             -- e.g. required, type, resident_id_check_digit
    dimension               text not null,             -- conformity | completeness | accuracy | consistency | timeliness | accessibility
    severity                text not null default 'blocking',
    column_name             text,
    message                 text not null,
    record                  jsonb not null,
    detected_at             timestamptz not null default now(),
    resolved_at             timestamptz
);
create index if not exists quarantine_batch_idx on platform.quarantine (batch_id, stage);

-- One row per suite validated in a cycle.
create table if not exists platform.validation_runs (
    validation_id           text primary key,          -- <suite>__<YYYY-MM-DD>
    logical_date            date not null,
    suite                   text not null,
    target                  text not null,             -- the table or view validated
    success                 boolean not null,
    blocking_failures       integer not null default 0,
    statistics              jsonb,
    validated_at            timestamptz not null default now()
);

-- One row per expectation per validation run, tagged with its quality dimension (GB/T 36344).
create table if not exists platform.validation_results (
    validation_id           text not null references platform.validation_runs on delete cascade,
    expectation             text not null,             -- the rule id from the suite's meta
    expectation_type        text not null,
    column_name             text,
    dimension               text not null,
    severity                text not null,             -- blocking | warning
    success                 boolean not null,
    element_count           bigint,
    unexpected_count        bigint,
    unexpected_percent      double precision,
    details                 jsonb,
    primary key (validation_id, expectation)
);

-- What was published where, per cycle.
create table if not exists platform.publications (
    logical_date            date not null,
    target                  text not null,             -- base.population, share.population, s3://open/...
    zone                    text not null,             -- base | share | open
    rows                    bigint,
    status                  text not null,             -- published | blocked
    details                 jsonb,
    published_at            timestamptz not null default now(),
    primary key (logical_date, target)
);

-- Which logical date each incrementally built table was last built for, and when that build started.
-- Keyed by the table's OID, which stays with the physical table when publishing moves it between audit
-- and base, so the record describes the rows wherever they are. Written by dbt (macros/table_builds.sql);
-- read by the next incremental build (what changed since) and by publish (is this the build for D?).
create table if not exists platform.table_builds (
    relation_oid            oid primary key,
    relation_name           text not null,             -- schema.table when the build recorded it
    built_for_date          date not null,
    built_at                timestamptz not null,      -- when the dbt invocation that built it started
    recorded_at             timestamptz not null default now()
);
-- Set when publishing moves the table into base; cleared by its next build. A table publishing exchanged
-- back into audit still has it: it is the previous version, not a build waiting to be published.
alter table platform.table_builds add column if not exists published_at timestamptz;

-- Rows in = published + quarantined, per batch.
create table if not exists platform.reconciliation (
    batch_id                text primary key,
    logical_date            date not null,
    department              text not null,
    dataset                 text not null,
    rows_in                 bigint not null,
    rows_published          bigint not null,
    rows_quarantined        bigint not null,
    rows_held               bigint not null default 0, -- valid rows of a batch whose publication was blocked
    balanced                boolean not null,
    computed_at             timestamptz not null default now()
);

-- Replacing a dataset's quarantine rows for a date (re-runs) filters on these.
create index if not exists quarantine_dataset_date_idx on platform.quarantine (department, dataset, logical_date, stage);
