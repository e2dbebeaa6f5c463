{#-
    The model is a list of problems (e.g. division_discrepancies): the test fails with every row, whose
    `message` column says what is wrong and what to do.
-#}
{% test has_no_rows(model) %}
    select * from {{ model }}
{% endtest %}
