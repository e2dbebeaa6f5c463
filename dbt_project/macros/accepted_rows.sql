{#
    The rows of a staging relation that may reach a library as of the logical date: delivered on or
    before it, in a batch the staging gate passed (stg_platform__accepted_batches: a held batch stays out
    whole), and not quarantined themselves. Every intermediate model starts from this, so "accepted"
    means one thing everywhere; the models then rank the versions per key the way their source needs.

    not_null: key columns a version must carry to be ranked (a row without its key cannot be placed).
#}
{% macro accepted_rows(relation, not_null=[]) -%}
    select candidate.*
    from {{ relation }} as candidate
    where candidate._logical_date <= {{ logical_date() }}
        {%- for column in not_null %}
        and candidate.{{ column }} is not null
        {%- endfor %}
        and candidate._batch_id in (
            select accepted.batch_id from {{ ref('stg_platform__accepted_batches') }} as accepted
        )
        and not exists (
            select 1
            from {{ ref('stg_platform__quarantined_rows') }} as quarantined
            where quarantined._batch_id = candidate._batch_id
                and quarantined._source_row = candidate._source_row
        )
{%- endmacro %}
