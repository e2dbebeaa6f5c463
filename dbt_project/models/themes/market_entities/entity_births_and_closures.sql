-- 市场主体主题库: market-entity births and closures by industry and county per month.
-- Grain: one row per month x county x industry (cell_id).
-- Birth = the entity's 成立日期 (established_date). Closure = the first delivery in which 市场监管局
-- reported the entity 注销 or 吊销 (the register carries no closure date), so closures before the
-- platform's first delivery all fall in that first month.
with

entities as (

    select * from {{ ref('legal_entities') }}

),

closures as (

    select
        credit_code,
        min(first_seen_on) as closed_on
    from {{ ref('int_entity_status_changes') }}
    where status in ('注销', '吊销')
    group by credit_code

),

events as (

    select
        cast(date_trunc('month', established_date) as date) as month,
        division_code,
        coalesce(industry_code, '未知') as industry_code,
        1 as births,
        0 as closures
    from entities
    where established_date is not null

    union all

    select
        cast(date_trunc('month', closures.closed_on) as date) as month,
        entities.division_code,
        coalesce(entities.industry_code, '未知') as industry_code,
        0 as births,
        1 as closures
    from closures
    inner join entities on closures.credit_code = entities.credit_code

),

cells as (

    select
        month,
        division_code,
        industry_code,
        sum(births) as births,
        sum(closures) as closures
    from events
    group by month, division_code, industry_code

)

select
    to_char(cells.month, 'YYYY-MM')
    || ':'
    || coalesce(cells.division_code, '未知')
    || ':'
    || cells.industry_code
    as cell_id,
    cells.month,
    cells.division_code,
    divisions.prefecture_code,
    cells.industry_code,
    cast(cells.births as integer) as births,
    cast(cells.closures as integer) as closures,
    cast(cells.births - cells.closures as integer) as net_change,
    {{ logical_date() }} as built_for_date

from cells
left join {{ ref('administrative_divisions') }} as divisions on cells.division_code = divisions.division_code
