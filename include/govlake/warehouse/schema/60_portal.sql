-- The portal (issue 15): personal accounts, sign-in attempts and the resource profiles the pages show.
-- Idempotent.
create schema if not exists platform;

-- One row per person who signs in to the portal. The password is an Argon2id hash (never the password).
create table if not exists platform.portal_users (
    username                text primary key,          -- lower-case sign-in name, e.g. mz_requester
    display_name            text not null,
    department              text not null,             -- department code, or data_office
    role                    text not null,             -- requester | approver | steward | data_office | leader | analyst
    password_hash           text not null,
    disabled                boolean not null default false,
    failed_count            integer not null default 0,-- consecutive failed sign-ins
    locked_until            timestamptz,               -- set after too many failures
    created_at              timestamptz not null default now(),
    password_changed_at     timestamptz not null default now(),
    last_sign_in_at         timestamptz
);

-- Every sign-in attempt (success or failure), for rate limiting by address and for review.
create table if not exists platform.portal_sign_ins (
    attempt_id              bigserial primary key,
    attempted_at            timestamptz not null default now(),
    username                text not null,
    client                  text not null,             -- the client address
    ok                      boolean not null,
    reason                  text                       -- why it failed (unknown, password, disabled, locked, rate)
);
create index if not exists portal_sign_ins_client_idx on platform.portal_sign_ins (client, attempted_at);

-- 画像: one row per resource and publication, computed after every publish so the page is instant.
create table if not exists platform.resource_profiles (
    resource_key            text not null,             -- catalog entry key (dataset key or library name)
    logical_date            date not null,
    profiled_at             timestamptz not null default now(),
    relation                text not null,             -- what was profiled, e.g. base.population
    row_count               bigint not null,
    freshness               timestamptz,               -- the newest update time found in the data, if any
    columns                 jsonb not null,            -- [{name, nulls, null_rate, distinct, min, max, top}]
    primary key (resource_key, logical_date)
);
