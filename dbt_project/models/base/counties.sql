-- The 88 county-level divisions of Guizhou with their prefecture and number of townships: the grain most
-- theme libraries report at. Grain: one row per county (county_code).
with

divisions as (

    select * from {{ ref('administrative_divisions') }}

),

townships as (

    select
        county_code,
        count(*) as township_count
    from divisions
    where division_level = 'township'
    group by county_code

)

select
    divisions.division_code as county_code,
    divisions.division_name as county_name,
    divisions.prefecture_code,
    divisions.prefecture_name,
    cast(coalesce(townships.township_count, 0) as integer) as township_count

from divisions
left join townships on divisions.division_code = townships.county_code
where divisions.division_level = 'county'
