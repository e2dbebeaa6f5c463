{#
    The cycle's logical date as a SQL date literal: `--vars '{logical_date: YYYY-MM-DD}'`, or the environment
    variable GOVLAKE_LOGICAL_DATE. govlake.transform.run_dbt sets the variable: a new --vars value makes dbt
    parse the whole project again (~1.5 s a run here). The variable is read only when models execute: dbt
    re-parses every file that read an environment variable at parse time once its value changes (~1 s a
    run, 21 files), and nothing at parse time needs the date. A var wins (unit tests set it with
    `overrides: vars:`).

    Nothing that lands in data may depend on the wall clock, so there is no default: building models
    without either fails with a message saying how to pass it. parse/compile/docs render a placeholder.
#}
{% macro logical_date_string() -%}
    {{ return(var('logical_date', none) or (env_var('GOVLAKE_LOGICAL_DATE', '') if execute else '')) }}
{%- endmacro %}

{% macro logical_date() -%}
    {%- set value = logical_date_string() -%}
    {%- if value is none or value == '' -%}
        {%- if execute and flags.WHICH in ('run', 'build') -%}
            {{ exceptions.raise_compiler_error(
                "the logical date is not set: pass --vars '{logical_date: YYYY-MM-DD}' or set "
                ~ "GOVLAKE_LOGICAL_DATE (govlake.transform.run_dbt does this for you)") }}
        {%- endif -%}
        {%- set value = '1970-01-01' -%}
    {%- endif -%}
    {%- if modules.re.match('^\\d{4}-\\d{2}-\\d{2}$', value | string) is none -%}
        {{ exceptions.raise_compiler_error("var 'logical_date' must be YYYY-MM-DD, got " ~ value) }}
    {%- endif -%}
    cast('{{ value }}' as date)
{%- endmacro %}
