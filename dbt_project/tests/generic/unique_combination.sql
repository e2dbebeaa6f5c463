{#- Composite keys: rows whose combination of `columns` occurs more than once (no dbt_utils dependency). -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
