-- 公安厅 household registration, typed and tidied. One row per raw row (all logical dates).
with

source as (

    select * from {{ source('raw', 'public_security__household_registration') }}

),

renamed as (

    select
        ---------- ids
        upper(btrim(resident_id)) as resident_id,
        nullif(btrim(household_id), '') as household_id,

        ---------- person
        nullif(btrim(name), '') as name,
        nullif(btrim(gender), '') as gender,
        nullif(btrim(ethnicity), '') as ethnicity,
        birth_date,

        ---------- household
        nullif(btrim(division_code), '') as division_code,
        nullif(btrim(address), '') as address,
        nullif(btrim(relation_to_head), '') as relation_to_head,

        ---------- status
        nullif(btrim(status), '') as status,
        death_date,

        ---------- timestamps
        updated_at,

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
