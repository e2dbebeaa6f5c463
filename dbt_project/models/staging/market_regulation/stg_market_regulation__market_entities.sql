-- 市场监管局 market-entity registrations, typed and tidied. One row per raw row (all logical dates).
with

source as (

    select * from {{ source('raw', 'market_regulation__market_entities') }}

),

renamed as (

    select
        ---------- ids
        upper(btrim(credit_code)) as credit_code,

        ---------- entity
        nullif(btrim(entity_name), '') as entity_name,
        nullif(btrim(entity_type), '') as entity_type,
        nullif(btrim(industry_code), '') as industry_code,
        registered_capital,
        established_date,

        ---------- legal representative
        nullif(btrim(legal_rep_name), '') as legal_rep_name,
        nullif(upper(btrim(legal_rep_id)), '') as legal_rep_id,

        ---------- location
        nullif(btrim(division_code), '') as division_code,
        nullif(btrim(address), '') as address,

        ---------- status
        nullif(btrim(status), '') as status,

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
