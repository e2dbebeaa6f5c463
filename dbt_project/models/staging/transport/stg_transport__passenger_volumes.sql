-- 交通运输厅 客运量统计, typed and tidied. One row per raw row (all logical dates).
with

source as (

    select * from {{ source('raw', 'transport__passenger_volumes') }}

),

renamed as (

    select
        ---------- columns as the registry names them (text trimmed, blank -> NULL, IDs upper-cased)
        nullif(btrim(month), '') as month,
        nullif(btrim(prefecture_code), '') as prefecture_code,
        nullif(btrim(prefecture_name), '') as prefecture_name,
        nullif(btrim(mode), '') as mode,
        passengers,
        passenger_km,

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
