-- 财政厅's newest accepted version of each subsidy payment as of the logical date, tombstones included (the
-- view int_subsidy_payments_deduplicated drops them). Grain: one row per payment_id.
-- Incremental (delete+insert on payment_id, macros/incremental_versions.sql): a daily run re-ranks only the
-- payments with accepted rows of a later date than the last build, or in a batch validated again since;
-- a payment the source deleted, or a re-delivery withdrew, stays as a tombstone.
-- Rows come through accepted_rows(): a payment whose newest row was quarantined keeps its last accepted
-- version. Newest = latest updated_at, then later logical date, then later source row (a corrected payment
-- arrives again in a later batch).
-- _built_at and _previous_recipient_id tell int_persons_paid whom to recompute: the recipient of every
-- payment (re)ranked since its last build, and the one it was paid to before when a correction moved it.
-- Building an earlier date than the table holds needs a full refresh (the model says so and stops).
-- depends_on: {{ source('platform', 'batch_validations') }}
{{
    config(
        materialized='incremental',
        unique_key='payment_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['payment_id'], 'unique': true},
            {'columns': ['recipient_id']},
            {'columns': ['_built_at']},
        ],
    )
}}
{%- set last = last_table_build() %}
{%- set columns = [
    'payment_id', 'recipient_id', 'recipient_name', 'subsidy_type', 'period', 'amount', 'payment_date',
    'division_code', 'updated_at', '_deleted', '_batch_id', '_logical_date', '_source_row',
] %}
with

{{ incremental_versions_ctes(
    ref('stg_finance__subsidy_payments'), 'payment_id', columns, 'updated_at', last
) }}

{{ versioned_records_select(columns, 'payment_id', 'recipient_id', '_previous_recipient_id', last) }}
