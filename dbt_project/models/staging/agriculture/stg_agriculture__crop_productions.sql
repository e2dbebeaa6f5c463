-- 农业农村厅 特色农业产业生产情况, typed and tidied. One row per raw row (all logical dates).
with

source as (

    select * from {{ source('raw', 'agriculture__crop_production') }}

),

renamed as (

    select
        ---------- columns as the registry names them (text trimmed, blank -> NULL, IDs upper-cased)
        year,
        nullif(btrim(division_code), '') as division_code,
        nullif(btrim(county_name), '') as county_name,
        nullif(btrim(crop), '') as crop,
        nullif(btrim(scale_indicator), '') as scale_indicator,
        scale_value,
        nullif(btrim(scale_unit), '') as scale_unit,
        output_tons,
        price_per_kg,
        output_value,
        nullif(btrim(main_townships), '') as main_townships,

        ---------- output value in 万元: as delivered, else tons × 1000 kg × 元/kg ÷ 10000
        coalesce(output_value, output_tons * 1000 * price_per_kg / 10000) as output_value_wan_yuan,
        case when btrim(scale_unit) = '亩' then scale_value end as area_mu,

        ---------- lineage
        _batch_id,
        _logical_date,
        _source_file,
        _source_row,
        _ingested_at,
        coalesce(_deleted, false) as _deleted

    from source

)

select * from renamed
