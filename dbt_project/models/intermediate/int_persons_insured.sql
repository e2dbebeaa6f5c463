-- What 人社厅 knows about each insured person, from their current enrollment records.
-- Grain: one row per resident_id.
-- Name, birth date and insurance place are taken from the most recently handled enrollment that has
-- them (updated_at, then logical date, then source row), with the batch/row they came from.
with

enrollments as (

    select * from {{ ref('int_enrollments_deduplicated') }}

),

aggregated as (

    select
        resident_id,

        ---------- person as 人社厅 knows them
        (
            array_agg(name order by updated_at desc nulls last, _logical_date desc, _source_row desc)
            filter (where name is not null)
        )[1] as name,
        (
            array_agg(birth_date order by updated_at desc nulls last, _logical_date desc, _source_row desc)
            filter (where birth_date is not null)
        )[1] as birth_date,
        (
            array_agg(division_code order by updated_at desc nulls last, _logical_date desc, _source_row desc)
            filter (where division_code is not null)
        )[1] as division_code,

        ---------- insurance
        coalesce(
            array_agg(distinct insurance_type collate "C" order by insurance_type collate "C")
            filter (where insurance_type is not null),
            -- sqlfluff 3.4 reads the array type text[] as `text` and a subscript
            cast(array[] as text[])  -- noqa: LT01
        ) as insurance_types,
        count(*) as enrollment_count,
        min(enrollment_date) as first_enrolled_on,

        ---------- lineage of the newest record
        (
            array_agg(_batch_id order by updated_at desc nulls last, _logical_date desc, _source_row desc)
        )[1] as _batch_id,
        (
            array_agg(_source_row order by updated_at desc nulls last, _logical_date desc, _source_row desc)
        )[1] as _source_row,
        max(updated_at) as updated_at

    from enrollments
    group by resident_id

)

select * from aggregated
