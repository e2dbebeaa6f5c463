-- 农业农村厅's current figures per county, crop and year as of the logical date: accepted rows of logical
-- dates up to it; a year re-delivered later (revised statistics) replaces the earlier figures (latest
-- logical date, then later file row — the CSV has no change time). Grain: one row per
-- division_code x crop x year.
with

accepted as (

    {{ accepted_rows(ref('stg_agriculture__crop_productions'), not_null=['division_code', 'crop', 'year']) }}

),

ranked as (

    select
        accepted.*,
        row_number() over (
            partition by division_code, crop, year
            order by _logical_date desc, _source_row desc, _batch_id desc
        ) as version_rank
    from accepted

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

from ranked
where version_rank = 1
    and _deleted is not true
