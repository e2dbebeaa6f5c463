-- Where departments disagree about a person. Grain: one row per person x item (conflict_id).
-- Kept visible rather than silently resolved: the population library adopts the value of the most
-- authoritative department (tie-break table, var population_attributes) and lists the item in
-- population.conflict_fields; this table keeps every department's value and the batch/row it came from,
-- for the department stewards to settle. Every attribute that two or more departments hold is compared,
-- among the departments its `compare` entry allows (var population_attributes).
-- An item is in conflict when at least two departments have a value and the values differ; a value
-- missing on one side is a gap, not a conflict.
--
-- One pass: each member is joined to every department once, and only the persons with a differing pair
-- of values go on to be unpivoted into claims and grouped (a few percent of the population), instead of
-- unpivoting and sorting every claim of every person.
--
-- Incremental like population: the persons whose row in some source changed since the last build are
-- recomputed (macros/change_stamps.sql).
-- depends_on: {{ ref('int_divisions_rolled_up') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ forget_changed_persons() }}",
    )
}}
{%- set sources = population_sources() %}
{%- set last = last_table_build() %}
{%- set claimed = [] %}{# (attribute, department, priority) for every compared value #}
{%- set differs = [] %}{# one "values differ" test per pair of departments comparing an attribute #}
{%- for attribute in population_attributes() %}
    {%- set attribute_differs = population_attribute_differs(attribute) %}
    {%- if attribute_differs %}
        {%- for department, priority in population_compared_departments(attribute) %}
            {%- do claimed.append((attribute, department, priority)) %}
        {%- endfor %}
        {%- do differs.extend(attribute_differs) %}
    {%- endif %}
{%- endfor %}
with

{{ population_source_ctes(last) }}
members as (

    -- the persons of the library (var population_members): no conflict rows for persons outside it
    {% for department, condition in population_members().items() %}
        select resident_id from {{ department }}
        where {{ condition }}
        {% if not loop.last %}union{% endif %}
    {% endfor %}

),

claims as (

    select
        members.resident_id,
        claim.field_name,
        claim.department,
        claim.priority,
        claim.claimed_value,
        claim._batch_id,
        claim._source_row
    from members
    {% for department in sources %}
        left join {{ department }} on {{ department }}.resident_id = members.resident_id
    {% endfor %}
    cross join
        lateral (
            values
            {%- for attribute, department, priority in claimed %}
                (
                    '{{ attribute }}',
                    '{{ department }}',
                    {{ priority }},
                    cast({{ department }}.{{ attribute }} as text),
                    {{ department }}._batch_id,
                    cast({{ department }}._source_row as bigint)
                ){% if not loop.last %},{% endif %}
            {%- endfor %}
        ) as claim (field_name, department, priority, claimed_value, _batch_id, _source_row)
    where
        claim.claimed_value is not null
        -- only persons with at least one item on which two departments' values differ
        and coalesce(
            {{ differs | join('\n            or ') }},
            false
        )

),

conflicts as (

    select
        resident_id || ':' || field_name as conflict_id,
        resident_id,
        field_name,
        (array_agg(claimed_value order by priority))[1] as adopted_value,
        (array_agg(department order by priority))[1] as adopted_from,
        array_agg(department order by priority) as departments,
        jsonb_object_agg(department, claimed_value) as department_values,
        jsonb_object_agg(
            department,
            jsonb_build_object('batch_id', _batch_id, 'source_row', _source_row)
        ) as evidence,
        {{ logical_date() }} as built_for_date,
        {{ build_started_at() }} as _built_at

    from claims
    group by resident_id, field_name
    having count(distinct claimed_value) > 1

)

select * from conflicts
