-- 卫健委 出生医学证明, typed and tidied. One row per raw row (all logical dates).
with

source as (

    select * from {{ source('raw', 'health__birth_certificates') }}

),

renamed as (

    select
        ---------- columns as the registry names them (text trimmed, blank -> NULL, IDs upper-cased)
        nullif(btrim(certificate_no), '') as certificate_no,
        nullif(btrim(newborn_name), '') as newborn_name,
        nullif(btrim(gender), '') as gender,
        birth_date,
        nullif(btrim(birth_place), '') as birth_place,
        nullif(btrim(issuing_institution), '') as issuing_institution,
        nullif(btrim(division_code), '') as division_code,
        nullif(btrim(mother_name), '') as mother_name,
        nullif(upper(btrim(mother_id)), '') as mother_id,
        nullif(btrim(father_name), '') as father_name,
        nullif(upper(btrim(father_id)), '') as father_id,
        issue_date,

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
