-- Where departments disagree about a person. Grain: one row per person x item (conflict_id).
-- Kept visible rather than silently resolved: the population library adopts the value of the most
-- authoritative department (tie-break table, var population_attributes) and lists the item in
-- population.conflict_fields; this table keeps every department's value and the batch/row it came from,
-- for the department stewards to settle. Every attribute that two or more departments hold is compared,
-- among the departments its `compare` entry allows (var population_attributes).
-- An item is in conflict when at least two departments have a value and the values differ; a value
-- missing on one side is a gap, not a conflict.
{%- set sources = population_sources() %}
{%- set compared = {} %}
{%- for attribute in population_attributes() %}
    {%- set departments = population_compared_departments(attribute) %}
    {%- if departments | length > 1 %}{% do compared.update({attribute: departments}) %}{% endif %}
{%- endfor %}
with

{% for department, model in sources.items() %}
{{ department }} as (

    select * from {{ ref(model) }}

),

{% endfor %}
claims as (

    {% for attribute, departments in compared.items() %}
    {% for department, priority in departments %}
    select
        resident_id,
        '{{ attribute }}' as field_name,
        '{{ department }}' as department,
        {{ priority }} as priority,
        cast({{ attribute }} as text) as claimed_value,
        _batch_id,
        cast(_source_row as bigint) as _source_row
    from {{ department }}
    where {{ attribute }} is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

members as (

    -- the persons of the library (var population_members): no conflict rows for persons outside it
    {% for department, condition in population_members().items() %}
    select resident_id from {{ department }} where {{ condition }}
    {% if not loop.last %}union{% endif %}
    {% endfor %}

),

disputed as (

    select claims.resident_id, claims.field_name
    from claims
    inner join members on members.resident_id = claims.resident_id
    group by claims.resident_id, claims.field_name
    having count(distinct claims.claimed_value) > 1

),

conflicts as (

    select
        claims.resident_id || ':' || claims.field_name as conflict_id,
        claims.resident_id,
        claims.field_name,
        (array_agg(claims.claimed_value order by claims.priority))[1] as adopted_value,
        (array_agg(claims.department order by claims.priority))[1] as adopted_from,
        array_agg(claims.department order by claims.priority) as departments,
        jsonb_object_agg(claims.department, claims.claimed_value) as department_values,
        jsonb_object_agg(
            claims.department,
            jsonb_build_object('batch_id', claims._batch_id, 'source_row', claims._source_row)
        ) as evidence,
        {{ logical_date() }} as built_for_date

    from claims
    inner join disputed
        on disputed.resident_id = claims.resident_id
        and disputed.field_name = claims.field_name
    group by claims.resident_id, claims.field_name

)

select * from conflicts
