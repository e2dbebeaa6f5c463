{#
    What an incremental build needs to know about the previous one, kept in platform.table_builds.

    A table built incrementally has rows of several builds, so "which date is this table built for" is a
    fact about the table, not about a row: record_table_build() (a post-hook of every incremental model)
    upserts it under the table's OID. The OID stays with the physical table when publishing moves it
    between audit and base (publish/swap.py), so the record describes those rows wherever they are.

    build_started_at(): when this dbt invocation started (one instant for every model of the build). Rows a
    build (re)computes carry it as _built_at; the next build takes everything that changed since.
    last_table_build(): the record of `this` table ({built_for_date, built_at}), or none when the model is
    not built incrementally this time (first build, --full-refresh). A table without a record (built before
    records were kept) gets one that makes everything count as changed.
#}

{#- platform.table_builds, named directly rather than as a source: it is read and written by hooks and
    by Jinja at run time only, so no model depends on it for ordering (and unit tests need no fixture). -#}
{% macro table_builds_relation() -%}
    {{ return(api.Relation.create(database=target.database, schema='platform', identifier='table_builds')) }}
{%- endmacro %}

{% macro build_started_at() -%}
    {%- set started = run_started_at.isoformat() -%}
    cast('{{ started if run_started_at.tzinfo else started ~ "+00:00" }}' as timestamptz)
{%- endmacro %}

{% macro record_table_build() -%}
    {%- if execute %}
        delete from {{ table_builds_relation() }} as stale
        where not exists (select 1 from pg_class where pg_class.oid = stale.relation_oid);
        insert into {{ table_builds_relation() }} as builds
            (relation_oid, relation_name, built_for_date, built_at)
        values ('{{ this }}'::regclass::oid, '{{ this.schema }}.{{ this.identifier }}', {{ logical_date() }},
                {{ build_started_at() }})
        on conflict (relation_oid) do update
            set relation_name = excluded.relation_name,
                built_for_date = excluded.built_for_date,
                built_at = excluded.built_at,
                recorded_at = now(),
                published_at = null
    {%- endif %}
{%- endmacro %}

{% macro last_table_build() -%}
    {#- (`this` is none in a unit test, where the model is built as a first build) -#}
    {%- if not execute or this is none or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set found = run_query(
        "select built_for_date, built_at from " ~ table_builds_relation()
        ~ " where relation_oid = to_regclass('" ~ this ~ "')::oid") -%}
    {%- if found.rows | length == 0 -%}
        {#- built before records were kept: everything counts as changed -#}
        {{ return({'built_for_date': '0001-01-01', 'built_at': '-infinity'}) }}
    {%- endif -%}
    {%- set built_for_date = found.columns[0].values()[0] | string -%}
    {%- if built_for_date > logical_date_string() | string -%}
        {{ exceptions.raise_compiler_error(
            this ~ " holds a build for " ~ built_for_date ~ ", later than logical_date " ~ logical_date_string()
            ~ ": rebuild it with --full-refresh (govlake.transform.build_libraries(..., full_refresh=True))") }}
    {%- endif -%}
    {{ return({'built_for_date': built_for_date, 'built_at': found.columns[1].values()[0] | string}) }}
{%- endmacro %}

{#- The `columns` of the rows of `relation` in a batch of the last build's dates or earlier that was
    validated again since it started: which of them are accepted may have changed. One index lookup per
    such batch (usually none). -#}
{% macro rows_revalidated_since(relation, last, columns) -%}
    select {% for column in columns %}revalidated.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %}
    from {{ source('platform', 'batch_validations') }} as validated
    cross join lateral (
        select batch_rows.*
        from {{ relation }} as batch_rows
        where batch_rows._logical_date = validated.logical_date and batch_rows._batch_id = validated.batch_id
    ) as revalidated
    where {{ revalidated_since(last) }}
{%- endmacro %}

{#- The (logical_date, batch_id) of the batches rows_revalidated_since() reads: a table whose rows carry
    the lineage of the version it holds finds the keys such a batch may have withdrawn by it. -#}
{% macro batches_revalidated_since(last) -%}
    select validated.logical_date, validated.batch_id
    from {{ source('platform', 'batch_validations') }} as validated
    where {{ revalidated_since(last) }}
{%- endmacro %}

{% macro revalidated_since(last) -%}
    validated.validated_at >= cast('{{ last.built_at }}' as timestamptz)
        and validated.logical_date <= cast('{{ last.built_for_date }}' as date)
{%- endmacro %}
