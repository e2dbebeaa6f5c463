{#
    Check-character rules of Chinese identifiers as inline SQL (PostgreSQL), so that validation runs where
    the data is. python-stdnum (stdnum.cn.ric, stdnum.cn.uscc) is the reference; tests/transform/
    test_identifier_checks.py runs these expressions in the warehouse against stdnum on thousands of
    generated valid and corrupted values.

    Both expect the canonical form (no blanks, upper-case letters), which the staging models produce;
    both return NULL for NULL (completeness is a separate rule) and never raise, whatever the input.
    The same expressions exist as SQL functions reference.is_valid_resident_id(text) and
    reference.is_valid_credit_code(text) (macros/validity_functions.sql). The expanded SQL for a column
    `x`, ready to copy, is in macros/_macros.yml.
#}

{#- GB 11643 resident ID: weights 2^(17-i) mod 11 for positions 1..17 (ISO 7064 MOD 11-2). -#}
{% macro is_valid_resident_id(col) -%}
    {%- set weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] -%}
    {%- set year = "substr(" ~ col ~ ", 7, 4)::int" -%}
    (case
        when {{ col }} is null then null
        when {{ col }} !~ '^[0-9]{17}[0-9X]$' then false
        when substr({{ col }}, 11, 2)::int not between 1 and 12 then false
        when {{ year }} < 1 then false
        when substr({{ col }}, 13, 2)::int not between 1 and (case
            when substr({{ col }}, 11, 2) in ('04', '06', '09', '11') then 30
            when substr({{ col }}, 11, 2) <> '02' then 31
            when {{ year }} % 4 = 0 and ({{ year }} % 100 <> 0 or {{ year }} % 400 = 0) then 29
            else 28
        end) then false
        else substr('10X98765432', (
            {%- for w in weights %}{% if not loop.first %} + {% endif %}substr({{ col }}, {{ loop.index }}, 1)::int * {{ w }}{% endfor -%}
        ) % 11 + 1, 1) = substr({{ col }}, 18, 1)
    end)
{%- endmacro %}

{#- GB 32100 unified social credit code: alphabet of 31 characters (no I, O, S, V, Z), weights 3^(i-1) mod 31. -#}
{% macro is_valid_credit_code(col) -%}
    {%- set alphabet = '0123456789ABCDEFGHJKLMNPQRTUWXY' -%}
    {%- set weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] -%}
    (case
        when {{ col }} is null then null
        when {{ col }} !~ '^[0-9]{8}[0-9A-HJ-NPQRTUWXY]{10}$' then false
        else substr('{{ alphabet }}', (31 - (
            {%- for w in weights %}{% if not loop.first %} + {% endif %}(strpos('{{ alphabet }}', substr({{ col }}, {{ loop.index }}, 1)) - 1) * {{ w }}{% endfor -%}
        ) % 31) % 31 + 1, 1) = substr({{ col }}, 18, 1)
    end)
{%- endmacro %}
