-- History of the population library (人口基础库, SCD2): one row per person x version; the current version
-- has dbt_valid_to NULL, dbt_valid_from/dbt_valid_to are logical dates (macros/snapshot_time.sql). A new
-- version when one of var('history_check_columns') changed (built_for_date, updated_at and the stamps
-- change without the facts changing); a person who leaves the library has their last version closed.
-- The same table, columns and versions a dbt snapshot (strategy check, hard_deletes invalidate) records:
-- until session 16 it was one. It is a model because a snapshot compares the whole library with the whole
-- history every day (147 s for 22.9 k new versions at 10 M persons); this reads only the persons the
-- population build recomputed since the newest version recorded here (population's _built_at) and those a
-- source changed (macros/change_stamps.sql), and merges their closed and new versions on dbt_scd_id.
-- When no person of the library is older than that (a full rebuild), every open version is compared.
-- Never rebuilt from scratch (full_refresh false): history is what was published, not what can be derived.
-- Run after the library gate passed, before publishing (govlake.transform.snapshot_history), which first
-- takes back what a re-run date recorded.
{%- for department, model in population_sources().items() %}
-- depends_on: {{ ref(model) }}
{%- endfor %}
-- depends_on: {{ ref('int_divisions_rolled_up') }}
{{
    config(
        materialized='incremental',
        unique_key='dbt_scd_id',
        incremental_strategy='merge',
        merge_update_columns=['dbt_valid_to'],
        on_schema_change='append_new_columns',
        full_refresh=false,
        post_hook=[
            "{{ history_index('dbt_scd_id', unique=true) }}",
            "{{ history_index('resident_id', where='dbt_valid_to is null') }}",
            "{{ history_index('_built_at') }}",
            "{{ history_index('dbt_valid_from') }}",
            "{{ history_index('dbt_valid_to') }}",
        ],
    )
}}
{%- set population = ref('population') %}
{%- set check_columns = var('history_check_columns')['population'] %}
{%- set library_columns = history_columns(population) %}
{%- set since = none %}
{%- set whole = false %}
{%- set recorded_columns = [] %}
{%- if execute and is_incremental() %}
    {%- set recorded_columns = history_columns(this) %}
    {%- set since = run_query(
        "select cast(coalesce(max(_built_at), '-infinity') as text) from " ~ this
    ).columns[0].values()[0] %}
    {%- set whole = run_query(
        "select not exists (select from " ~ population ~ " where _built_at <= cast('" ~ since ~ "' as timestamptz))"
    ).columns[0].values()[0] %}
{%- endif %}
with

{%- if since is none %}

    new_versions as (

        select population.*
        from {{ population }} as population

    ),
{%- else %}

{%- if whole %}

-- A full rebuild of the library restamped every person: who changed or left is known only by comparing
-- every open version with every row. Both sides stay plain table reads (not materialised CTEs of
-- candidates), so the planner joins the two tables in one pass (a hash join, 36.9 s at 10 M): the
-- candidates form probed each index once per person (10 M probes a side at 10 M persons, and sorts
-- spilled to disk) because a CTE's distinct count is a guess of 200.
open_versions as not materialized (

    select history.*
    from {{ this }} as history
    where history.dbt_valid_to is null

),

current_rows as not materialized (

    select population.*
    from {{ population }} as population

),
{%- else %}

candidates as materialized (

    -- recomputed since the newest version recorded here
    select population.resident_id
    from {{ population }} as population
    where population._built_at > cast('{{ since }}' as timestamptz)
    union
    -- whose row in some source changed (who left the library is among them)
    {{ population_changes({'built_at': since}) }}

),

open_versions as materialized (

    select history.*
    from {{ this }} as history
    where
        history.dbt_valid_to is null
        and history.resident_id in (select candidates.resident_id from candidates)

),

current_rows as materialized (

    select population.*
    from {{ population }} as population
    where population.resident_id in (select candidates.resident_id from candidates)

),
{%- endif %}

new_versions as (

    select current_rows.*
    from current_rows
    left join open_versions on current_rows.resident_id = open_versions.resident_id
    where
        open_versions.resident_id is null
        or not (
            {%- for column in check_columns %}
                current_rows.{{ column }} is not distinct from open_versions.{{ column }}
                {%- if not loop.last %} and{% endif %}
            {%- endfor %}
        )

),

closed_versions as (

    -- the open versions of persons with a new version, and of those with no row in the library any more
    -- (a semi-join and an anti-join: NOT IN over a set the planner took for too big to hash re-read that
    -- set for every open version — minutes at 1 M persons)
    select open_versions.*
    from open_versions
    where exists (select from new_versions where new_versions.resident_id = open_versions.resident_id)

    union all

    select open_versions.*
    from open_versions
    where not exists (select from current_rows where current_rows.resident_id = open_versions.resident_id)

),
{%- endif %}

stamped as (

    select
        {%- for column in library_columns %}
            new_versions.{{ column }},
        {%- endfor %}
        md5(concat(new_versions.resident_id, '|', {{ snapshot_time() }})) as dbt_scd_id,
        {{ snapshot_time() }} as dbt_updated_at,
        {{ snapshot_time() }} as dbt_valid_from,
        cast(null as timestamp) as dbt_valid_to
    from new_versions
    {%- if since is not none %}

        union all

        select
        {%- for column in library_columns %}
            {{ 'closed_versions.' ~ column if column in recorded_columns else 'null' }} as {{ column }},
        {%- endfor %}
        closed_versions.dbt_scd_id,
        closed_versions.dbt_updated_at,
        closed_versions.dbt_valid_from,
        {{ snapshot_time() }} as dbt_valid_to
    from closed_versions
    {%- endif %}

)

select * from stamped
