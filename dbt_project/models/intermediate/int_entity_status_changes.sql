-- When each market entity was first seen in each registration status, from every accepted version
-- 市场监管局 delivered up to the logical date (the CSV has no change time, so the logical date of the
-- delivery is the date of the change). Grain: one row per credit_code x status.
with

accepted as (

    {{ accepted_rows(ref('stg_market_regulation__market_entities'), not_null=['credit_code', 'status']) }}

)

select
    credit_code,
    status,
    min(_logical_date) as first_seen_on

from accepted
where _deleted is not true
group by credit_code, status
