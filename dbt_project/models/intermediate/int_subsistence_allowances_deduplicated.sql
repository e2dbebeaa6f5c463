-- 民政厅's current 低保 listing as of the logical date: accepted rows of logical dates up to it, newest
-- version per (recipient_id, family_id). A recipient who left the programme is soft-deleted in the source
-- (is_deleted = 1 -> _deleted): the newest version being a tombstone removes the listing.
-- Grain: one row per recipient_id x family_id.
with

accepted as (

    {{ accepted_rows(
        ref('stg_civil_affairs__subsistence_allowances'), not_null=['recipient_id', 'family_id']
    ) }}

),

newest as (

    {{ newest_version('accepted', ['recipient_id', 'family_id'], changed_at='updated_at') }}

)

select
    recipient_id || '|' || family_id as listing_id,
    recipient_id,
    recipient_name,
    family_id,
    relation_to_applicant,
    division_code,
    monthly_amount,
    start_month,
    approval_date,
    status,
    updated_at,
    _batch_id,
    _logical_date,
    _source_row

from newest
where _deleted is not true
