-- 财政厅's current version of each subsidy payment as of the logical date: the newest accepted version
-- (int_subsidy_payments_versioned) unless it is a tombstone — a payment the source deleted leaves the
-- libraries. Grain: one row per payment_id.
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

from {{ ref('int_subsidy_payments_versioned') }}
where _deleted is not true
