-- 民政厅 婚姻登记信息, typed and tidied. One row per raw row (all logical dates).
with

source as (

    select * from {{ source('raw', 'civil_affairs__marriage_registrations') }}

),

renamed as (

    select
        ---------- columns as the registry names them (text trimmed, blank -> NULL, IDs upper-cased)
        nullif(btrim(registration_no), '') as registration_no,
        nullif(btrim(registration_type), '') as registration_type,
        registration_date,
        nullif(btrim(office_division_code), '') as office_division_code,
        nullif(btrim(office_name), '') as office_name,
        nullif(btrim(male_name), '') as male_name,
        nullif(upper(btrim(male_id)), '') as male_id,
        nullif(btrim(female_name), '') as female_name,
        nullif(upper(btrim(female_id)), '') as female_id,
        nullif(btrim(remarks), '') as remarks,

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
