-- 市场监管局's current registration of each market entity as of the logical date.
-- Grain: one row per credit_code.
-- The CSV feed has no change timestamp: the newest version is the one from the latest logical date,
-- then the later row of the file.
with

accepted as (

    {{ accepted_rows(ref('stg_market_regulation__market_entities'), not_null=['credit_code']) }}

),

newest as (

    {{ newest_version('accepted', ['credit_code']) }}

)

select
    credit_code,
    entity_name,
    entity_type,
    legal_rep_name,
    legal_rep_id,
    industry_code,
    registered_capital,
    established_date,
    division_code,
    address,
    status,
    _batch_id,
    _logical_date,
    _source_row

from newest
-- a key whose newest accepted version is a tombstone (the source deleted it) leaves the library
where _deleted is not true
