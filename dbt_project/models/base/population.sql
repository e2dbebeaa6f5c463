-- 人口基础库: one golden record per person a member department registers (var population_members), with
-- what every department in var('population_sources') knows about them.
-- Grain: one row per person (resident_id).
--
-- Each attribute takes the first non-NULL value in its order of authority, from the tie-break table in
-- dbt_project.yml (var population_attributes; readable as the population_attribute_sources model). No
-- department is special-cased here: macros/population_merge.sql renders the coalesce from the table.
-- Disagreements are listed in conflict_fields (the same comparisons as population_conflicts, which
-- details them; computed here so the two models build side by side). Persons outside the
-- household registry (公安厅) but registered by another member are kept with in_household_registry = false.
--
-- Incremental: a daily build recomputes only the persons whose row in some source changed since the last
-- build (macros/change_stamps.sql); the pre-hook deletes their rows, the model appends their new ones.
-- Publishing swaps this table with base.population, so the next build starts from the published rows.
-- The _built_at index finds the persons a build recomputed for population's row-level tests
-- (_base__models.yml) and population_history.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ forget_changed_persons() }}",
        post_hook="{{ ensure_index('_built_at') }}",
    )
}}
{%- set sources = population_sources() %}
{%- set last = last_table_build() %}
with

{{ population_source_ctes(last) }}
known as (

    -- members only (var population_members): the other sources add attributes, never persons
    {% for department, condition in population_members().items() %}
        select resident_id from {{ department }}
        where {{ condition }}
        {% if not loop.last %}union{% endif %}
    {% endfor %}

),

divisions as (

    select * from {{ ref('int_divisions_rolled_up') }}
    where _deleted is not true

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

        ---------- the items on which departments disagree (detailed in population_conflicts)
        {{ population_conflict_fields() }} as conflict_fields,

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
        merged.conflict_fields,
        merged.updated_at,
        -- the build that last recomputed the person (the table's own date: platform.table_builds)
        {{ logical_date() }} as built_for_date,
        {{ build_started_at() }} as _built_at

    from merged
    left join divisions on merged.division_code = divisions.division_code

)

select * from final
