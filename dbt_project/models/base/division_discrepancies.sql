-- 自然资源厅's delivered administrative divisions checked against the reference (seeds/divisions.csv: the
-- real Guizhou codes, GB/T 2260, 2023). Grain: one row per division code x item in disagreement
-- (discrepancy_id = division_code:item). Empty when they agree — the data test `has_no_rows` says so
-- in every build, and the rows tell the data office what to correct where.
--
-- The delivery is a full list each year: the newest accepted delivery as of the logical date is compared
-- (rows quarantined by the staging gate are not in it). Items:
--   unknown_code   a delivered code the reference does not have
--   not_delivered  a reference code missing from the delivery (or its row was quarantined)
--   name / level / parent_code  the same code, a different name, level or enclosing division
-- No accepted delivery yet: nothing to compare, no rows.
with

accepted as (

    {{ accepted_rows(ref('stg_natural_resources__administrative_divisions'), not_null=['division_code']) }}

),

newest_delivery as (

    select max(_logical_date) as delivered_on from accepted

),

delivered as (

    select
        accepted.division_code,
        accepted.name,
        -- 自然资源厅 writes the level in words; the reference uses the GB/T 2260 level names
        case accepted.level
            when '省级' then 'province'
            when '地级' then 'prefecture'
            when '县级' then 'county'
            when '乡级' then 'township'
            else accepted.level
        end as level,
        accepted.parent_code,
        accepted._batch_id,
        accepted._source_row,
        row_number() over (
            partition by accepted.division_code
            order by accepted._source_row desc, accepted._batch_id desc
        ) as version_rank
    from accepted
    inner join newest_delivery on accepted._logical_date = newest_delivery.delivered_on

),

reference as (

    select
        cast(code as text) as division_code,
        name,
        level,
        cast(parent_code as text) as parent_code
    from {{ ref('divisions') }}

),

compared as (

    select
        coalesce(delivered.division_code, reference.division_code) as division_code,
        delivered.division_code is not null as is_delivered,
        reference.division_code is not null as is_in_reference,
        delivered.name as delivered_name,
        reference.name as reference_name,
        delivered.level as delivered_level,
        reference.level as reference_level,
        delivered.parent_code as delivered_parent_code,
        reference.parent_code as reference_parent_code,
        delivered._batch_id,
        delivered._source_row
    from (
        select * from delivered
        where version_rank = 1
    ) as delivered
    full outer join reference on delivered.division_code = reference.division_code
    where exists (
        select 1 from newest_delivery
        where newest_delivery.delivered_on is not null
    )

),

items as (

    select
        compared.*,
        'unknown_code' as item,
        compared.delivered_name as delivered_value,
        cast(null as text) as reference_value
    from compared
    where not compared.is_in_reference

    union all

    select
        compared.*,
        'not_delivered' as item,
        null as delivered_value,
        compared.reference_name as reference_value
    from compared
    where not compared.is_delivered

    union all

    select
        compared.*,
        'name' as item,
        compared.delivered_name as delivered_value,
        compared.reference_name as reference_value
    from compared
    where
        compared.is_delivered
        and compared.is_in_reference
        and compared.delivered_name is distinct from compared.reference_name

    union all

    select
        compared.*,
        'level' as item,
        compared.delivered_level as delivered_value,
        compared.reference_level as reference_value
    from compared
    where
        compared.is_delivered
        and compared.is_in_reference
        and compared.delivered_level is distinct from compared.reference_level

    union all

    select
        compared.*,
        'parent_code' as item,
        compared.delivered_parent_code as delivered_value,
        compared.reference_parent_code as reference_value
    from compared
    where
        compared.is_delivered
        and compared.is_in_reference
        and compared.delivered_parent_code is distinct from compared.reference_parent_code

)

select
    division_code || ':' || item as discrepancy_id,
    division_code,
    item,
    cast(delivered_value as text) as delivered_value,
    cast(reference_value as text) as reference_value,
    case item
        when 'unknown_code'
            then
                '自然资源厅 delivered division ' || division_code || ' (' || coalesce(delivered_value, '?')
                || ') which is not in seeds/divisions.csv: correct the delivery, or add the code to the seed'
                || ' if it is a new division (GB/T 2260 update)'
        when 'not_delivered'
            then
                'division '
                || division_code
                || ' ('
                || reference_value
                || ') of seeds/divisions.csv is missing'
                || ' from 自然资源厅''s delivery (or its row was quarantined): ask for it, or remove it from the'
                || ' seed if it was abolished'
        else
            '自然资源厅 delivered ' || item || ' ' || coalesce(delivered_value, '(empty)') || ' for division '
            || division_code || ', seeds/divisions.csv says ' || coalesce(reference_value, '(empty)')
            || ': correct the delivery or the seed'
    end as message,
    _batch_id,
    cast(_source_row as bigint) as _source_row,
    {{ logical_date() }} as built_for_date

from items
