{#
    dbt replaces a view by renaming the old one to `<name>__dbt_backup` and then dropping the backup with
    CASCADE, which also drops the (old) views built on it; the downstream models rebuild them later in the run.
    When two upstream views that share a dependent view are replaced by two threads at once, both cascaded drops
    try to lock that dependent view and its rewrite rule, in different orders, and PostgreSQL aborts one with
    "deadlock detected" (seen in CI on stg_platform__quarantined_rows, whose dependents also read
    stg_platform__accepted_batches).

    Every drop first takes one transaction-scoped advisory lock, so cascaded drops run one at a time. The drop is
    the first statement of its transaction (the materialization has just committed), so a waiter holds no other
    lock and cannot close a cycle; the lock goes away with the drop's own transaction.
#}
{% macro postgres__drop_relation(relation) -%}
    {% call statement('drop_relation', auto_begin=False) -%}
        select pg_advisory_xact_lock(hashtext('govlake.dbt.drop_relation'));
        {{ get_drop_sql(relation) }}
    {%- endcall %}
{% endmacro %}
