-- The open-data zone (issue 7): open datasets, their versioned releases and files, the datastore tables
-- in schema `open`, usage (downloads and API calls) and registered apps. Idempotent.
create schema if not exists platform;
create schema if not exists open;
comment on schema open is
    'Open data: one table per published release (the CKAN datastore), plus a view per dataset on its '
    'latest release. Loaded by govlake.opendata.release; readable by anyone.';

-- One row per open dataset (config/open_datasets.yaml), refreshed at every release.
create table if not exists platform.open_datasets (
    name                text primary key,               -- e.g. population-by-county-gender-age
    title_zh            text not null,
    title_en            text not null,
    description_zh      text not null,
    description_en      text not null,
    kind                text not null,                  -- aggregate | deidentified_records
    organization        text not null,                  -- provider department code (registry)
    organization_title  text not null,
    groups              text[] not null default '{}',
    tags                text[] not null default '{}',
    open_type           text not null,
    update_cycle        text not null,
    license_id          text not null,
    license_title       text,
    license_url         text,
    k                   integer not null,
    definition          jsonb not null,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now()
);

-- One row per release attempt; a version is the logical date, '-rN' added for a changed re-release.
create table if not exists platform.open_releases (
    dataset             text not null,
    version             text not null,
    logical_date        date not null,
    revision            integer not null default 1,
    status              text not null,                  -- published | blocked
    uri                 text not null,                  -- s3://open/<dataset>/<version>/
    rows                integer,
    in_scope            integer,                        -- source rows selected
    k_required          integer not null,
    k_achieved          integer,                        -- smallest published count/class
    suppressed          integer,                        -- cells (aggregate) or records (de-identified) withheld
    generalisation      jsonb not null default '{}',    -- quasi-identifier -> level used
    checksums           jsonb not null default '{}',    -- file -> sha256
    datastore_table     text,                           -- open.<table>
    details             jsonb not null default '{}',
    released_at         timestamptz not null default now(),
    primary key (dataset, version)
);
create index if not exists open_releases_latest_idx on platform.open_releases (dataset, logical_date desc, revision desc);

-- One row per file of a published release (CKAN resources).
create table if not exists platform.open_resources (
    id                  text primary key,               -- uuid5 of dataset/version/file: stable across runs
    dataset             text not null,
    version             text not null,
    file                text not null,                  -- data.csv | data.parquet | data.json | dictionary.csv | metadata.json
    format              text not null,
    media_type          text not null,
    bytes               bigint not null,
    sha256              text not null,
    s3_key              text not null,
    datastore_table     text,                           -- set on the CSV resource: datastore_search serves it
    created_at          timestamptz not null default now(),
    unique (dataset, version, file)
);

-- Usage as data for the cockpit: every download and every API call that concerns a dataset.
create table if not exists platform.open_usage (
    id                  bigserial primary key,
    at                  timestamptz not null default now(),
    kind                text not null,                  -- download | api
    action              text not null,                  -- CKAN action name or the downloaded file
    dataset             text,
    organization        text,
    version             text,
    resource_id         text,
    client              text                            -- sha256 of the caller's address, never the address
);
create index if not exists open_usage_dataset_idx on platform.open_usage (dataset, at);

create or replace view platform.open_usage_daily as
select at::date as day, dataset, organization, kind, count(*) as events, count(distinct client) as clients
from platform.open_usage
group by 1, 2, 3, 4;

-- Apps built on open data, registered by their developers (no login; validated and rate-limited).
create table if not exists platform.open_apps (
    id                  bigserial primary key,
    name                text not null,
    url                 text not null,
    description         text not null default '',
    datasets            text[] not null,
    client              text not null,                  -- sha256 of the registering address (rate limit)
    registered_at       timestamptz not null default now()
);
create index if not exists open_apps_client_idx on platform.open_apps (client, registered_at);
