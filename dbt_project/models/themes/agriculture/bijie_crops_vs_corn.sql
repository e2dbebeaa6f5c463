-- 领导驾驶舱 question: "in Bijie (毕节市 520500), if farmers stop planting corn, which crops should they
-- plant?" For each county of Bijie and each crop grown by the mu, over the county's last N years with
-- corn figures (var crop_comparison_years, default 5, years up to the logical date's), compare the crop's
-- revenue per mu with corn's in the same county and year. Grain: one row per county x crop
-- (comparison_id = county_code:crop).
-- Steadiness: share_years_above_corn (1.0 = better every year compared) and the coefficient of variation
-- of the crop's revenue per mu (sample stddev / mean: low = steady income). rank_in_county orders the
-- county's crops by share of years above corn, then average advantage over corn per mu.
{%- set years = var('crop_comparison_years', 5) | int %}
{%- set corn = '玉米' %}
{%- set bijie = '520500' %}
with

performance as (

    select * from {{ ref('crop_performance') }}
    where
        prefecture_code = '{{ bijie }}'
        and revenue_per_mu is not null
        and year <= extract(year from {{ logical_date() }})

),

corn as (

    select
        county_code,
        year,
        revenue_per_mu as corn_revenue_per_mu
    from performance
    where crop = '{{ corn }}'

),

windows as (

    select
        county_code,
        max(year) - {{ years }} + 1 as first_year,
        max(year) as last_year
    from corn
    group by county_code

),

compared as (

    select
        performance.county_code,
        performance.county_name,
        performance.crop,
        performance.year,
        performance.revenue_per_mu,
        corn.corn_revenue_per_mu,
        windows.first_year,
        windows.last_year
    from performance
    inner join windows
        on
            performance.county_code = windows.county_code
            and performance.year between windows.first_year and windows.last_year
    inner join corn
        on
            performance.county_code = corn.county_code
            and performance.year = corn.year
    where performance.crop <> '{{ corn }}'

),

summarised as (

    select
        county_code,
        max(county_name) as county_name,
        crop,
        min(first_year) as first_year,
        max(last_year) as last_year,
        count(*) as years_compared,
        count(*) filter (where revenue_per_mu > corn_revenue_per_mu) as years_above_corn,
        avg(revenue_per_mu) as avg_revenue_per_mu,
        avg(corn_revenue_per_mu) as avg_corn_revenue_per_mu,
        stddev_samp(revenue_per_mu) / nullif(avg(revenue_per_mu), 0) as revenue_per_mu_cv
    from compared
    group by county_code, crop

),

scored as (

    select
        summarised.*,
        cast(summarised.years_above_corn as numeric) / summarised.years_compared as share_years_above_corn,
        summarised.avg_revenue_per_mu - summarised.avg_corn_revenue_per_mu as avg_advantage_per_mu
    from summarised

)

select
    county_code || ':' || crop as comparison_id,
    county_code,
    county_name,
    crop,
    cast(first_year as integer) as first_year,
    cast(last_year as integer) as last_year,
    cast(years_compared as integer) as years_compared,
    cast(years_above_corn as integer) as years_above_corn,
    round(share_years_above_corn, 4) as share_years_above_corn,
    round(avg_revenue_per_mu, 2) as avg_revenue_per_mu,
    round(avg_corn_revenue_per_mu, 2) as avg_corn_revenue_per_mu,
    round(avg_advantage_per_mu, 2) as avg_advantage_per_mu,
    round(revenue_per_mu_cv, 4) as revenue_per_mu_cv,
    case
        when years_above_corn = years_compared then '每年高于玉米'
        when share_years_above_corn >= 0.5 then '多数年份高于玉米'
        when years_above_corn > 0 then '少数年份高于玉米'
        else '从未高于玉米'
    end as verdict,
    cast(row_number() over (
        partition by county_code
        order by
            share_years_above_corn desc, avg_advantage_per_mu desc, revenue_per_mu_cv asc nulls last, crop asc
    ) as integer) as rank_in_county,
    {{ years }} as comparison_years,
    {{ logical_date() }} as built_for_date

from scored
