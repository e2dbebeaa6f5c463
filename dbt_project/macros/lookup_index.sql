{#
    An index on a raw table over a staging column's expression, for the lookups other departments' rules
    make into it: a validation rule reads "the other department's latest row of these keys" through the
    staging view (include/govlake/quality/sql.py, latest_clean_rows), and without an index on exactly the
    view's expression every such rule read all of that department's history — 公安厅's 10 M rows for a
    day's 90 k 财政厅 payments: ~90 s a department at 10 M persons. The expression is written in the staging
    model beside the column it computes, so the two cannot drift apart unseen.

    Use as a post-hook of the staging model. Built once (the first staging build after the table's first
    load); later builds find it and take no lock on the table.
#}
{% macro lookup_index(raw_table, name, expression) -%}
    do $lookup_index$
    begin
        if to_regclass('raw.{{ raw_table }}__{{ name }}_idx') is null then
            create index {{ raw_table }}__{{ name }}_idx on raw.{{ raw_table }} (({{ expression }}));
        end if;
    end
    $lookup_index$
{%- endmacro %}
