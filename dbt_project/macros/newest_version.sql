{#
    The newest version of each key among a relation's rows (usually accepted_rows() of a staging model):
    the rows ranked per key, newest first, and the first kept. "Newest" is the same rule everywhere, so it
    lives here: the source's change time when it has one (changed_at, NULLs last), then the later logical
    date, then the later row of the file (a department that sends two versions in one file sends the newer
    one last), then the batch id (two batches of one logical date: a re-delivery). A model whose versions
    need another order passes order_by (a list of SQL order items) instead.

    Renders a SELECT of the relation's columns plus `_version_rank` (always 1); tombstones (_deleted) are
    kept, the caller decides what they mean.
#}
{% macro newest_version(relation, keys, changed_at=none, order_by=none) -%}
    {%- if order_by is none -%}
        {%- set order_by = ([changed_at ~ ' desc nulls last'] if changed_at else [])
            + ['_logical_date desc', '_source_row desc', '_batch_id desc'] -%}
    {%- endif -%}
    select ranked.*
    from (
        select
            versions.*,
            row_number() over (
                partition by {{ keys | join(', ') }}
                order by {{ order_by | join(', ') }}
            ) as _version_rank
        from {{ relation }} as versions
    ) as ranked
    where ranked._version_rank = 1
{%- endmacro %}
