{#
    The newest accepted version of each key of a staging relation, built incrementally: the CTEs of an
    incremental model (delete+insert on `key`) whose table holds one row per key, tombstones included
    (int_persons_versioned, int_subsidy_payments_versioned). Renders `accepted`, `newest` and `versions`
    (a first build: every accepted row ranked) or, in an incremental build since `last` (a last_table_build()
    record), `delivered`, `revalidated`, `accepted`, `newest` and `versions`, without the leading `with`;
    the model selects its columns from `versions`.

    A daily run re-ranks only the keys with accepted rows of a later date than the last build — their new
    rows against the version this table holds, which already beat their older history — and, over their
    whole accepted history, the keys in a batch of an earlier date validated again since the last build
    (whether their rows are accepted may have changed) and those whose held version came from such a batch
    (a re-delivery may have withdrawn it; a key left with no accepted row becomes a tombstone).

    `columns`: the columns a version carries, `key`, `_deleted` and the lineage (`_batch_id`, `_logical_date`,
    `_source_row`) among them. "Newest" is newest_version()'s rule with `changed_at`. `not_null`: the
    columns a version must carry to be ranked (accepted_rows(); the key always).
#}
{% macro incremental_versions_ctes(relation, key, columns, changed_at, last, not_null=[]) -%}
{%- set not_null = [key] + (not_null | reject('equalto', key) | list) %}
{%- if last is none %}

accepted as (

    {{ accepted_rows(relation, not_null=not_null) }}

),
{%- else %}

delivered as materialized (

    -- accepted rows of the dates after the last build (the logical-date index finds them)
    {{ accepted_rows(relation, not_null=not_null) }}
        and candidate._logical_date > cast('{{ last.built_for_date }}' as date)

),

revalidated as materialized (

    -- keys in a batch of the last build's dates or earlier that was validated again since (a held batch's
    -- corrected re-delivery, a re-run): which of their rows are accepted may have changed
    {{ rows_revalidated_since(relation, last, [key]) }}
    union
    -- and the keys whose version held here came from such a batch: its re-delivery may have left them out
    -- (the batch is read only when one was validated since: usually no scan at all)
    select held.{{ key }}
    from {{ this }} as held
    where (held._logical_date, held._batch_id) in ({{ batches_revalidated_since(last) }})

),

accepted as (

    -- a key with new rows only: the newest of those and the version this table holds (the history before
    -- it cannot win); a revalidated key: the whole accepted history again
    select {{ columns | join(', ') }} from delivered
    where not exists (select 1 from revalidated where revalidated.{{ key }} = delivered.{{ key }})
    union all
    select {{ columns | join(', ') }} from {{ this }} as held
    where
        held.{{ key }} in (select delivered.{{ key }} from delivered)
        and not exists (select 1 from revalidated where revalidated.{{ key }} = held.{{ key }})
    union all
    select {% for column in columns %}candidate.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %}
    from ({{ accepted_rows(relation, not_null=not_null) }}) as candidate
    where
        -- a one-time filter: on a day nothing was revalidated the history is not read at all (joined to
        -- an empty set, the plan still scanned it once per accepted batch)
        exists (select 1 from revalidated)
        and candidate.{{ key }} in (select revalidated.{{ key }} from revalidated)

),
{%- endif %}

newest as (

    {{ newest_version('accepted', [key], changed_at=changed_at) }}

),

versions as (

    select {{ columns | join(', ') }}
    from newest
    {%- if last is not none %}

    union all

    -- a revalidated key with no accepted row left (a re-delivery withdrew every version): a tombstone
    -- replaces the version held, and the readers of the stamps recompute what it fed
    select
    {%- for column in columns %}
        {% if column == '_deleted' %}true as _deleted{% else %}held.{{ column }}{% endif %}
        {%- if not loop.last %},{% endif %}
    {%- endfor %}
    from {{ this }} as held
    where
        held.{{ key }} in (select revalidated.{{ key }} from revalidated)
        and held._deleted is not true
        and not exists (select 1 from newest where newest.{{ key }} = held.{{ key }})
    {%- endif %}

)
{%- endmacro %}

{#- The rows of such a model whose records belong to a person: the `versions` CTE's `columns`, stamped,
    with `previous` — the person column `person` of the version this table held until this build, when the
    build changed it (a correction moved the record to someone else): the person-grain reader recomputes
    them too (restamped_persons(), macros/change_stamps.sql). -#}
{% macro versioned_records_select(columns, key, person, previous, last) -%}
select
    {%- for column in columns %}
    versions.{{ column }},
    {%- endfor %}
    {%- if last is not none %}
    case
        when held.{{ person }} is distinct from versions.{{ person }} then held.{{ person }}
    end as {{ previous }},
    {%- else %}
    cast(null as text) as {{ previous }},
    {%- endif %}
    {{ logical_date() }} as _built_for_date,
    {{ build_started_at() }} as _built_at
from versions
{%- if last is not none %}
left join {{ this }} as held on versions.{{ key }} = held.{{ key }}
{%- endif %}
{%- endmacro %}
