-- 人社厅's current version of each enrollment record as of the logical date (the API is incremental, so
-- a record changed twice arrives in two batches). Grain: one row per enrollment_id.
with

accepted as (

    {{ accepted_rows(
        ref('stg_human_resources__social_insurance_enrollments'), not_null=['enrollment_id', 'resident_id']
    ) }}

),

newest as (

    {{ newest_version('accepted', ['enrollment_id'], changed_at='updated_at') }}

)

select
    enrollment_id,
    resident_id,
    name,
    birth_date,
    phone,
    insurance_type,
    employer_credit_code,
    division_code,
    enrollment_date,
    status,
    updated_at,
    _batch_id,
    _logical_date,
    _source_row

from newest
-- a key whose newest accepted version is a tombstone (the source deleted it) leaves the library
where _deleted is not true
