-- What 人社厅 knows about each insured person, from their current enrollment records.
-- Grain: one row per resident_id (tombstones included: _deleted, see macros/change_stamps.sql).
-- Name, birth date and insurance place are taken from the most recently handled enrollment that has
-- them (updated_at, then logical date, then source row), with the batch/row they came from.
-- Incremental (delete+insert on resident_id): a daily run recomputes only the persons named on an
-- enrollment record with a version delivered or validated since the last build — under its new and its
-- earlier resident IDs, so a record moved to another person leaves the first one too. A person left with
-- no current enrollment stays as a tombstone (_deleted), so the population merge sees them go. After a
-- re-delivery of an already built date (its withdrawn records are nowhere to be read) every person is
-- recomputed and only the rows that differ from those held are written.
-- depends_on: {{ source('platform', 'batch_validations') }},
-- {{ ref('stg_human_resources__social_insurance_enrollments') }}
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
{#- a re-delivery of an earlier date may have withdrawn records; they are nowhere to be read, so every
    person is recomputed and only those whose row differs from the one held are written -#}
{%- set compare_all = last is not none
    and batch_reloaded_since(last, 'human_resources__social_insurance_enrollment') %}
{%- set held_columns = [
    'name', 'birth_date', 'division_code', 'insurance_types', 'enrollment_count', 'first_enrolled_on', '_batch_id',
    '_source_row', 'updated_at',
] %}
with

{%- if last is not none and not compare_all %}

affected as materialized (

    select versions.resident_id
    from {{ ref('stg_human_resources__social_insurance_enrollments') }} as versions
    where
        versions.resident_id is not null
        and versions.enrollment_id in (
            {{ rows_delivered_since(
                ref('stg_human_resources__social_insurance_enrollments'), last, ['enrollment_id']
            ) }}
        )
    group by versions.resident_id

),
{%- endif %}

enrollments as (

    select current_records.*
    from {{ ref('int_enrollments_deduplicated') }} as current_records
    {%- if last is not none and not compare_all %}
        -- every current record that may belong to an affected person (filtering on the ranking key keeps
        -- the ranking to these records), then those that do
        where
            current_records.enrollment_id in (
                select versions.enrollment_id
                from {{ ref('stg_human_resources__social_insurance_enrollments') }} as versions
                where versions.resident_id in (select affected.resident_id from affected)
            )
            and current_records.resident_id in (select affected.resident_id from affected)
    {%- endif %}

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
