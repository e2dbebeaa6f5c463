{#- 10-year age band label at a date ('0-9', ..., '80+'), the bands the themes report in. -#}
{% macro age_band(birth_date_col, at_date) -%}
    (case
        when {{ birth_date_col }} is null then '未知'
        when date_part('year', age({{ at_date }}, {{ birth_date_col }})) >= 80 then '80+'
        else (floor(date_part('year', age({{ at_date }}, {{ birth_date_col }})) / 10) * 10)::int || '-'
            || ((floor(date_part('year', age({{ at_date }}, {{ birth_date_col }})) / 10) * 10)::int + 9)
    end)
{%- endmacro %}
