-- 自然资源厅 行政区划, typed and tidied. One row per raw row (all logical dates).
with

source as (

    select * from {{ source('raw', 'natural_resources__administrative_divisions') }}

),

renamed as (

    select
        ---------- columns as the registry names them (text trimmed, blank -> NULL, IDs upper-cased)
        nullif(btrim(division_code), '') as division_code,
        nullif(btrim(name), '') as name,
        nullif(btrim(level), '') as level,
        nullif(btrim(parent_code), '') as parent_code,
        area_km2,

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
