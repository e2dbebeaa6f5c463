-- What 民政厅 knows about persons, as of the logical date. Grain: one row per resident_id.
--
-- * marital_status from the marriage registrations (婚姻登记): the person's latest registration (by
--   registration date, then logical date, then source row) — 结婚 -> 已婚, 离婚 -> 离婚. No registration
--   means unknown (NULL), never 未婚: marriages registered before the records were digitised or outside
--   the province are not in 民政厅's data.
-- * name and division_code from the 低保 listings (最低生活保障): the most recently changed current
--   listing. 低保 is granted at the 户籍所在地 (社会救助暂行办法), so its division is comparable with
--   公安厅's 户籍地 (var population_attributes).
-- Lineage (_batch_id, _source_row): the 低保 listing where there is one (name and division are the
-- compared items), else the latest marriage registration.
with

registrations as (

    select * from {{ ref('int_marriage_registrations_deduplicated') }}

),

allowances as (

    select * from {{ ref('int_subsistence_allowances_deduplicated') }}

),

spouses as (

    select
        male_id as resident_id,
        registration_type,
        registration_date,
        _batch_id,
        _logical_date,
        _source_row
    from registrations
    where male_id is not null

    union all

    select
        female_id as resident_id,
        registration_type,
        registration_date,
        _batch_id,
        _logical_date,
        _source_row
    from registrations
    where female_id is not null

),

latest_registration as (

    select
        resident_id,
        case registration_type when '结婚' then '已婚' when '离婚' then '离婚' end as marital_status,
        registration_date,
        _batch_id,
        _source_row,
        row_number() over (
            partition by resident_id
            order by registration_date desc nulls last, _logical_date desc, _source_row desc, _batch_id desc
        ) as registration_rank
    from spouses
    where registration_type in ('结婚', '离婚')

),

latest_allowance as (

    select
        recipient_id as resident_id,
        recipient_name as name,
        division_code,
        updated_at,
        _batch_id,
        _source_row,
        row_number() over (
            partition by recipient_id
            order by updated_at desc nulls last, _logical_date desc, _source_row desc, family_id desc
        ) as listing_rank
    from allowances

),

registered as (

    select * from latest_registration
    where registration_rank = 1

),

assisted as (

    select * from latest_allowance
    where listing_rank = 1

),

known as (

    select resident_id from registered
    union
    select resident_id from assisted

)

select
    known.resident_id,
    assisted.name,
    assisted.division_code,
    registered.marital_status,
    registered.registration_date as marital_status_since,
    assisted.resident_id is not null as receives_subsistence_allowance,
    assisted.updated_at,
    coalesce(assisted._batch_id, registered._batch_id) as _batch_id,
    cast(coalesce(assisted._source_row, registered._source_row) as bigint) as _source_row

from known
left join registered on known.resident_id = registered.resident_id
left join assisted on known.resident_id = assisted.resident_id
