{#
    Fresh planner statistics for a table as soon as a build has changed enough of it (a post-hook of every
    table and incremental model, dbt_project.yml).

    The next model reads a table within seconds, long before autovacuum would analyse it, and row estimates
    of 1 % of the truth made the planner pick nested loops and sorts for the population merge. But analysing
    a million-row table takes ~0.2 s, wasted on a daily incremental build that changed 1 % of it. So the
    table is analysed under autovacuum's own rule, applied at once: never analysed, or more rows changed since
    the last analyse (committed, plus this build's transaction) than 50 + 10 % of its rows
    (autovacuum_analyze_threshold, autovacuum_analyze_scale_factor at their defaults).
#}
{% macro analyze_if_stale() -%}
    {%- if execute %}
do $analyze$
begin
    if exists (
        select
        from pg_class as relation
        where
            relation.oid = '{{ this }}'::regclass
            and (
                coalesce(pg_stat_get_last_analyze_time(relation.oid), pg_stat_get_last_autoanalyze_time(relation.oid))
                is null
                or pg_stat_get_mod_since_analyze(relation.oid)
                + pg_stat_get_xact_tuples_inserted(relation.oid)
                + pg_stat_get_xact_tuples_updated(relation.oid)
                + pg_stat_get_xact_tuples_deleted(relation.oid)
                > 50 + 0.1 * greatest(relation.reltuples, 0)
            )
    ) then
        analyze {{ this }};
    end if;
end
$analyze$
    {%- endif %}
{%- endmacro %}

{#
    Fresh planner statistics for the sources a build reads (an on-run-start hook, dbt_project.yml): every
    raw and platform table changed since it was last analysed.

    The rule above is the wrong one for sources. A daily delivery adds 0.2 % of a raw table's rows, far
    under autovacuum's 10 %, but they are all of a logical date the statistics have never seen, and the
    incremental models read exactly those rows: with the date outside the statistics PostgreSQL estimated
    1 row where 2,108 came, chose a nested loop over the quarantine, and int_persons_versioned's daily
    build of 2 k persons took 133 s at `large`. Analysing samples 30 k rows whatever the table's size
    (~0.2 s at a million rows).
#}
{% macro analyze_stale_sources() -%}
    {%- if execute %}
        {%- set tables = [] %}
        {%- for source in graph.get('sources', {}).values() if source.source_name in ('raw', 'platform') %}
            {%- do tables.append(source.schema ~ '.' ~ source.identifier) %}
        {%- endfor %}
do $analyze$
declare
    stale regclass;
begin
    for stale in
        select relation.oid::regclass
        from unnest(array[{% for table in tables %}'{{ table }}'{{ ', ' if not loop.last }}{% endfor %}]::text[])
            as named (name)
        inner join pg_class as relation on relation.oid = to_regclass(named.name)
        where
            relation.relkind in ('r', 'p')
            and (
                pg_stat_get_mod_since_analyze(relation.oid) > 0
                or coalesce(
                    pg_stat_get_last_analyze_time(relation.oid), pg_stat_get_last_autoanalyze_time(relation.oid)
                ) is null
            )
    loop
        execute format('analyze %s', stale);
    end loop;
end
$analyze$
    {%- endif %}
{%- endmacro %}
