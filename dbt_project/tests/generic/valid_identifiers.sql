{#- Rows whose value breaks the GB 11643 resident ID rule (NULLs are a completeness question, not this one). -#}
{% test valid_resident_id(model, column_name) %}
select {{ column_name }}
from {{ model }}
where not {{ is_valid_resident_id(column_name) }}
{% endtest %}

{#- Rows whose value breaks the GB 32100 unified social credit code rule (NULLs pass). -#}
{% test valid_credit_code(model, column_name) %}
select {{ column_name }}
from {{ model }}
where not {{ is_valid_credit_code(column_name) }}
{% endtest %}
