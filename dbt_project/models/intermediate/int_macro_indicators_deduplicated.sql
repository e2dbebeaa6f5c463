-- 统计局's current value of each indicator, region and period as of the logical date: accepted rows of
-- logical dates up to it, newest version per key (a revised value arrives again with a later gxsj).
-- Grain: one row per indicator_code x region_code x period.
with

accepted as (

    {{ accepted_rows(ref('stg_statistics__macro_indicators'), not_null=['indicator_code', 'region_code', 'period']) }}

),

ranked as (

    select
        accepted.*,
        row_number() over (
            partition by indicator_code, region_code, period
            order by updated_at desc nulls last, _logical_date desc, _source_row desc, _batch_id desc
        ) as version_rank
    from accepted

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

from ranked
where version_rank = 1
    and _deleted is not true
