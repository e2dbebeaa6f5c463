-- 法人基础库: market entities registered with 市场监管局, linked to the population library and to
-- 人社厅's enrollments. Grain: one row per entity (credit_code).
with

entities as (

    select * from {{ ref('int_entities_registered') }}

),

population as (

    select resident_id from {{ ref('population') }}

),

employees as (

    -- persons with a current enrollment record at the employer, whatever the insurance type or status
    select
        employer_credit_code as credit_code,
        count(distinct resident_id) as insured_employees
    from {{ ref('int_enrollments_deduplicated') }}
    where employer_credit_code is not null
    group by employer_credit_code

),

divisions as (

    select * from {{ ref('int_divisions_rolled_up') }}
    where not _deleted

),

final as (

    select
        entities.credit_code,
        entities.entity_name,
        entities.entity_type,
        entities.legal_rep_name,
        entities.legal_rep_id,
        exists(
            select 1 from population
            where population.resident_id = entities.legal_rep_id
        ) as legal_rep_in_population,
        entities.industry_code,
        entities.registered_capital,
        entities.established_date,
        entities.division_code,
        divisions.prefecture_code,
        entities.address,
        entities.status,
        cast(coalesce(employees.insured_employees, 0) as integer) as insured_employees,
        {{ logical_date() }} as built_for_date

    from entities
    left join employees on entities.credit_code = employees.credit_code
    left join divisions on entities.division_code = divisions.division_code

)

select * from final
