-- 人口基础库: one golden record per person a member department registers (var population_members), with
-- what every department in var('population_sources') knows about them.
-- Grain: one row per person (resident_id).
--
-- Each attribute takes the first non-NULL value in its order of authority, from the tie-break table in
-- dbt_project.yml (var population_attributes; readable as the population_attribute_sources model). No
-- department is special-cased here: macros/population_merge.sql renders the coalesce from the table.
-- Disagreements are listed in conflict_fields and detailed in population_conflicts. Persons outside the
-- household registry (公安厅) but registered by another member are kept with in_household_registry = false.
{%- set sources = population_sources() %}
with

{% for department, model in sources.items() %}
    {{ department }} as not materialized (

        select * from {{ ref(model) }}

    ),

{% endfor %}
known as (

    -- members only (var population_members): the other sources add attributes, never persons
    {% for department, condition in population_members().items() %}
        select resident_id from {{ department }}
        where {{ condition }}
        {% if not loop.last %}union{% endif %}
    {% endfor %}

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
        known.resident_id,

        ---------- attributes, each by its order of authority
        {% for attribute in population_attributes() %}
            {{ population_attribute_value(attribute) }} as {{ attribute }},
        {% endfor %}

        ---------- which departments know the person
        public_security.resident_id is not null as in_household_registry,
        array_remove(array[
            {% for department in sources %}
                case when {{ department }}.resident_id is not null then '{{ department }}' end
                {%- if not loop.last %},{% endif %}
            {% endfor %}
        ], null) as source_departments,

        ---------- insurance: 人社厅 is the only source
        -- sqlfluff 3.4 reads the array type text[] as `text` and a subscript
        coalesce(human_resources.insurance_types, cast(array[] as text[])) as insurance_types,  -- noqa: LT01

        greatest(
            {% for department in sources %}
                {{ department }}.updated_at{% if not loop.last %},{% endif %}
            {% endfor %}
        ) as updated_at

    from known
    {% for department in sources %}
        left join {{ department }} on {{ department }}.resident_id = known.resident_id
    {% endfor %}

),

final as (

    select
        merged.resident_id,
        merged.name,
        merged.gender,
        merged.birth_date,
        merged.ethnicity,
        merged.division_code,
        divisions.prefecture_code,
        merged.address,
        merged.household_id,
        merged.status,
        merged.death_date,
        merged.marital_status,
        merged.in_household_registry,
        merged.insurance_types,
        merged.source_departments,
        -- sqlfluff 3.4 reads the array type text[] as `text` and a subscript
        coalesce(conflicts.conflict_fields, cast(array[] as text[])) as conflict_fields,  -- noqa: LT01
        merged.updated_at,
        {{ logical_date() }} as built_for_date

    from merged
    left join conflicts on merged.resident_id = conflicts.resident_id
    left join divisions on merged.division_code = divisions.division_code

)

select * from final
