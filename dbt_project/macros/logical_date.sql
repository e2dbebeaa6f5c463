{#
    The cycle's logical date as a SQL date literal, from `--vars '{logical_date: YYYY-MM-DD}'`.

    Nothing that lands in data may depend on the wall clock, so there is no default: building models
    without the variable fails with a message saying how to pass it. Unit tests set it with
    `overrides: vars:`; parse/compile/docs render a placeholder.
#}
{% macro logical_date() -%}
    {%- set value = var('logical_date', none) -%}
    {%- if value is none or value == '' -%}
        {%- if execute and flags.WHICH in ('run', 'build') -%}
            {{ exceptions.raise_compiler_error(
                "var 'logical_date' is not set: pass --vars '{logical_date: YYYY-MM-DD}' "
                ~ "(govlake.transform.run_dbt does this for you)") }}
        {%- endif -%}
        {%- set value = '1970-01-01' -%}
    {%- endif -%}
    {%- if modules.re.match('^\\d{4}-\\d{2}-\\d{2}$', value | string) is none -%}
        {{ exceptions.raise_compiler_error("var 'logical_date' must be YYYY-MM-DD, got " ~ value) }}
    {%- endif -%}
    cast('{{ value }}' as date)
{%- endmacro %}
