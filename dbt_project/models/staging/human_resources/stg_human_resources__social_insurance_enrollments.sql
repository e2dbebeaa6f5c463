-- 人社厅 social-insurance enrollments, typed and tidied. One row per raw row (all logical dates).
with

source as (

    select * from {{ source('raw', 'human_resources__social_insurance_enrollment') }}

),

renamed as (

    select
        ---------- ids
        btrim(enrollment_id) as enrollment_id,
        upper(btrim(resident_id)) as resident_id,
        nullif(upper(btrim(employer_credit_code)), '') as employer_credit_code,

        ---------- person (as 人社厅 knows them)
        nullif(btrim(name), '') as name,
        birth_date,
        nullif(btrim(phone), '') as phone,

        ---------- enrollment
        nullif(btrim(insurance_type), '') as insurance_type,
        nullif(btrim(division_code), '') as division_code,
        enrollment_date,
        nullif(btrim(status), '') as status,

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
