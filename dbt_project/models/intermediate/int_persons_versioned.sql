-- 公安厅's newest accepted version of each person as of the logical date, tombstones included (the
-- library view int_persons_registered drops them). Grain: one row per resident_id.
-- Incremental (delete+insert on resident_id): a daily run re-ranks only the persons with rows of a later
-- date than the last build or in a batch validated since it started, over all their accepted rows, so a
-- full history scan happens once.
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
    )
}}
{%- set last_built = none %}
{%- set last_built_at = none %}
{%- if is_incremental() and execute %}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list %}
    {%- set state = run_query(
        'select max(_built_for_date), '
        ~ ('max(_built_at)' if '_built_at' in columns else 'cast(null as timestamptz)')
        ~ ' from ' ~ this) %}
    {%- set last_built = state.columns[0].values()[0] %}
    {%- set last_built_at = state.columns[1].values()[0] %}
    {%- if last_built is not none and (last_built | string) > var('logical_date') | string %}
        {{ exceptions.raise_compiler_error(
            this ~ " holds a build for " ~ last_built ~ ", later than logical_date " ~ var('logical_date')
            ~ ": rebuild it with --full-refresh (govlake.transform.build_libraries(..., full_refresh=True))") }}
    {%- endif %}
{%- endif %}
with

accepted as (

    {{ accepted_rows(ref('stg_public_security__household_registrations'), not_null=['resident_id']) }}
    {%- if last_built is not none %}
        -- persons with a version in a batch delivered since the last build, or validated since (a batch that
        -- landed without a build of its own, or a held batch whose corrected re-delivery was validated later)
        and candidate.resident_id in (
            select changed.resident_id
            from {{ ref('stg_public_security__household_registrations') }} as changed
            {%- if last_built_at is not none %}
            -- batches are validated before the build of their cycle, so "since the last build started"
            -- is exact; the last build's own date is not re-ranked unless a batch of it was re-validated
            where changed._logical_date > cast('{{ last_built }}' as date)
                or changed._batch_id in (
                    select validated.batch_id
                    from {{ source('platform', 'batch_validations') }} as validated
                    where validated.validated_at >= cast('{{ last_built_at }}' as timestamptz)
                )
            {%- else %}
            -- built before _built_at existed: re-rank everything of the last build's date as well
            where changed._logical_date between cast('{{ last_built }}' as date) and {{ logical_date() }}
                or changed._batch_id in (
                    select validated.batch_id
                    from {{ source('platform', 'batch_validations') }} as validated
                    where validated.cycle_date >= cast('{{ last_built }}' as date)
                )
            {%- endif %}
        )
        {%- endif %}

),

newest as (

    {{ newest_version('accepted', ['resident_id'], changed_at='updated_at') }}

)

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
    -- when this build started (transaction time): the next build re-ranks batches validated after it
    now() as _built_at

from newest
