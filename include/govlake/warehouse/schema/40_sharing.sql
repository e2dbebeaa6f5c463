-- Catalog, sharing zone, data dispatch, exports and the audit trail (issue 6). Idempotent.
create schema if not exists platform;
create schema if not exists exchange;
comment on schema exchange is
    'The sharing exchange: catalog-governed views per resource; who sees which item is decided by '
    'column privileges and platform.share_grants (govlake.sharing.zone).';

-- 政务信息资源目录: one row per catalogued resource (registry dataset or library).
create table if not exists platform.catalog_entries (
    resource_code           text primary key,          -- <classification code>/<sequence>, e.g. 1010010001/000001
    entry_key               text not null unique,      -- dataset key <department>__<dataset> or library name
    kind                    text not null,             -- dataset | library
    name                    text not null,
    classification          jsonb not null,            -- {类, 项, 目, 细目} codes and names
    classification_code     text not null,
    provider                text not null,
    provider_code           text not null,
    department              text not null,             -- owning department code (data_office for libraries)
    summary                 text not null,
    format                  text not null,
    sharing_type            text not null,             -- 无条件共享 | 有条件共享 | 不予共享
    sharing_condition       text,
    sharing_method          text,
    open_type               text not null,             -- 无条件开放 | 有条件开放 | 不予开放
    update_cycle            text not null,
    publish_date            date not null,
    related_codes           text[] not null default '{}',
    relation                text,                      -- the exchange view that serves it
    source_file             text not null,             -- registry YAML or dbt manifest it came from
    document                jsonb not null,            -- the full GB-style entry
    search_text             text not null,
    synced_at               timestamptz not null default now()
);
create index if not exists catalog_entries_search_idx on platform.catalog_entries (kind, department);

-- The catalog's version: bumped by every statement that changes an entry, so the portal's in-memory
-- search index knows it is stale with a one-row read instead of scanning the entries on every search.
create table if not exists platform.catalog_version (
    singleton               boolean primary key default true check (singleton),
    version                 bigint not null default 0,
    changed_at              timestamptz not null default now()
);
insert into platform.catalog_version (singleton) values (true) on conflict do nothing;
create or replace function platform.bump_catalog_version() returns trigger language plpgsql as $$
begin
    update platform.catalog_version set version = version + 1, changed_at = clock_timestamp();
    return null;
end $$;
create or replace trigger catalog_entries_version
    after insert or update or delete or truncate on platform.catalog_entries
    for each statement execute function platform.bump_catalog_version();

-- 信息项: one row per item of a resource, with its own sharing type.
create table if not exists platform.catalog_items (
    resource_code           text not null references platform.catalog_entries on delete cascade,
    position                integer not null,
    item                    text not null,
    label                   text not null,
    data_type               text not null,
    grade                   text not null,
    pi                      text not null,
    sharing_type            text not null,
    sharing_condition       text,
    open_type               text not null,
    description             text,
    primary key (resource_code, item)
);

-- Sequence numbers per classification code, never reused, so resource codes are stable across runs.
create table if not exists platform.catalog_sequences (
    classification_code     text not null,
    sequence                integer not null,
    entry_key               text not null unique,
    assigned_at             timestamptz not null default now(),
    primary key (classification_code, sequence)
);

-- 数据调度: a consumer department asks for items of a resource for a purpose and a period.
create table if not exists platform.share_requests (
    request_id              bigserial primary key,
    consumer                text not null,             -- consumer department code
    resource_key            text not null,
    resource_code           text not null,
    owner                   text not null,             -- department that decides (data_office for libraries)
    items                   text[] not null,
    purpose                 text not null,
    legal_basis             text not null,
    period_start            date not null,
    period_end              date not null,
    state                   text not null,             -- pending | escalated | approved | rejected | revoked | expired
    requested_at            timestamptz not null default now(),
    due_at                  timestamptz not null,      -- SLA: the owner answers before this
    escalated_at            timestamptz,
    decided_at              timestamptz,
    decided_by              text,
    reason                  text,
    subscription            jsonb,                     -- optional export subscription asked for with it
    check (period_end >= period_start)
);
create index if not exists share_requests_state_idx on platform.share_requests (state, due_at);

