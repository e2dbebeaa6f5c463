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
    {%- set order_by = newest_first(changed_at, order_by) -%}
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

{#
    The newest version of each key, cited by its first delivery: for a source that re-delivers what it
    sent before (卫健委's workbook carries a rolling year of certificates every day), the newest version's
    content with the lineage (_batch_id, _logical_date, _source_row) of the oldest delivery in the unbroken
    run of identical versions that ends with the newest — the batch that first said what is still said.
    A row then changes only when its content does, so the incremental population merge recomputes the
    persons whose facts changed, not every person the workbook mentions again (a full rebuild and an
    incremental build cite the same delivery). A version A, then B, then A again cites the third delivery.

    `content` lists the columns that make a version (lineage excluded; _deleted is always one of them).
    Renders a SELECT of the relation's columns plus helper columns (`_content_hash`, ...): select the
    columns you need.
#}
{% macro newest_version_first_delivered(relation, keys, content, changed_at=none, order_by=none) -%}
    {%- set order_by = newest_first(changed_at, order_by) -%}
    select runs.*
    from (
        select
            hashed.*,
            -- every version from the newest down to this one has the same content
            min(hashed._content_hash) over newest_first_so_far
            = max(hashed._content_hash) over newest_first_so_far as _in_newest_run,
            lead(hashed._content_hash, 1, '') over newest_first as _older_content_hash
        from (
            select
                versions.*,
                md5(cast(row({{ (content + ['_deleted']) | join(', ') }}) as text)) as _content_hash
            from {{ relation }} as versions
        ) as hashed
        window
            newest_first as (
                partition by {{ keys | join(', ') }}
                order by {{ order_by | join(', ') }}
            ),
            newest_first_so_far as (newest_first rows between unbounded preceding and current row)
    ) as runs
    -- the run's oldest version: the next older one (if any) differs
    where runs._in_newest_run and runs._older_content_hash <> runs._content_hash
{%- endmacro %}

{#- The order items of "newest first" (above): `order_by` when given, else the rule. -#}
{% macro newest_first(changed_at=none, order_by=none) -%}
    {%- if order_by is not none -%}
        {{ return(order_by) }}
    {%- endif -%}
    {{ return(([changed_at ~ ' desc nulls last'] if changed_at else [])
        + ['_logical_date desc', '_source_row desc', '_batch_id desc']) }}
{%- endmacro %}
