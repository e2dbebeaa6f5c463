-- 统计局's current value of each indicator, region and period as of the logical date: accepted rows of
-- logical dates up to it, newest version per key (a revised value arrives again with a later gxsj).
-- Grain: one row per indicator_code x region_code x period.
with

accepted as (

    {{ accepted_rows(
        ref('stg_statistics__macro_indicators'), not_null=['indicator_code', 'region_code', 'period']
    ) }}

),

newest as (

    {{ newest_version('accepted', ['indicator_code', 'region_code', 'period'], changed_at='updated_at') }}

)

select
    record_id,
    indicator_code,
    indicator_name,
    region_code,
    region_name,
    frequency,
    period,
    value,
    unit,
    canonical_value,
    canonical_unit,
    updated_at,
    _batch_id,
    _logical_date,
    _source_row

from newest
where _deleted is not true
