-- 市场监管局's current registration of each market entity as of the logical date: the newest accepted
-- version (int_entities_versioned) unless it is a tombstone — an entity the source deleted leaves the
-- libraries. Grain: one row per credit_code.
select
    credit_code,
    entity_name,
    entity_type,
    legal_rep_name,
    legal_rep_id,
    industry_code,
    registered_capital,
    established_date,
    division_code,
    address,
    status,
    _batch_id,
    _logical_date,
    _source_row

from {{ ref('int_entities_versioned') }}
where _deleted is not true
