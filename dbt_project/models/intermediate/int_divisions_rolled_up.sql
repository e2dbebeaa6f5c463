-- Every division code with the prefecture-level division it belongs to (a prefecture belongs to itself;
-- the province to none). Grain: one row per division code (a code no longer in the reference stays as a
-- tombstone, _deleted; readers skip it).
with

divisions as (

    select * from {{ ref('divisions') }}

),

rolled_up as (

    select
        division.code as division_code,
        division.name as division_name,
        division.level as division_level,
        case
            when division.level = 'prefecture' then division.code
            when parent.level = 'prefecture' then parent.code
            when grandparent.level = 'prefecture' then grandparent.code
        end as prefecture_code

    from divisions as division
    left join divisions as parent on division.parent_code = parent.code
    left join divisions as grandparent on parent.parent_code = grandparent.code

)

-- change stamps and tombstones: population recomputes the persons of a division rolled up anew
{{ stamp_changes('rolled_up', 'division_code') }}
