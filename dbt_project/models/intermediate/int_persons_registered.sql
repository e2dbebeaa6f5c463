-- 公安厅's current registration of each person as of the logical date.
-- Grain: one row per resident_id.
-- Rows in platform.quarantine are left out before versions are ranked, so a person whose newest row was
-- rejected keeps their last accepted version. Newest = latest updated_at, then later logical date, then
-- later source row (a department that sends two versions in one file sends the newer one last).
with

registrations as (

    select * from {{ ref('stg_public_security__household_registrations') }}
    where _logical_date <= {{ logical_date() }}
        and resident_id is not null

),

quarantined as (

    select _batch_id, _source_row from {{ ref('stg_platform__quarantined_rows') }}

),

accepted as (

    select registrations.*
    from registrations
    where not exists (
        select 1
        from quarantined
        where quarantined._batch_id = registrations._batch_id
            and quarantined._source_row = registrations._source_row
    )

),

ranked as (

    select
        accepted.*,
        row_number() over (
            partition by resident_id
            order by updated_at desc nulls last, _logical_date desc, _source_row desc, _batch_id desc
        ) as version_rank
    from accepted

)

select
    resident_id,
    name,
    gender,
    ethnicity,
    birth_date,
    division_code,
    address,
    household_id,
    relation_to_head,
    status,
    death_date,
    updated_at,
    _batch_id,
    _logical_date,
    _source_row

from ranked
where version_rank = 1
