-- 宏观经济基础库: 统计局's indicators by region and period, one unit per indicator. Grain: one row per
-- indicator x region x period (indicator_id = indicator_code:region_code:period).
-- The bureau publishes money in 亿元 for the province and prefectures but 万元 for counties, and county
-- population in 人 rather than 万人: canonical_value/canonical_unit (from staging) put every region on one
-- unit, so regions and levels can be compared and summed. NBS period codes: "2024" is the year,
-- "2024A".."2024D" are Q1..Q4, cumulative from 1 January (so cumulative_from is the start of the year).
with

indicators as (

    select * from {{ ref('int_macro_indicators_deduplicated') }}

),

divisions as (

    select * from {{ ref('administrative_divisions') }}

),

periods as (

    select
        indicators.*,
        -- a period code outside the NBS forms keeps its row, with NULL period fields (tested, warn)
        case
            when indicators.period ~ '^[0-9]{4}([A-D])?$' then cast(left(indicators.period, 4) as integer)
        end as period_year,
        case
            when indicators.period ~ '^[0-9]{4}[A-D]$'
                then ascii(right(indicators.period, 1)) - ascii('A') + 1
        end as period_quarter
    from indicators

),

dated as (

    select
        periods.*,
        case
            when periods.period_quarter is not null then 'quarterly'
            when periods.period_year is not null then 'annual'
        end as period_type,
        make_date(periods.period_year, 3 * coalesce(periods.period_quarter, 1) - 2, 1) as period_start,
        case
            when periods.period_quarter is null then make_date(periods.period_year, 12, 31)
            else cast(
                make_date(periods.period_year, 3 * periods.period_quarter, 1)
                + interval '1 month - 1 day' as date
            )
        end as period_end
    from periods

)

select
    dated.indicator_code || ':' || dated.region_code || ':' || dated.period as indicator_id,
    dated.indicator_code,
    dated.indicator_name,
    dated.region_code,
    coalesce(divisions.division_name, dated.region_name) as region_name,
    divisions.division_level as region_level,
    divisions.prefecture_code,
    divisions.prefecture_name,
    dated.period,
    dated.period_type,
    dated.period_year,
    dated.period_quarter,
    dated.period_start,
    dated.period_end,
    make_date(dated.period_year, 1, 1) as cumulative_from,
    dated.value as reported_value,
    dated.unit as reported_unit,
    dated.canonical_value,
    dated.canonical_unit,
    dated.updated_at,
    dated._batch_id as source_batch_id,
    dated._source_row as source_row,
    {{ logical_date() }} as built_for_date

from dated
left join divisions on dated.region_code = divisions.division_code
