-- 公安厅's newest accepted version of each person as of the logical date, tombstones included (the
-- library view int_persons_registered drops them). Grain: one row per resident_id.
-- Incremental (delete+insert on resident_id): a daily run re-ranks only the persons with accepted rows of
-- a later date than the last build — their new rows against the version this table holds, which already
-- beat their older history — and, over their whole accepted history, the persons in a batch of an earlier
-- date validated again since the last build (whether their rows are accepted may have changed) and those
-- whose version held came from such a batch (a re-delivery may have withdrawn it; a person left with no
-- accepted row becomes a tombstone).
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

{%- if last is none %}

    accepted as (

        {{ accepted_rows(registrations, not_null=['resident_id']) }}

    ),
{%- else %}

delivered as materialized (

    -- accepted rows of the dates after the last build (the logical-date index finds them)
    {{ accepted_rows(registrations, not_null=['resident_id']) }}
        and candidate._logical_date > cast('{{ last.built_for_date }}' as date)

),

revalidated as materialized (

    -- persons in a batch of the last build's dates or earlier that was validated again since (a held
    -- batch's corrected re-delivery, a re-run): which of their rows are accepted may have changed
    {{ rows_revalidated_since(registrations, last, ['resident_id']) }}
    union
    -- and the persons whose version held here came from such a batch: its re-delivery may have left them
    -- out (the batch is read only when one was validated since: usually no scan at all)
    select held.resident_id
    from {{ this }} as held
    where (held._logical_date, held._batch_id) in ({{ batches_revalidated_since(last) }})

),

accepted as (

    -- a person with new rows only: the newest of those and the version this table holds (the history
    -- before it cannot win); a revalidated person: the whole accepted history again
    select {{ columns | join(', ') }} from delivered
    where not exists (select 1 from revalidated where revalidated.resident_id = delivered.resident_id)
    union all
    select {{ columns | join(', ') }} from {{ this }} as held
    where
        held.resident_id in (select delivered.resident_id from delivered)
        and not exists (select 1 from revalidated where revalidated.resident_id = held.resident_id)
    union all
    select {% for column in columns %}candidate.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %}
    from ({{ accepted_rows(registrations, not_null=['resident_id']) }}) as candidate
    where
        -- a one-time filter: on a day nothing was revalidated the history is not read at all (joined to
        -- an empty set, the plan still scanned it once per accepted batch)
        exists (select 1 from revalidated)
        and candidate.resident_id in (select revalidated.resident_id from revalidated)

),
{%- endif %}

newest as (

    {{ newest_version('accepted', ['resident_id'], changed_at='updated_at') }}

),

versions as (

    select {{ columns | join(', ') }}
    from newest
    {%- if last is not none %}

    union all

    -- a revalidated person with no accepted row left (a re-delivery withdrew every version): a tombstone
    -- replaces the version held, and population recomputes them
    select
    {%- for column in columns %}
        {% if column == '_deleted' %}true as _deleted{% else %}held.{{ column }}{% endif %}
        {%- if not loop.last %},{% endif %}
    {%- endfor %}
    from {{ this }} as held
    where
        held.resident_id in (select revalidated.resident_id from revalidated)
        and held._deleted is not true
        and not exists (select 1 from newest where newest.resident_id = held.resident_id)
    {%- endif %}

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
    -- when the build that re-ranked the person started: population and population_conflicts recompute
    -- the persons stamped since their own last build
    {{ build_started_at() }} as _built_at

from versions
