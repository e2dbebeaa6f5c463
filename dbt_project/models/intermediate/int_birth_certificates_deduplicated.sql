-- 卫健委's current version of each birth certificate (出生医学证明) as of the logical date: accepted rows
-- (macros/accepted_rows.sql) of logical dates up to it, newest version per certificate_no (the workbook
-- re-delivers a rolling year of certificates daily; a corrected certificate arrives again in a later
-- workbook). The certificate has no change time: newest logical date, then source row. Lineage cites the
-- first delivery of that version (macros/newest_version.sql): the daily workbook repeats the year's
-- certificates, and citing each day's copy would make every certificate's persons look changed daily.
-- Grain: one row per certificate_no.
with

accepted as (

    {{ accepted_rows(ref('stg_health__birth_certificates'), not_null=['certificate_no']) }}

),

newest as (

    {{ newest_version_first_delivered('accepted', ['certificate_no'], content=[
        'newborn_name', 'gender', 'birth_date', 'birth_place', 'issuing_institution', 'division_code',
        'mother_name', 'mother_id', 'father_name', 'father_id', 'issue_date',
    ]) }}

)

select
    certificate_no,
    newborn_name,
    gender,
    birth_date,
    birth_place,
    issuing_institution,
    division_code,
    mother_name,
    mother_id,
    father_name,
    father_id,
    issue_date,
    _batch_id,
    _logical_date,
    _source_row

from newest
where _deleted is not true
