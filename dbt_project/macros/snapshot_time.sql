{#
    Snapshots (history schema, SCD2) stamp dbt_valid_from/dbt_valid_to with the cycle's logical date
    rather than the wall clock: history must say "as published for 2026-11-27", and re-running a date must
    not invent a new version. dbt-postgres's default is now(); dispatch finds this root-project macro first.
    The history models (models/history/) stamp their versions with the same snapshot_time().
#}
{% macro postgres__snapshot_get_time() -%}
    {{ snapshot_time() }}
{%- endmacro %}

{% macro snapshot_time() -%}
    cast({{ logical_date() }} as timestamp without time zone)
{%- endmacro %}
