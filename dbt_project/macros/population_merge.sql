{#
    The population merge, driven by the tie-break table in dbt_project.yml (vars population_sources and
    population_attributes), so that the order of authority lives in one place and the model holds no
    department-specific CASEs. A unit test overrides the table to prove the order is what decides.

    population_attribute_value(attribute): coalesce over the attribute's sources in order, e.g.
        coalesce(public_security.birth_date, human_resources.birth_date, <birth date from the ID>)
    population_attribute_claims(attribute): one (department, value as text, priority, batch, row) row per
        department that holds the attribute, for a lateral join (population_conflicts).
    The department CTEs must be named after the department code and joined on resident_id.
#}

{% macro population_sources() -%}
    {{ return(var('population_sources')) }}
{%- endmacro %}

{% macro population_members() -%}
    {%- set members = var('population_members') -%}
    {%- for department in members if department not in population_sources() -%}
        {{ exceptions.raise_compiler_error(
            "population_members names '" ~ department ~ "', which is not in var population_sources ("
            ~ population_sources().keys() | join(', ') ~ ")") }}
    {%- endfor -%}
    {{ return(members) }}
{%- endmacro %}

{% macro population_attributes() -%}
    {{ return(var('population_attributes')) }}
{%- endmacro %}

{#- A value of the attribute derived from the resident ID itself (the last resort of the tie-break). -#}
{% macro attribute_from_resident_id(attribute, id_col) -%}
    {%- if attribute == 'gender' -%}
        (case
            when substr({{ id_col }}, 17, 1) in ('1', '3', '5', '7', '9') then '男'
            when substr({{ id_col }}, 17, 1) in ('0', '2', '4', '6', '8') then '女'
        end)
    {%- elif attribute == 'birth_date' -%}
        (case when {{ is_valid_resident_id(id_col) }} then to_date(substr({{ id_col }}, 7, 8), 'YYYYMMDD') end)
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "population_attributes." ~ attribute ~ ": the resident ID carries only gender and birth_date") }}
    {%- endif -%}
{%- endmacro %}

{% macro population_attribute_value(attribute, id_col='known.resident_id') -%}
    {%- set spec = population_attributes()[attribute] -%}
    {%- set terms = [] -%}
    {%- for source in spec['sources'] -%}
        {%- if source == 'resident_id' -%}
            {%- do terms.append(attribute_from_resident_id(attribute, id_col)) -%}
        {%- elif source in population_sources() -%}
            {%- do terms.append(source ~ '.' ~ attribute) -%}
        {%- else -%}
            {{ exceptions.raise_compiler_error(
                "population_attributes." ~ attribute ~ " names source '" ~ source
                ~ "', which is not in var population_sources (" ~ population_sources().keys() | join(', ')
                ~ "): add its person-grain model there or remove it from the tie-break table") }}
        {%- endif -%}
    {%- endfor -%}
    {%- if terms | length == 1 -%}
        cast({{ terms[0] }} as {{ spec['data_type'] }})
    {%- else -%}
        cast(coalesce({{ terms | join(', ') }}) as {{ spec['data_type'] }})
    {%- endif -%}
{%- endmacro %}

{#- Departments (not the ID) that can speak for an attribute, with their priority (1 = most authoritative). -#}
{% macro population_attribute_departments(attribute) -%}
    {%- set found = [] -%}
    {%- for source in population_attributes()[attribute]['sources'] -%}
        {%- if source != 'resident_id' -%}
            {%- do found.append((source, loop.index)) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{#- The departments whose values of the attribute are compared in population_conflicts, with their
    priority: all that hold it (compare absent or true), none (compare: false), or the listed ones
    (compare: [dept, ...], e.g. only the departments whose division means 户籍地). -#}
{% macro population_compared_departments(attribute) -%}
    {%- set compare = population_attributes()[attribute].get('compare', true) -%}
    {%- set held = population_attribute_departments(attribute) -%}
    {%- if compare is sameas false -%}
        {{ return([]) }}
    {%- elif compare is sameas true -%}
        {{ return(held) }}
    {%- endif -%}
    {%- set held_names = [] -%}
    {%- set kept = [] -%}
    {%- for department, priority in held -%}
        {%- do held_names.append(department) -%}
        {%- if department in compare -%}{%- do kept.append((department, priority)) -%}{%- endif -%}
    {%- endfor -%}
    {%- for department in compare -%}
        {%- if department not in held_names -%}
            {{ exceptions.raise_compiler_error(
                "population_attributes." ~ attribute ~ ".compare names '" ~ department
                ~ "', which is not one of its sources (" ~ held_names | join(', ')
                ~ "): compare lists departments whose values of the attribute are comparable") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(kept) }}
{%- endmacro %}

{#- "Departments disagree" tests for an attribute: one `a <> b` (as text) per pair of departments its
    values are compared between (population_compared_departments). NULL when a side has no value: a gap is
    not a conflict. population_conflicts details them; population lists the attributes in conflict_fields. -#}
{% macro population_attribute_differs(attribute) -%}
    {%- set departments = population_compared_departments(attribute) -%}
    {%- set tests = [] -%}
    {%- for department, _ in departments -%}
        {%- for other, _ in departments[loop.index:] -%}
            {%- do tests.append(
                'cast(' ~ department ~ '.' ~ attribute ~ ' as text) <> cast(' ~ other ~ '.' ~ attribute
                ~ ' as text)') -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(tests) }}
{%- endmacro %}

{#- The attributes on which the departments disagree, as a text[] sorted by name (C order), for the
    population library's conflict_fields: the items population_conflicts has rows for. -#}
{% macro population_conflict_fields() -%}
    {%- set items = [] -%}
    {%- for attribute in population_attributes() | sort -%}
        {%- set differs = population_attribute_differs(attribute) -%}
        {%- if differs -%}
            {%- do items.append(
                "case when coalesce(" ~ differs | join(' or ') ~ ", false) then '" ~ attribute ~ "' end") -%}
        {%- endif -%}
    {%- endfor -%}
    array_remove(array[{{ items | join(', ') }}]::text[], null)
{%- endmacro %}
