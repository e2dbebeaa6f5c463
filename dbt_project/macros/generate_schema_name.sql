{#
    Custom schemas are used verbatim: `+schema: audit` builds into `audit`, not `<target>_audit`.
    The layer schemas are a contract between stages (docs/ARCHITECTURE.md), so they must not depend on
    who runs dbt.

    GOVLAKE_DBT_SCHEMA_PREFIX (empty by default) prefixes every schema; integration tests set it so
    that they build into throw-away schemas of the shared warehouse (e.g. `t_1234_audit`).
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set prefix = env_var('GOVLAKE_DBT_SCHEMA_PREFIX', '') | trim -%}
    {%- if custom_schema_name is none -%}
        {{ prefix }}{{ target.schema | trim }}
    {%- else -%}
        {{ prefix }}{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
