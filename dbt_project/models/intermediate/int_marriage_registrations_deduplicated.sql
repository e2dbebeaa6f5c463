-- 民政厅's current version of each marriage or divorce registration (婚姻登记) as of the logical date:
-- accepted rows (macros/accepted_rows.sql) of logical dates up to it, newest version per registration_no
-- (the CSV re-delivers the last twelve months daily; a corrected registration arrives again). The record
-- has no change time: newest logical date, then source row. Grain: one row per registration_no.
with

accepted as (

    {{ accepted_rows(ref('stg_civil_affairs__marriage_registrations'), not_null=['registration_no']) }}

),

newest as (

    {{ newest_version('accepted', ['registration_no']) }}

)

select
    registration_no,
    registration_type,
    registration_date,
    office_division_code,
    male_name,
    male_id,
    female_name,
    female_id,
    _batch_id,
    _logical_date,
    _source_row

from newest
where _deleted is not true
