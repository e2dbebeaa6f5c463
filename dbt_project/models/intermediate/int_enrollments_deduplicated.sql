-- 人社厅's current version of each enrollment record as of the logical date: the newest accepted version
-- (int_enrollments_versioned) unless it is a tombstone — a record the source deleted leaves the libraries.
-- Grain: one row per enrollment_id.
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

from {{ ref('int_enrollments_versioned') }}
where _deleted is not true
