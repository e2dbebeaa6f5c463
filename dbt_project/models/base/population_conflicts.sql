-- Where 公安厅 and 人社厅 disagree about a person. Grain: one row per person x item (conflict_id).
-- Kept visible rather than silently resolved: the population library adopts 公安厅's value (it is the
-- authority for identity and birth) and lists the item in population.conflict_fields; this table keeps
-- both values and the rows they came from, for the department stewards to settle.
-- An item is in conflict when both departments have a value and the values differ; a value missing on one
-- side is a gap, not a conflict.
with

registered as (

    select * from {{ ref('int_persons_registered') }}

),

insured as (

    select * from {{ ref('int_persons_insured') }}

),

compared as (

    select
        registered.resident_id,
        item.field_name,
        item.public_security_value,
        item.human_resources_value,
        registered._batch_id as public_security_batch_id,
        registered._source_row as public_security_source_row,
        insured._batch_id as human_resources_batch_id,
        insured._source_row as human_resources_source_row

    from registered
    inner join insured on insured.resident_id = registered.resident_id
    cross join lateral (
        values
            ('name', registered.name, insured.name),
            ('birth_date', cast(registered.birth_date as text), cast(insured.birth_date as text))
    ) as item (field_name, public_security_value, human_resources_value)

),

conflicts as (

    select
        resident_id || ':' || field_name as conflict_id,
        resident_id,
        field_name,
        public_security_value,
        human_resources_value,
        public_security_value as adopted_value,
        'public_security' as adopted_from,
        public_security_batch_id,
        public_security_source_row,
        human_resources_batch_id,
        human_resources_source_row,
        {{ logical_date() }} as built_for_date

    from compared
    where public_security_value is not null
        and human_resources_value is not null
        and public_security_value <> human_resources_value

)

select * from conflicts
