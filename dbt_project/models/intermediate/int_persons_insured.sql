-- What 人社厅 knows about each insured person, from their current enrollment records.
-- Grain: one row per resident_id (tombstones included: _deleted, see macros/change_stamps.sql).
-- Name, birth date and insurance place are taken from the most recently handled enrollment that has
-- them (updated_at, then logical date, then source row), with the batch/row they came from.
-- Incremental (delete+insert on resident_id): a daily run recomputes only the persons of the enrollment
-- records int_enrollments_versioned (re)ranked since the last build, and the persons a correction moved a
-- record away from. A person left with no current enrollment stays as a tombstone (_deleted), so the
-- population merge sees them go. When those stamps cannot tell every change (the records were rebuilt
-- whole, or built more than once since), every person is recomputed and only the rows that differ from
-- those held are written.
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
{%- set versioned = ref('int_enrollments_versioned') %}
{%- set compare_all = last is not none and stamps_miss_changes(versioned, last) %}
{%- set held_columns = [
    'name', 'birth_date', 'division_code', 'insurance_types', 'enrollment_count', 'first_enrolled_on', '_batch_id',
    '_source_row', 'updated_at',
] %}
{%- set affected_only = 'resident_id in (select affected.resident_id from affected)'
    if last is not none and not compare_all else 'true' %}
with

{%- if last is not none and not compare_all %}

affected as materialized (

    {{ restamped_persons(versioned, last, 'resident_id', '_previous_resident_id') }}

),
{%- endif %}

enrollments as (

    select * from {{ ref('int_enrollments_deduplicated') }}
    where {{ affected_only }}

),

aggregated as (

    select
        resident_id,

        ---------- person as 人社厅 knows them
        (
            array_agg(name order by updated_at desc nulls last, _logical_date desc, _source_row desc)
            filter (where name is not null)
        )[1] as name,
        (
            array_agg(birth_date order by updated_at desc nulls last, _logical_date desc, _source_row desc)
            filter (where birth_date is not null)
        )[1] as birth_date,
        (
            array_agg(division_code order by updated_at desc nulls last, _logical_date desc, _source_row desc)
            filter (where division_code is not null)
        )[1] as division_code,

        ---------- insurance
        coalesce(
            array_agg(distinct insurance_type collate "C" order by insurance_type collate "C")
            filter (where insurance_type is not null),
            -- sqlfluff 3.4 reads the array type text[] as `text` and a subscript
            cast(array[] as text[])  -- noqa: LT01
        ) as insurance_types,
        count(*) as enrollment_count,
        min(enrollment_date) as first_enrolled_on,

        ---------- lineage of the newest record
        (
            array_agg(_batch_id order by updated_at desc nulls last, _logical_date desc, _source_row desc)
        )[1] as _batch_id,
        (
            array_agg(_source_row order by updated_at desc nulls last, _logical_date desc, _source_row desc)
        )[1] as _source_row,
        max(updated_at) as updated_at

    from enrollments
    group by resident_id

)

{{ recomputed_persons('aggregated', held_columns, [
    'null as name', 'null as birth_date', 'null as division_code',
    'cast(array[] as text[]) as insurance_types',
    '0 as enrollment_count', 'null as first_enrolled_on', 'null as _batch_id', 'null as _source_row',
    'null as updated_at',
], last, compare_all) }}
