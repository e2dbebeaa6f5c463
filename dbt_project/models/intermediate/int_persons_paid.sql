-- What 财政厅 knows about persons: the payee (领取人) name on their subsidy payments (惠民惠农补贴), as of
-- the logical date. Grain: one row per resident_id (recipient_id of the current payment versions;
-- tombstones included: _deleted, see macros/change_stamps.sql).
-- The name is the one on the most recently changed payment that has one, with that payment's batch/row.
-- Payee names are keyed in by the paying agents: the least authoritative name in the tie-break table,
-- but a difference from the registry is worth a steward's look (population_conflicts).
-- Incremental (delete+insert on resident_id): a daily run recomputes only the recipients of the payments
-- int_subsidy_payments_versioned (re)ranked since the last build, and the persons a correction moved a
-- payment away from. A person left with no payment stays as a tombstone, so the population merge sees them
-- go. When those stamps cannot tell every change (the payments were rebuilt whole, or built more than once
-- since), every person is recomputed and only the rows that differ from those held are written.
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
{%- set versioned = ref('int_subsidy_payments_versioned') %}
{%- set compare_all = last is not none and stamps_miss_changes(versioned, last) %}
{%- set held_columns = ['name', 'payment_count', 'updated_at', '_batch_id', '_source_row'] %}
{%- set affected_only = 'recipient_id in (select affected.resident_id from affected)'
    if last is not none and not compare_all else 'true' %}
with

{%- if last is not none and not compare_all %}

affected as materialized (

    {{ restamped_persons(versioned, last, 'recipient_id', '_previous_recipient_id') }}

),
{%- endif %}

payments as (

    select * from {{ ref('int_subsidy_payments_deduplicated') }}
    where
        recipient_id is not null
        and recipient_name is not null
        and {{ affected_only }}

),

counted as (

    select
        payments.*,
        count(*) over (partition by payments.recipient_id) as payment_count
    from payments

),

newest as (

    {{ newest_version('counted', ['recipient_id'], order_by=[
        'updated_at desc nulls last', '_logical_date desc', '_source_row desc', 'payment_id desc',
    ]) }}

),

current_rows as (

    select
        recipient_id as resident_id,
        recipient_name as name,
        cast(payment_count as integer) as payment_count,
        updated_at,
        _batch_id,
        _source_row

    from newest

)

{{ recomputed_persons('current_rows', held_columns, [
    'null as name', '0 as payment_count', 'null as updated_at', 'null as _batch_id', 'null as _source_row',
], last, compare_all) }}
