-- 公安厅's newest accepted version of each person as of the logical date, tombstones included (the
-- library view int_persons_registered drops them). Grain: one row per resident_id.
-- Incremental (delete+insert on resident_id, macros/incremental_versions.sql): a daily run re-ranks only
-- the persons with accepted rows of a later date than the last build, or in a batch validated again since;
-- a person a re-delivery left with no accepted row becomes a tombstone.
-- Rows come through accepted_rows(): quarantined rows and held batches are left out before versions are
-- ranked, so a person whose newest row was rejected keeps their last accepted version. Newest = latest
-- updated_at, then later logical date, then later source row (a department that sends two versions in
-- one file sends the newer one last).
-- Building an earlier date than the table holds needs a full refresh (the model says so and stops).
-- depends_on: {{ source('platform', 'batch_validations') }}
{{
    config(
        materialized='incremental',
        unique_key='resident_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['resident_id'], 'unique': true}, {'columns': ['_built_at']}],
    )
}}
{%- set last = last_table_build() %}
{%- set registrations = ref('stg_public_security__household_registrations') %}
{%- set columns = [
    'resident_id', 'name', 'gender', 'ethnicity', 'birth_date', 'division_code', 'address', 'household_id',
    'relation_to_head', 'status', 'death_date', 'updated_at', '_deleted', '_batch_id', '_logical_date',
    '_source_row',
] %}
with

{{ incremental_versions_ctes(registrations, 'resident_id', columns, 'updated_at', last) }}

select
    resident_id,
    name,
    -- GB/T 2261.1 codes 1/2 are accepted as well as 男/女
    case gender when '1' then '男' when '2' then '女' else gender end as gender,
    ethnicity,
    birth_date,
    division_code,
    address,
    household_id,
    relation_to_head,
    status,
    death_date,
    updated_at,
    _deleted,
    _batch_id,
    _logical_date,
    _source_row,
    {{ logical_date() }} as _built_for_date,
    -- when the build that re-ranked the person started: population and population_conflicts recompute
    -- the persons stamped since their own last build
    {{ build_started_at() }} as _built_at

from versions
