-- 市场监管局's newest accepted version of each market entity as of the logical date, tombstones included
-- (the view int_entities_registered drops them). Grain: one row per credit_code.
-- Incremental (delete+insert on credit_code, macros/incremental_versions.sql): a daily run re-ranks only the
-- entities with accepted rows of a later date than the last build, or in a batch validated again since;
-- an entity the source deleted, or a re-delivery withdrew, stays as a tombstone. The CSV feed has no change
-- timestamp: the newest version is the one from the latest logical date, then the later row of the file.
-- Building an earlier date than the table holds needs a full refresh (the model says so and stops).
-- depends_on: {{ source('platform', 'batch_validations') }}
{{
    config(
        materialized='incremental',
        unique_key='credit_code',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['credit_code'], 'unique': true}, {'columns': ['_built_at']}],
    )
}}
{%- set last = last_table_build() %}
{%- set columns = [
    'credit_code', 'entity_name', 'entity_type', 'legal_rep_name', 'legal_rep_id', 'industry_code',
    'registered_capital', 'established_date', 'division_code', 'address', 'status', '_deleted', '_batch_id',
    '_logical_date', '_source_row',
] %}
with

{{ incremental_versions_ctes(
    ref('stg_market_regulation__market_entities'), 'credit_code', columns, none, last
) }}

select
    {{ columns | join(',\n    ') }},
    {{ logical_date() }} as _built_for_date,
    {{ build_started_at() }} as _built_at

from versions
