-- What 财政厅 knows about persons: the payee (领取人) name on their subsidy payments (惠民惠农补贴), as of
-- the logical date. Grain: one row per resident_id (recipient_id of the current payment versions).
-- The name is the one on the most recently changed payment that has one, with that payment's batch/row.
-- Payee names are keyed in by the paying agents: the least authoritative name in the tie-break table,
-- but a difference from the registry is worth a steward's look (population_conflicts).
with

payments as (

    select * from {{ ref('int_subsidy_payments_deduplicated') }}
    where
        recipient_id is not null
        and recipient_name is not null

),

ranked as (

    select
        payments.*,
        row_number() over (
            partition by payments.recipient_id
            order by
                payments.updated_at desc nulls last,
                payments._logical_date desc,
                payments._source_row desc,
                payments.payment_id desc
        ) as payment_rank,
        count(*) over (partition by payments.recipient_id) as payment_count
    from payments

)

select
    recipient_id as resident_id,
    recipient_name as name,
    cast(payment_count as integer) as payment_count,
    updated_at,
    _batch_id,
    _source_row

from ranked
where payment_rank = 1
