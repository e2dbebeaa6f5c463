-- 公安厅's current registration of each person as of the logical date: the newest accepted version
-- (int_persons_versioned) unless it is a tombstone — a person the source deleted leaves the libraries.
-- Grain: one row per resident_id.
select
    resident_id,
    name,
    gender,
    ethnicity,
    birth_date,
    division_code,
    address,
    household_id,
    relation_to_head,
    status,
    death_date,
    updated_at,
    _batch_id,
    _logical_date,
    _source_row

from {{ ref('int_persons_versioned') }}
where _deleted is not true
