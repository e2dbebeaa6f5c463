-- 空间地理基础库: Guizhou's administrative division hierarchy (GB/T 2260 + township codes), from the
-- divisions seed. Grain: one row per division code, with every enclosing level resolved so that any
-- library can roll a code up to county, prefecture or province without recursive joins.
with

divisions as (

    select * from {{ ref('divisions') }}

),

levels as (

    select
        division.code as division_code,
        division.name as division_name,
        division.level as division_level,
        nullif(division.parent_code, '') as parent_code,
        parent.level as parent_level,
        parent.code as parent_division_code,
        grandparent.level as grandparent_level,
        grandparent.code as grandparent_code,
        greatgrandparent.code as greatgrandparent_code

    from divisions as division
    left join divisions as parent on division.parent_code = parent.code
    left join divisions as grandparent on parent.parent_code = grandparent.code
    left join divisions as greatgrandparent on grandparent.parent_code = greatgrandparent.code

),

resolved as (

    select
        division_code,
        division_name,
        division_level,
        parent_code,
        case division_level
            when 'province' then division_code
            when 'prefecture' then parent_code
            when 'county' then grandparent_code
            when 'township' then greatgrandparent_code
        end as province_code,
        case division_level
            when 'prefecture' then division_code
            when 'county' then parent_code
            when 'township' then grandparent_code
        end as prefecture_code,
        case division_level
            when 'county' then division_code
            when 'township' then parent_code
        end as county_code

    from levels

)

select
    resolved.division_code,
    resolved.division_name,
    resolved.division_level,
    resolved.parent_code,
    resolved.province_code,
    resolved.prefecture_code,
    prefecture.name as prefecture_name,
    resolved.county_code,
    county.name as county_name

from resolved
left join divisions as prefecture on resolved.prefecture_code = prefecture.code
left join divisions as county on resolved.county_code = county.code
