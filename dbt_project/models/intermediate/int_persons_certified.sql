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

candidates as (

    select
        certificates.certificate_no,
        children.resident_id,
        coalesce(children.name = certificates.newborn_name, false)
        and coalesce(children.birth_date = certificates.birth_date, false) as both_match
    from certificates
    inner join registered as mothers
        on certificates.mother_id = mothers.resident_id
    inner join registered as children
        on
            mothers.household_id = children.household_id
            and mothers.resident_id <> children.resident_id
            and children.relation_to_head in ('子', '女', '孙子', '孙女')
            and (certificates.newborn_name = children.name or certificates.birth_date = children.birth_date)

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

    select
        certificate_no,
        min(resident_id) as resident_id
    from best_candidates
    where match_rank = 1
    group by certificate_no
    having count(*) = 1

),

named as (

    ---------- the newborn: linked through the mother's household
    select
        newborns_matched.resident_id,
        'newborn' as role,
        certificates.newborn_name as name,
        certificates.gender,
        certificates.birth_date,
        certificates.issue_date,
        certificates._batch_id,
        certificates._logical_date,
        certificates._source_row
    from certificates
    inner join newborns_matched on certificates.certificate_no = newborns_matched.certificate_no

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
