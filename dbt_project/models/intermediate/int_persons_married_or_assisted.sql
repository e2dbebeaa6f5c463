-- What 民政厅 knows about persons, as of the logical date. Grain: one row per resident_id (tombstones
-- included: _deleted, see macros/change_stamps.sql).
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

marriages_and_divorces as (

    ---------- both spouses of each registration
    select
        spouses.resident_id,
        registrations.registration_type,
        registrations.registration_date,
        registrations._batch_id,
        registrations._logical_date,
        registrations._source_row
    from registrations
    cross join
        lateral (
            values (registrations.male_id), (registrations.female_id)
        ) as spouses (resident_id)
    where
        spouses.resident_id is not null
        and registrations.registration_type in ('结婚', '离婚')

),

registered as (

    {{ newest_version('marriages_and_divorces', ['resident_id'], changed_at='registration_date') }}

),

assisted as (

    {{ newest_version('allowances', ['recipient_id'], order_by=[
        'updated_at desc nulls last', '_logical_date desc', '_source_row desc', 'family_id desc',
    ]) }}

),

known as (

    select resident_id from registered
    union
    select recipient_id from assisted

),

current_rows as (

    select
        known.resident_id,
        assisted.recipient_name as name,
        assisted.division_code,
        case registered.registration_type when '结婚' then '已婚' when '离婚' then '离婚' end as marital_status,
        registered.registration_date as marital_status_since,
        assisted.recipient_id is not null as receives_subsistence_allowance,
        assisted.updated_at,
        coalesce(assisted._batch_id, registered._batch_id) as _batch_id,
        cast(coalesce(assisted._source_row, registered._source_row) as bigint) as _source_row

    from known
    left join registered on known.resident_id = registered.resident_id
    left join assisted on known.resident_id = assisted.recipient_id

)

-- change stamps and tombstones for the incremental population merge (macros/change_stamps.sql)
{{ stamp_changes('current_rows', 'resident_id') }}
