-- Lineage (issue 16): OpenLineage run events as received (POST /api/v1/lineage), and the dataset and
-- column edges they state. Idempotent: an event received twice is stored once (run, type, job); a
-- re-run of a date is a new run (a new runId) that touches the same edges, so edges are keyed by what
-- they connect and only their last_run/last_seen_at move. Loaded by govlake.lineage.event_store.
create schema if not exists platform;

create table if not exists platform.lineage_events (
    event_id        bigserial primary key,
    run_id          uuid not null,
    event_type      text not null,                  -- START | RUNNING | COMPLETE | ABORT | FAIL | OTHER
    event_time      timestamptz not null,
    job_namespace   text not null,
    job_name        text not null,
    producer        text not null,
    payload         jsonb not null,
    received_at     timestamptz not null default now(),
    unique (run_id, event_type, job_namespace, job_name)
);
create index if not exists lineage_events_job_idx on platform.lineage_events (job_namespace, job_name, event_time);

create table if not exists platform.lineage_runs (
    run_id          uuid primary key,
    job_namespace   text not null,
    job_name        text not null,
    state           text not null,
    nominal_time    timestamptz,                    -- the logical date (NominalTimeRunFacet)
    started_at      timestamptz,
    ended_at        timestamptz,
    parent_run_id   uuid
);
create index if not exists lineage_runs_job_idx on platform.lineage_runs (job_namespace, job_name, nominal_time);

-- Datasets by their OpenLineage identity; `relation` is the platform's own name (symlink facet), e.g.
-- base.population for postgres://…/govlake.audit.population.
create table if not exists platform.lineage_datasets (
    namespace       text not null,
    name            text not null,
    relation        text not null,
    fields          jsonb not null default '[]',    -- [{name, type, description}] (SchemaDatasetFacet)
    facets          jsonb not null default '{}',
    first_seen_at   timestamptz not null default now(),
    last_seen_at    timestamptz not null default now(),
    primary key (namespace, name)
);
create index if not exists lineage_datasets_relation_idx on platform.lineage_datasets (relation);

create table if not exists platform.lineage_edges (
    job_namespace   text not null,
    job_name        text not null,
    source          text not null,                  -- relation read
    target          text not null,                  -- relation written
    first_run_id    uuid not null,
    last_run_id     uuid not null,
    first_seen_at   timestamptz not null default now(),
    last_seen_at    timestamptz not null default now(),
    primary key (source, target, job_namespace, job_name)
);
create index if not exists lineage_edges_target_idx on platform.lineage_edges (target);

create table if not exists platform.lineage_column_edges (
    source          text not null,                  -- relation
    source_column   text not null,
    target          text not null,
    target_column   text not null,
    transformation  text not null default '',       -- IDENTITY | TRANSFORMATION | … (ColumnLineageDatasetFacet)
    job_name        text not null,
    last_run_id     uuid not null,
    first_seen_at   timestamptz not null default now(),
    last_seen_at    timestamptz not null default now(),
    primary key (target, target_column, source, source_column)
);
create index if not exists lineage_column_edges_source_idx on platform.lineage_column_edges (source, source_column);
