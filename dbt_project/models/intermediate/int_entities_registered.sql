-- 市场监管局's current registration of each market entity as of the logical date.
-- Grain: one row per credit_code.
-- The CSV feed has no change timestamp: the newest version is the one from the latest logical date,
-- then the later row of the file.
with

entities as (

    select * from {{ ref('stg_market_regulation__market_entities') }}
    where _logical_date <= {{ logical_date() }}
        and credit_code is not null

),

quarantined as (

    select _batch_id, _source_row from {{ ref('stg_platform__quarantined_rows') }}

),

accepted as (

    select entities.*
    from entities
    where not exists (
        select 1
        from quarantined
        where quarantined._batch_id = entities._batch_id
            and quarantined._source_row = entities._source_row
    )

),

ranked as (

    select
        accepted.*,
        row_number() over (
            partition by credit_code
            order by _logical_date desc, _source_row desc, _batch_id desc
        ) as version_rank
    from accepted

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

from ranked
-- a key whose newest accepted version is a tombstone (the source deleted it) leaves the library
where version_rank = 1
    and _deleted is not true
