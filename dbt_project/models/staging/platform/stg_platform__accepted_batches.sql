-- The batches the libraries may read: loaded, and passed by the staging gate after their current content
-- was loaded (see platform.batch_validations). Intermediate models read rows through the macro
-- accepted_rows(), which semi-joins on this. Grain: one row per batch_id.
with

batches as (

    select * from {{ source('platform', 'batches') }}

),

validations as (

    select * from {{ source('platform', 'batch_validations') }}

),

accepted as (

    select
        batches.batch_id,
        batches.department,
        batches.dataset,
        batches.logical_date,
        validations.cycle_date as validated_in_cycle,
        validations.validated_at
    from batches
    inner join validations
        on batches.batch_id = validations.batch_id
    where
        batches.status = 'loaded'
        and validations.success
        and validations.validated_at >= batches.finished_at

)

select * from accepted
