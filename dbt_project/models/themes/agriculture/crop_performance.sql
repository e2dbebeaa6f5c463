-- 农业产业主题库: how each characteristic crop (and corn) performs in each county and year. Grain: one row
-- per county x crop x year (crop_performance_id = county_code:crop:year).
-- Revenue per mu = output value (万元 -> 元) / area in 亩; livestock (头, 万羽) has no area, so its per-mu
-- figures stay NULL. The price is 农业农村厅's average selling price, else output value / output.
-- Year-on-year figures compare with the same county and crop in the previous calendar year (NULL when
-- that year was not delivered); trend says whether revenue per mu rose or fell by more than 1%.
with

productions as (

    select * from {{ ref('int_crop_productions_deduplicated') }}

),

counties as (

    select * from {{ ref('counties') }}

),

measured as (

    select
        division_code as county_code,
        crop,
        year,
        scale_indicator,
        scale_value,
        scale_unit,
        area_mu,
        output_tons,
        coalesce(price_per_kg, output_value_wan_yuan * 10 / nullif(output_tons, 0)) as price_per_kg,
        output_value_wan_yuan,
        output_value_wan_yuan * 10000 / nullif(area_mu, 0) as revenue_per_mu,
        _batch_id,
        _source_row
    from productions

),

with_previous as (

    select
        current_year.*,
        previous_year.output_tons as previous_output_tons,
        previous_year.output_value_wan_yuan as previous_output_value_wan_yuan,
        previous_year.revenue_per_mu as previous_revenue_per_mu
    from measured as current_year
    left join measured as previous_year
        on
            current_year.county_code = previous_year.county_code
            and current_year.crop = previous_year.crop
            and previous_year.year = current_year.year - 1

)

select
    with_previous.county_code
    || ':'
    || with_previous.crop
    || ':'
    || with_previous.year as crop_performance_id,
    with_previous.county_code,
    counties.county_name,
    counties.prefecture_code,
    counties.prefecture_name,
    with_previous.crop,
    cast(with_previous.year as integer) as year,
    with_previous.scale_indicator,
    with_previous.scale_value,
    with_previous.scale_unit,
    round(with_previous.area_mu, 2) as area_mu,
    round(with_previous.output_tons, 2) as output_tons,
    round(with_previous.price_per_kg, 2) as price_per_kg,
    round(with_previous.output_value_wan_yuan, 2) as output_value_wan_yuan,
    round(with_previous.revenue_per_mu, 2) as revenue_per_mu,
    round(
        100 * (with_previous.output_tons / nullif(with_previous.previous_output_tons, 0) - 1), 2
    ) as output_yoy_pct,
    round(
        100
        * (with_previous.output_value_wan_yuan / nullif(with_previous.previous_output_value_wan_yuan, 0) - 1),
        2
    ) as output_value_yoy_pct,
    round(
        100 * (with_previous.revenue_per_mu / nullif(with_previous.previous_revenue_per_mu, 0) - 1), 2
    ) as revenue_per_mu_yoy_pct,
    case
        when with_previous.revenue_per_mu is null or with_previous.previous_revenue_per_mu is null then null
        when with_previous.revenue_per_mu > 1.01 * with_previous.previous_revenue_per_mu then 'rising'
        when with_previous.revenue_per_mu < 0.99 * with_previous.previous_revenue_per_mu then 'falling'
        else 'flat'
    end as revenue_per_mu_trend,
    with_previous._batch_id as source_batch_id,
    with_previous._source_row as source_row,
    {{ logical_date() }} as built_for_date

from with_previous
left join counties on with_previous.county_code = counties.county_code
