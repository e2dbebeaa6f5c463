-- What 卫健委 knows about persons from its birth certificates (出生医学证明), as of the logical date.
-- Grain: one row per resident_id (tombstones included: _deleted, see macros/change_stamps.sql).
--
-- The mother (and the father, where the certificate names one) are found by the resident ID printed on
-- the certificate: 卫健委 can speak for their names. The certificate carries no newborn ID, so the
-- newborn is linked to 公安厅's registry (as the registry declares: through the mother): the child
-- (子/女/孙子/孙女) in the mother's household whose name or birth date equals the certificate's, the
-- best match (both equal beats one) when it is unique. 卫健委 then speaks for the newborn's name, gender
-- and birth date — so a newborn registered under another name, or with another birth date, shows up in
-- population_conflicts. A newborn not yet registered (落户 pending) or matched ambiguously is left out:
-- the population library is keyed by resident ID. A person on several certificates (a mother of two):
-- the most recently issued certificate.
with

certificates as (

    select * from {{ ref('int_birth_certificates_deduplicated') }}

),

registered as (

    select * from {{ ref('int_persons_registered') }}

),

mothers_households as materialized (

    -- each certificate with its mother's household, before any child is looked at: joined to the children
    -- by household (an equality a hash join takes) whatever the planner guesses of the certificates
    select
        certificates.*,
        mothers.household_id as mother_household_id
    from certificates
    inner join registered as mothers
        on certificates.mother_id = mothers.resident_id

),

candidates as (

    select
        mothers_households.certificate_no,
        mothers_households.newborn_name,
        mothers_households.gender,
        mothers_households.birth_date,
        mothers_households.issue_date,
        mothers_households._batch_id,
        mothers_households._logical_date,
        mothers_households._source_row,
        children.resident_id,
        coalesce(children.name = mothers_households.newborn_name, false)
        and coalesce(children.birth_date = mothers_households.birth_date, false) as both_match
    from mothers_households
    inner join registered as children
        on
            mothers_households.mother_household_id = children.household_id
            and mothers_households.mother_id <> children.resident_id
            and children.relation_to_head in ('子', '女', '孙子', '孙女')
            and (
                mothers_households.newborn_name = children.name
                or mothers_households.birth_date = children.birth_date
            )

),

best_candidates as (

    select
        candidates.*,
        rank() over (
            partition by candidates.certificate_no
            order by candidates.both_match desc
        ) as match_rank
    from candidates

),

newborns_matched as (

    -- the certificate's own columns ride along (one certificate per certificate_no), so the newborn needs
    -- no join back to the certificates: estimated at a row or two, that join was a nested loop that
    -- re-ran this aggregate once per certificate (70 s at `large`)
    select
        certificate_no,
        min(resident_id) as resident_id,
        newborn_name,
        gender,
        birth_date,
        issue_date,
        _batch_id,
        _logical_date,
        _source_row
    from best_candidates
    where match_rank = 1
    group by
        certificate_no, newborn_name, gender, birth_date, issue_date, _batch_id, _logical_date, _source_row
    having count(*) = 1

),

named as (

    ---------- the newborn: linked through the mother's household
    select
        resident_id,
        'newborn' as role,
        newborn_name as name,
        gender,
        birth_date,
        issue_date,
        _batch_id,
        _logical_date,
        _source_row
    from newborns_matched

    union all

    ---------- the parents: by the ID on the certificate (the father's only where it names one)
    select
        parents.resident_id,
        parents.role,
        parents.name,
        cast(null as text) as gender,
        cast(null as date) as birth_date,
        certificates.issue_date,
        certificates._batch_id,
        certificates._logical_date,
        certificates._source_row
    from certificates
    cross join
        lateral (
            values
            ('mother', certificates.mother_id, certificates.mother_name),
            ('father', certificates.father_id, certificates.father_name)
        ) as parents (role, resident_id, name)
    where parents.resident_id is not null

),

newest as (

    {{ newest_version('named', ['resident_id'], changed_at='issue_date') }}

),

current_rows as (

    select
        resident_id,
        role,
        name,
        gender,
        birth_date,
        -- a certificate has no change time
        cast(null as timestamptz) as updated_at,
        _batch_id,
        _source_row

    from newest

)

-- change stamps and tombstones for the incremental population merge (macros/change_stamps.sql)
{{ stamp_changes('current_rows', 'resident_id') }}
