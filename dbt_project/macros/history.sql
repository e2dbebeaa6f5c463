{#
    Helpers of the history models (models/history/): SCD2 tables in schema `history` built incrementally
    (population_history) beside the dbt snapshots (snapshots/).
#}

{#- The columns a history model carries over from the library it records: every column of `relation`
    (none of dbt's own dbt_* columns). Without a database (sqlfluff's lint, parsing) the key only. -#}
{% macro history_columns(relation) -%}
    {%- if not execute -%}
        {{ return(['resident_id']) }}
    {%- endif -%}
    {%- set names = [] -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- if not column.name.startswith('dbt_') -%}
            {%- do names.append(column.name) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}

{#- An index on the history table `this`, created when missing (a post-hook): a table the former dbt snapshot
    created has none, and a new one gets them on its first build. The daily run finds the candidates' open
    versions, the newest recorded stamp and the merge key by them; govlake.transform.snapshot_history takes a
    re-run date back by dbt_valid_from and dbt_valid_to. -#}
{% macro history_index(column, unique=false, where=none) -%}
    create {{ 'unique ' if unique }}index if not exists {{ this.identifier }}__{{ column }}{{ '_open' if where }}_idx
        on {{ this }} ({{ column }}){% if where %} where {{ where }}{% endif %}
{%- endmacro %}
