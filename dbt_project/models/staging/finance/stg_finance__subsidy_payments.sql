-- 财政厅 惠民惠农补贴发放信息, typed and tidied. One row per raw row (all logical dates).
with

source as (

    select * from {{ source('raw', 'finance__subsidy_payments') }}

),

renamed as (

    select
        ---------- columns as the registry names them (text trimmed, blank -> NULL, IDs upper-cased)
        nullif(upper(btrim(payment_id)), '') as payment_id,
        nullif(upper(btrim(recipient_id)), '') as recipient_id,
        nullif(btrim(recipient_name), '') as recipient_name,
        nullif(btrim(subsidy_type), '') as subsidy_type,
        nullif(btrim(period), '') as period,
        amount,
        payment_date,
        nullif(btrim(division_code), '') as division_code,
        nullif(btrim(bank_name), '') as bank_name,
        nullif(btrim(bank_account), '') as bank_account,
        updated_at,

        ---------- lineage
        _batch_id,
        _logical_date,
        _source_file,
        _source_row,
        _ingested_at,
        coalesce(_deleted, false) as _deleted

    from source

)

select * from renamed
