-- 民政厅 最低生活保障对象信息, typed and tidied. One row per raw row (all logical dates).
with

source as (

    select * from {{ source('raw', 'civil_affairs__subsistence_allowance') }}

),

renamed as (

    select
        ---------- columns as the registry names them (text trimmed, blank -> NULL, IDs upper-cased)
        nullif(upper(btrim(recipient_id)), '') as recipient_id,
        nullif(btrim(recipient_name), '') as recipient_name,
        nullif(btrim(family_id), '') as family_id,
        nullif(btrim(relation_to_applicant), '') as relation_to_applicant,
        nullif(btrim(division_code), '') as division_code,
        monthly_amount,
        nullif(btrim(start_month), '') as start_month,
        approval_date,
        nullif(btrim(status), '') as status,
        is_deleted,
        updated_at,

        ---------- lineage
        _batch_id,
        _logical_date,
        _source_file,
        _source_row,
        _ingested_at,
        coalesce(_deleted, false) as _deleted

    from source

)

select * from renamed
