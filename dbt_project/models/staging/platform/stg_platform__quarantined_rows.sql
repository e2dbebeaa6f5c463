-- One row per current quarantine record (a row can break several rules). Intermediate models anti-join raw
-- rows to this on (_batch_id, _source_file, _source_row) — a batch may span several files (the pages of an
-- API, the sheets of a workbook), each numbering its rows from 1: a quarantined row never reaches a
-- library, whatever its stage or
-- whether someone later marked it resolved (a corrected row comes back in a later batch). Records superseded
-- by a corrected re-delivery of their date are left out: they describe the earlier delivery, and its row
-- numbers now belong to the re-delivered rows (same batch_id).
with

source as (

    select * from {{ source('platform', 'quarantine') }}

),

renamed as (

    select
        ---------- ids
        quarantine_id,
        batch_id as _batch_id,
        source_file as _source_file,
        source_row as _source_row,

        ---------- where
        department,
        dataset,
        logical_date,
        stage,
        source_file,
        column_name,

        ---------- why
        rule,
        dimension,
        severity,
        message,

        ---------- timestamps
        detected_at,
        coalesce(first_detected_at, detected_at) as first_detected_at,
        resolved_at

    from source
    where superseded_at is null

)

select * from renamed
