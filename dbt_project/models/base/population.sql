-- 人口基础库: everyone known to 公安厅 (household registration) or 人社厅 (social insurance).
-- Grain: one row per person (resident_id).
--
-- Tie-break: 公安厅 is authoritative for identity, birth, household and status, so its value wins
-- whenever it has one; 人社厅 only fills items 公安厅 does not hold. Disagreements are listed in
-- conflict_fields (details in population_conflicts). Persons known only to 人社厅 are kept with
-- in_household_registry = false: name and birth date as 人社厅 knows them (birth date from the ID when
-- 人社厅 has none), gender from the ID's 17th digit, division_code = the insurance place, status null.
with

registered as (

    select * from {{ ref('int_persons_registered') }}

),

insured as (

    select * from {{ ref('int_persons_insured') }}

),

conflicts as (

    select
        resident_id,
        array_agg(field_name order by field_name collate "C") as conflict_fields
    from {{ ref('population_conflicts') }}
    group by resident_id

),

divisions as (

    select * from {{ ref('int_divisions_rolled_up') }}

),

merged as (

    select
        coalesce(registered.resident_id, insured.resident_id) as resident_id,
        registered.resident_id is not null as in_household_registry,

        ---------- identity: 公安厅 first
        coalesce(registered.name, insured.name) as name,
        -- GB/T 2261.1 codes 1/2 are accepted as well as 男/女
        case registered.gender when '1' then '男' when '2' then '女' else registered.gender end
            as registered_gender,
        coalesce(registered.birth_date, insured.birth_date) as known_birth_date,
        registered.ethnicity,

        ---------- household: 公安厅 only (人社厅 knows the insurance place)
        coalesce(registered.division_code, insured.division_code) as division_code,
        registered.address,
        registered.household_id,

        ---------- status: 公安厅 only
        registered.status,
        registered.death_date,

        ---------- insurance: 人社厅
        coalesce(insured.insurance_types, cast(array[] as text[])) as insurance_types,

        array_remove(array[
            case when registered.resident_id is not null then 'public_security' end,
            case when insured.resident_id is not null then 'human_resources' end
        ], null) as source_departments,

        greatest(registered.updated_at, insured.updated_at) as updated_at

    from registered
    full outer join insured on insured.resident_id = registered.resident_id

),

final as (

    select
        merged.resident_id,
        merged.name,
        coalesce(
            merged.registered_gender,
            case
                when substr(merged.resident_id, 17, 1) in ('1', '3', '5', '7', '9') then '男'
                when substr(merged.resident_id, 17, 1) in ('0', '2', '4', '6', '8') then '女'
            end
        ) as gender,
        coalesce(
            merged.known_birth_date,
            case
                when {{ is_valid_resident_id('merged.resident_id') }}
                    then to_date(substr(merged.resident_id, 7, 8), 'YYYYMMDD')
            end
        ) as birth_date,
        merged.ethnicity,
        merged.division_code,
        divisions.prefecture_code,
        merged.address,
        merged.household_id,
        merged.status,
        merged.death_date,
        merged.in_household_registry,
        merged.insurance_types,
        merged.source_departments,
        coalesce(conflicts.conflict_fields, cast(array[] as text[])) as conflict_fields,
        merged.updated_at,
        {{ logical_date() }} as built_for_date

    from merged
    left join conflicts on conflicts.resident_id = merged.resident_id
    left join divisions on divisions.division_code = merged.division_code

)

select * from final
