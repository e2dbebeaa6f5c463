-- 人社厅's newest accepted version of each enrollment record as of the logical date, tombstones included
-- (the view int_enrollments_deduplicated drops them). Grain: one row per enrollment_id.
-- Incremental (delete+insert on enrollment_id, macros/incremental_versions.sql): a daily run re-ranks only
-- the records with accepted rows of a later date than the last build, or in a batch validated again since;
-- a record the source deleted, or a re-delivery withdrew, stays as a tombstone. The API is incremental, so
-- a record changed twice arrives in two batches; newest = latest updated_at, then later logical date, then
-- later source row. A version without a resident ID cannot be placed and is not ranked.
-- _built_at and _previous_resident_id tell int_persons_insured whom to recompute: the person of every
-- record (re)ranked since its last build, and the one it belonged to before when a correction moved it.
-- Building an earlier date than the table holds needs a full refresh (the model says so and stops).
-- depends_on: {{ source('platform', 'batch_validations') }}
{{
    config(
        materialized='incremental',
        unique_key='enrollment_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['enrollment_id'], 'unique': true},
            {'columns': ['resident_id']},
            {'columns': ['_built_at']},
        ],
    )
}}
{%- set last = last_table_build() %}
{%- set columns = [
    'enrollment_id', 'resident_id', 'name', 'birth_date', 'phone', 'insurance_type', 'employer_credit_code',
    'division_code', 'enrollment_date', 'status', 'updated_at', '_deleted', '_batch_id', '_logical_date',
    '_source_row',
] %}
with

{{ incremental_versions_ctes(
    ref('stg_human_resources__social_insurance_enrollments'), 'enrollment_id', columns, 'updated_at', last,
    not_null=['resident_id'],
) }}

{{ versioned_records_select(columns, 'enrollment_id', 'resident_id', '_previous_resident_id', last) }}
