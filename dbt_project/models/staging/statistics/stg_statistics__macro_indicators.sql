-- 统计局 宏观经济指标, typed and tidied. One row per raw row (all logical dates).
with

source as (

    select * from {{ source('raw', 'statistics__macro_indicators') }}

),

renamed as (

    select
        ---------- columns as the registry names them (text trimmed, blank -> NULL, IDs upper-cased)
        nullif(upper(btrim(record_id)), '') as record_id,
        nullif(btrim(indicator_code), '') as indicator_code,
        nullif(btrim(indicator_name), '') as indicator_name,
        nullif(btrim(region_code), '') as region_code,
        nullif(btrim(region_name), '') as region_name,
        nullif(btrim(frequency), '') as frequency,
        nullif(btrim(period), '') as period,
        value,
        nullif(btrim(unit), '') as unit,
        updated_at,

        ---------- canonical unit: money in 万元 (亿元 × 10000, 元 ÷ 10000), persons in 万人 (人 ÷ 10000), % as is
        case nullif(btrim(unit), '')
            when '亿元' then 10000.0 when '万元' then 1.0 when '元' then 0.0001
            when '万人' then 1.0 when '人' then 0.0001 else 1.0
        end as unit_factor,
        case nullif(btrim(unit), '')
            when '亿元' then '万元' when '元' then '万元' when '人' then '万人' else nullif(btrim(unit), '')
        end as canonical_unit,

        ---------- lineage
        _batch_id,
        _logical_date,
        _source_file,
        _source_row,
        _ingested_at,
        coalesce(_deleted, false) as _deleted

    from source

)

select
    renamed.*,
    renamed.value * renamed.unit_factor as canonical_value
from renamed
