{#
    How the incremental population libraries find the persons to recompute.

    Every person-grain source of the merge (var population_sources) and int_divisions_rolled_up carry
    `_built_at` (when the build that last changed the row started) and `_deleted` (a tombstone: the key had
    a row and has none now). Readers skip tombstones; population and population_conflicts recompute
    exactly the persons whose row in some source has `_built_at` since their own last build.

    Large sources stamp rows by what was delivered (int_persons_versioned, int_persons_insured: only the
    persons with new rows are re-ranked). Small sources are rebuilt whole and stamped by comparison with
    their previous build, stamp_changes() below: a row keeps its stamp when its content (every column,
    lineage included) is unchanged. That makes any change visible, including ones that come from another
    department's data (卫健委's newborns are matched through 公安厅's households).
#}

{#- The rows of `relation` (a CTE with one row per `key`) with _row_hash, _built_at and _deleted, compared
    with the previous build of this table (none on the first build or with --full-refresh: all stamped
    now). A key that had a row and has none now stays as a tombstone. Use in a `table` model. -#}
{% macro stamp_changes(relation, key) -%}
    {%- set previous = none -%}
    {%- set previous_columns = [] -%}
    {%- if execute and not flags.FULL_REFRESH and this is not none -%}
        {%- set previous = load_relation(this) -%}
    {%- endif -%}
    {%- if previous is not none -%}
        {%- set previous_columns = adapter.get_columns_in_relation(previous) | map(attribute='name') | list -%}
        {%- if '_row_hash' not in previous_columns -%}
            {%- set previous = none -%}
        {%- endif -%}
    {%- endif -%}
    select
        hashed.*,
        {%- if previous is not none %}
            case
                when previous._row_hash = hashed._row_hash and not previous._deleted then previous._built_at
                else {{ build_started_at() }}
            end as _built_at,
        {%- else %}
            {{ build_started_at() }} as _built_at,
        {%- endif %}
        false as _deleted
    from (
        select
            stamped.*,
            md5(cast(stamped as text)) as _row_hash
        from {{ relation }} as stamped
    ) as hashed
    {%- if previous is not none %}
        left join {{ previous }} as previous on hashed.{{ key }} = previous.{{ key }}

    union all

    -- keys of the previous build without a row now: kept as tombstones for the incremental readers
    select
        {%- for column in previous_columns if column not in ('_built_at', '_deleted') %}
            previous.{{ column }},
        {%- endfor %}
        case when previous._deleted then previous._built_at else {{ build_started_at() }} end as _built_at,
        true as _deleted
    from {{ previous }} as previous
    where not exists (
        select 1 from {{ relation }} as now_rows
        where now_rows.{{ key }} = previous.{{ key }}
    )
    {%- endif %}
{%- endmacro %}

{#- The persons population and population_conflicts recompute in an incremental build since `last` (a
    last_table_build() record): whose row in some population source changed (tombstones included), and
    those placed in a division whose roll-up changed. Stamped after, not at, the last build's start: rows
    stamped by that same invocation are in it already. -#}
{% macro population_changes(last) -%}
    {%- set since = "cast('" ~ last.built_at ~ "' as timestamptz)" -%}
    {%- for department, model in population_sources().items() %}
        select resident_id from {{ ref(model) }}
        where _built_at > {{ since }}
        union
    {%- endfor %}
    {%- for department, _ in population_attribute_departments('division_code') %}
        select resident_id from {{ ref(population_sources()[department]) }}
        where division_code in (
            select division_code from {{ ref('int_divisions_rolled_up') }}
            where _built_at > {{ since }}
        )
        {% if not loop.last %}union{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- The first CTEs of population and population_conflicts: one per department of var population_sources,
    its rows of living (not tombstoned) persons. In an incremental build only the changed persons' rows
    (`changed`), read once and kept (materialized): each department is read twice (who is a member, what
    they know), and at 100 k changed persons of 10 M two passes of index probes cost a third more than one.
    A full build leaves them inlined, for the planner to scan and hash the tables whole. -#}
{% macro population_source_ctes(last) -%}
    {%- if last is not none %}
changed as materialized (
    {{ population_changes(last) }}
),

    {% endif %}
    {%- for department, model in population_sources().items() %}
{{ department }} as {{ 'materialized' if last is not none else 'not materialized' }} (
    select * from {{ ref(model) }}
    where _deleted is not true
    {%- if last is not none %}
        and resident_id in (select changed.resident_id from changed)
    {%- endif %}
),

    {% endfor %}
{%- endmacro %}

{#- Pre-hook of population and population_conflicts: in an incremental build, delete the rows of the
    persons about to be recomputed (the model then appends their new rows, if they still have any). -#}
{% macro forget_changed_persons() -%}
    {%- set last = last_table_build() -%}
    {%- if last is not none %}
        delete from {{ this }}
        where resident_id in ({{ population_changes(last) }})
    {%- endif %}
{%- endmacro %}

{#- True (at run time) when the stamps of `relation` (an incremental table stamping _built_at, read by an
    incremental model whose last build is `last`) cannot tell every change since: it was rebuilt whole since
    (its oldest stamp is later: a full refresh leaves no trace of the keys it dropped), or built more than
    once since (a row a later build stamped again no longer says what the earlier build changed), or does
    not exist yet (a compile before its first build). The reader then compares everything. Both from the
    _built_at index. -#}
{% macro stamps_miss_changes(relation, last) -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {#- not built yet (a compile before its first build): nothing to read the changes from -#}
    {%- if load_relation(relation) is none -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set since = "cast('" ~ last.built_at ~ "' as timestamptz)" -%}
    {%- set found = run_query(
        "select coalesce((select min(_built_at) from " ~ relation ~ ") > " ~ since ~ ", false)"
        ~ " or (select count(distinct _built_at) from " ~ relation ~ " where _built_at > " ~ since ~ ") > 1") -%}
    {{ return(found.columns[0].values()[0]) }}
{%- endmacro %}

{#- A post-hook: an index on `column` of `this` when it has none (a plain one-column b-tree), for an
    incremental table that was created before its model asked for it. Found by definition, not by name:
    publishing renames a table's indexes after their OIDs (publish/swap.py). -#}
{% macro ensure_index(column) -%}
    do $ensure_index$
    begin
        if not exists (
            select 1
            from pg_index as ix
            inner join pg_attribute as att on att.attrelid = ix.indrelid and att.attnum = ix.indkey[0]
            where ix.indrelid = '{{ this }}'::regclass and ix.indnatts = 1 and att.attname = '{{ column }}'
                and ix.indpred is null and ix.indexprs is null
        ) then
            execute 'create index on {{ this }} ({{ column }})';
        end if;
    end
    $ensure_index$
{%- endmacro %}

{#- The rows an incremental person-grain source (delete+insert on resident_id) writes: the recomputed persons'
    rows of `relation` (a CTE of the model's columns, one row per resident_id) stamped now, then — in an
    incremental build since `last` — a tombstone for each person recomputed with no row left: the
    `affected` CTE's persons, or with `compare_all` every living person held. With `compare_all`, only the
    rows that differ from those held in `held_columns` are written. `tombstone`: the SQL of the other
    columns of a tombstone, in the relation's order. -#}
{% macro recomputed_persons(relation, held_columns, tombstone, last, compare_all) -%}
select
    recomputed.*,
    false as _deleted,
    {{ build_started_at() }} as _built_at
from {{ relation }} as recomputed
{%- if compare_all %}
where not exists (
    select 1 from {{ this }} as held
    where
        held.resident_id = recomputed.resident_id
        and held._deleted is not true
        and ({% for column in held_columns %}held.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %})
        is not distinct from
        ({% for column in held_columns %}recomputed.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %})
)
{%- endif %}
{%- if last is not none %}

union all

-- persons without a row now (the affected ones; when comparing, everyone held): a tombstone replaces what
-- the table held for them
select
    gone.resident_id,
    {%- for column in tombstone %}
    {{ column }},
    {%- endfor %}
    true as _deleted,
    {{ build_started_at() }} as _built_at
{%- if compare_all %}
from {{ this }} as gone
where
    gone._deleted is not true
    and not exists (select 1 from {{ relation }} as now_rows where now_rows.resident_id = gone.resident_id)
{%- else %}
from affected as gone
where not exists (select 1 from {{ relation }} as now_rows where now_rows.resident_id = gone.resident_id)
{%- endif %}
{%- endif %}
{%- endmacro %}

{#- The persons an incremental person-grain source recomputes from a versioned table `relation` (one row per
    record, stamped _built_at, with the person column `person` and `previous`, the person the record belonged
    to before the build that last re-ranked it when that build changed it): every person of a record stamped
    after `last` (a last_table_build() record), under its new and its earlier resident ID. As `resident_id`. -#}
{% macro restamped_persons(relation, last, person, previous) -%}
    {%- set since = "cast('" ~ last.built_at ~ "' as timestamptz)" -%}
    select changed.{{ person }} as resident_id
    from {{ relation }} as changed
    where changed._built_at > {{ since }} and changed.{{ person }} is not null
    union
    select changed.{{ previous }}
    from {{ relation }} as changed
    where changed._built_at > {{ since }} and changed.{{ previous }} is not null
{%- endmacro %}
