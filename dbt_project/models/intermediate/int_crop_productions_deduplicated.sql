-- 农业农村厅's current figures per county, crop and year as of the logical date: accepted rows of logical
-- dates up to it; a year re-delivered later (revised statistics) replaces the earlier figures (latest
-- logical date, then later file row — the CSV has no change time). Grain: one row per
-- division_code x crop x year.
with

accepted as (

    {{ accepted_rows(ref('stg_agriculture__crop_productions'), not_null=['division_code', 'crop', 'year']) }}

),

newest as (

    {{ newest_version('accepted', ['division_code', 'crop', 'year']) }}

)

select
    division_code,
    county_name,
    crop,
    year,
    scale_indicator,
    scale_value,
    scale_unit,
    area_mu,
    output_tons,
    price_per_kg,
    output_value_wan_yuan,
    _batch_id,
    _logical_date,
    _source_row

from newest
where _deleted is not true
