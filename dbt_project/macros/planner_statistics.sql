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