-- What an approval provisioned; the exchange views read it (via exchange.item_granted) at query time.
create table if not exists platform.share_grants (
    grant_id                bigserial primary key,
    request_id              bigint not null references platform.share_requests,
    grantee                 text not null,             -- the consumer department's database role
    consumer                text not null,
    resource_key            text not null,
    items                   text[] not null,
    valid_from              timestamptz not null,
    valid_until             timestamptz not null,
    revoked_at              timestamptz,
    revoke_reason           text,
    granted_at              timestamptz not null default now()
);
create index if not exists share_grants_grantee_idx on platform.share_grants (grantee, resource_key);

-- A department sees its own grants and nothing else (row-level security keyed by current_user).
-- Conditional DDL: ensure_platform_schema runs often, and ALTER TABLE would take an exclusive lock.
do $$
begin
    if not (select relrowsecurity from pg_class where oid = 'platform.share_grants'::regclass) then
        alter table platform.share_grants enable row level security;
    end if;
    if not exists (select 1 from pg_policies where schemaname = 'platform' and tablename = 'share_grants'
                   and policyname = 'own_grants') then
        create policy own_grants on platform.share_grants for select using (grantee = current_user);
    end if;
end $$;

-- True while the calling department holds an active grant covering the item. SECURITY DEFINER so
-- departments need no access to the grants table; session_user (the login role) cannot be spoofed
-- by an argument. Called as an uncorrelated sub-select in the views, so it runs once per query.
-- The portal's authenticator switches role per request (SET LOCAL ROLE dept_<code>): the role setting,
-- which only a member of that role can set, then names the department instead of the login.
create or replace function exchange.item_granted(resource text, item text) returns boolean
    language sql stable security definer
    set search_path = pg_catalog, platform
as $$
    select exists (
        select 1 from platform.share_grants g
        where g.grantee = coalesce(nullif(current_setting('role'), 'none'), session_user::text)
          and g.resource_key = resource and item = any (g.items)
          and g.revoked_at is null and now() >= g.valid_from and now() < g.valid_until
    )
$$;
revoke all on function exchange.item_granted(text, text) from public;

create or replace view exchange.my_grants with (security_invoker = true) as
    select grant_id, request_id, resource_key, items, valid_from, valid_until, revoked_at
    from platform.share_grants;

-- Every export and API read, in the platform (query-level logging is the role's log_statement).
create table if not exists platform.access_log (
    access_id               bigserial primary key,
    accessed_at             timestamptz not null default now(),
    department              text not null,
    channel                 text not null,             -- api | export
    resource_key            text not null,
    items                   text[] not null,
    row_count               bigint,
    detail                  jsonb
);
create index if not exists access_log_department_idx on platform.access_log (department, accessed_at);

-- Export runs (one per subscription and date; a re-run replaces its row).
create table if not exists platform.export_runs (
    subscription            text not null,             -- export__<consumer>__<resource>
    logical_date            date not null,
    consumer                text not null,
    resource_key            text not null,
    uri                     text not null,
    format                  text not null,
    row_count               bigint not null,
    sha256                  text not null,
    manifest                jsonb not null,
    notified                text,
    exported_at             timestamptz not null default now(),
    primary key (subscription, logical_date)
);

-- Append-only, hash-chained audit trail of every state change of the dispatch workflow.
create table if not exists platform.audit_log (
    seq                     bigint primary key,
    recorded_at             timestamptz not null,
    actor                   text not null,
    action                  text not null,
    subject                 text not null,
    record                  jsonb not null,            -- the canonical content that the hash covers
    prev_hash               text not null,
    hash                    text not null
);

create or replace function platform.audit_log_is_append_only() returns trigger
    language plpgsql
as $$
begin
    if tg_level = 'ROW' then
        raise exception 'platform.audit_log is append-only: % of record % is not allowed', tg_op, old.seq
            using hint = 'Append a correcting record instead; `govlake audit verify` checks the chain.';
    end if;
    raise exception 'platform.audit_log is append-only: % is not allowed', tg_op;
end
$$;
do $$
begin
    if not exists (select 1 from pg_trigger where tgname = 'audit_log_append_only'
                   and tgrelid = 'platform.audit_log'::regclass) then
        create trigger audit_log_append_only before update or delete on platform.audit_log
            for each row execute function platform.audit_log_is_append_only();
    end if;
    if not exists (select 1 from pg_trigger where tgname = 'audit_log_no_truncate'
                   and tgrelid = 'platform.audit_log'::regclass) then
        create trigger audit_log_no_truncate before truncate on platform.audit_log
            for each statement execute function platform.audit_log_is_append_only();
    end if;
end $$;
