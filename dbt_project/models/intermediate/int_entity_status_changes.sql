-- When each market entity was first seen in each registration status, from every accepted version
-- 市场监管局 delivered up to the logical date (the CSV has no change time, so the logical date of the
-- delivery is the date of the change). Grain: one row per credit_code x status.
with

entities as (

    select * from {{ ref('stg_market_regulation__market_entities') }}
    where _logical_date <= {{ logical_date() }}
        and credit_code is not null
        and status is not null
        and _deleted is not true

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

)

select
    credit_code,
    status,
    min(_logical_date) as first_seen_on

from accepted
group by credit_code, status
