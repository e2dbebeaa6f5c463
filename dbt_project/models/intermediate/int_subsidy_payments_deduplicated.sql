-- 财政厅's current version of each subsidy payment as of the logical date: accepted rows (not in
-- platform.quarantine) of logical dates up to it, newest version per payment_id (the source is read
-- incrementally, so a corrected payment arrives again in a later batch). Grain: one row per payment_id.
with

accepted as (

    {{ accepted_rows(ref('stg_finance__subsidy_payments'), not_null=['payment_id']) }}

),

newest as (

    {{ newest_version('accepted', ['payment_id'], changed_at='updated_at') }}

)

select
    payment_id,
    recipient_id,
    recipient_name,
    subsidy_type,
    period,
    amount,
    payment_date,
    division_code,
    updated_at,
    _batch_id,
    _logical_date,
    _source_row

from newest
-- a key whose newest accepted version is a tombstone (the source deleted it) leaves the library
where _deleted is not true
