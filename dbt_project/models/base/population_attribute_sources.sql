-- The population tie-break table as data, for analysts and the docs site: rendered from var
-- population_attributes in dbt_project.yml, the same table the population model is built from.
-- Grain: one row per attribute x source (rank 1 = most authoritative).
{%- set rows = [] %}
{%- for attribute, spec in population_attributes().items() %}
    {%- for source in spec['sources'] %}
        {%- do rows.append((attribute, loop.index, source, spec['data_type'], spec['rule'])) %}
    {%- endfor %}
{%- endfor %}
with

rules as (

    select * from (
        values
        {% for attribute, rank, source, data_type, rule in rows %}
            ('{{ attribute }}', {{ rank }}, '{{ source }}', '{{ data_type }}', $rule${{ rule }}$rule$)
            {%- if not loop.last %},{% endif %}
        {% endfor %}
    ) as rule_rows (attribute, source_rank, source, data_type, rule)

)

select
    attribute || ':' || source as rule_id,
    attribute,
    cast(source_rank as integer) as source_rank,
    source,
    data_type,
    rule
from rules
