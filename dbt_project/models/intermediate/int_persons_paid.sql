-- What 财政厅 knows about persons: the payee (领取人) name on their subsidy payments (惠民惠农补贴), as of
-- the logical date. Grain: one row per resident_id (recipient_id of the current payment versions;
-- tombstones included: _deleted, see macros/change_stamps.sql).
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

counted as (

    select
        payments.*,
        count(*) over (partition by payments.recipient_id) as payment_count
    from payments

),

newest as (

    {{ newest_version('counted', ['recipient_id'], order_by=[
        'updated_at desc nulls last', '_logical_date desc', '_source_row desc', 'payment_id desc',
    ]) }}

),

current_rows as (

    select
        recipient_id as resident_id,
        recipient_name as name,
        cast(payment_count as integer) as payment_count,
        updated_at,
        _batch_id,
        _source_row

    from newest

)

-- change stamps and tombstones for the incremental population merge (macros/change_stamps.sql)
{{ stamp_changes('current_rows', 'resident_id') }}
