-- 社会保障主题库: social-insurance coverage by county, age band and insurance type, over the population
-- library (persons living in Guizhou's household registry at the logical date). Grain: one row per
-- county x age band x insurance type.
-- coverage_rate = insured persons / registered living persons of the county and band: the denominator is
-- 公安厅's population, the numerator 人社厅's enrollments joined to it by resident ID.
with

population as (

    select * from {{ ref('population') }}
    where in_household_registry and status = '正常'

),

insurance_types as (

    select distinct unnest(insurance_types) as insurance_type
    from {{ ref('population') }}

),

persons as (

    select
        resident_id,
        division_code as county_code,
        prefecture_code,
        {{ age_band('birth_date', logical_date()) }} as age_band,
        insurance_types
    from population

),

cells as (

    select
        persons.county_code,
        persons.prefecture_code,
        persons.age_band,
        insurance_types.insurance_type,
        count(*) as registered_persons,
        count(*) filter (
            where insurance_types.insurance_type = any(persons.insurance_types)
        ) as insured_persons

    from persons
    cross join insurance_types
    group by 1, 2, 3, 4

)

select
    county_code || ':' || age_band || ':' || insurance_type as coverage_id,
    county_code,
    prefecture_code,
    age_band,
    insurance_type,
    cast(registered_persons as integer) as registered_persons,
    cast(insured_persons as integer) as insured_persons,
    round(cast(insured_persons as numeric) / nullif(registered_persons, 0), 4) as coverage_rate,
    {{ logical_date() }} as built_for_date

from cells
