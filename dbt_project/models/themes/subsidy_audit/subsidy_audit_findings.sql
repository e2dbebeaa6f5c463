-- 补贴稽核主题库: what only sharing reveals about subsidies paid to persons. Grain: one row per finding
-- (finding_id = finding_type:key, the key being the payment_id or, for a 低保 listing, recipient_id|family_id).
--   paid_after_death        财政厅 paid a person 公安厅 records as 死亡 with a death date before the payment date
--   paid_twice              财政厅 paid the same person the same subsidy for the same month again: every payment
--                           after the first of the group (by payment date, then payment_id) is a finding
--   unknown_recipient       财政厅 paid an ID number no 公安厅 record carries: no delivery up to the logical date,
--                           accepted or quarantined, has its first 17 characters. A registry row rejected
--                           for a mistyped check character (same body) is a registry quality issue, already
--                           on 公安厅's correction list — not a recipient the registry has never issued
--   deceased_still_listed   民政厅 still lists as 在保 a 低保 recipient 公安厅 records as 死亡
-- Evidence from each department is kept as jsonb with the batch and source row it came from, so an auditor
-- can go back to the delivered file. Built from accepted (not quarantined) rows only.
{#- 财政厅's evidence of one payment (alias `pay`): built only for the payments a finding cites, never for all of
    them (at 10 M persons that was 6.4 M jsonb values written out and sorted twice). -#}
{%- set payment_json -%}
    jsonb_build_object(
        'payment_id', pay.payment_id,
        'recipient_name', pay.recipient_name,
        'subsidy_type', pay.subsidy_type,
        'period', pay.period,
        'amount', pay.amount,
        'payment_date', pay.payment_date,
        'division_code', pay.division_code,
        'batch_id', pay._batch_id,
        'source_row', pay._source_row
    )
{%- endset %}
{#- The columns of a finding about one payment (alias `pay`), up to its death and evidence columns. -#}
{%- set payment_finding_columns -%}
    'finance' as source_department,
    pay.payment_id as finding_key,
    pay.payment_id,
    array[pay.payment_id] as payment_ids,
    pay.amount,
    pay.recipient_id as resident_id,
    pay.recipient_name as person_name,
    pay.subsidy_type,
    pay.period,
    pay.payment_date,
    pay.division_code
{%- endset %}

with

-- read where each finding needs it, not materialised once: five branches read 财政厅's payments, and as
-- a CTE scan they had no statistics, so the planner sorted all 6.4 M (10 M persons) for a merge join
-- with the deceased (16.3 s of the model's 59.7 s; the hash join on the table takes 5.8 s, 48.5 s in all)
payments as not materialized (

    select * from {{ ref('int_subsidy_payments_deduplicated') }}

),

registered as (

    select * from {{ ref('int_persons_registered') }}

),

deceased as (

    select
        resident_id,
        name,
        death_date,
        status,
        division_code,
        _batch_id,
        _source_row,
        jsonb_build_object(
            'status', status,
            'death_date', death_date,
            'name', name,
            'batch_id', _batch_id,
            'source_row', _source_row
        ) as registry_json
    from registered
    where status = '死亡'

),

recipient_bodies as (

    -- the body (17 characters before the check character) of every ID 财政厅 paid
    select distinct left(recipient_id, 17) as id_body
    from payments
    where recipient_id is not null

),

bodies_in_registry as (

    -- those of them 公安厅 has delivered up to the logical date, whatever became of the row: the registry
    -- is scanned once against the (far fewer) paid bodies instead of collecting all of its own
    select distinct left(registrations.resident_id, 17) as id_body
    from {{ ref('stg_public_security__household_registrations') }} as registrations
    where
        registrations._logical_date <= {{ logical_date() }}
        and registrations.resident_id is not null
        and left(registrations.resident_id, 17) in (select recipient_bodies.id_body from recipient_bodies)

),

listings as (

    select * from {{ ref('int_subsistence_allowances_deduplicated') }}

),

paid_after_death as (

    select
        'paid_after_death' as finding_type,
        {{ payment_finding_columns }},
        deceased.death_date,
        deceased._batch_id as death_source_batch_id,
        cast(null as text) as civil_affairs_status,
        deceased.registry_json as public_security_evidence,
        jsonb_build_array({{ payment_json }}) as finance_evidence,
        cast(null as jsonb) as civil_affairs_evidence
    from payments as pay
    inner join deceased on pay.recipient_id = deceased.resident_id
    where deceased.death_date < pay.payment_date

),

repeated_groups as (

    -- the (person, subsidy, month) groups paid more than once: only their payments are ranked
    select
        recipient_id,
        subsidy_type,
        period
    from payments
    group by recipient_id, subsidy_type, period
    having count(*) > 1

),

paid_groups as (

    select
        pay.*,
        row_number() over same_month as payment_number,
        array_agg(pay.payment_id) over whole_group as group_payment_ids,
        jsonb_agg({{ payment_json }}) over whole_group as group_json
    from payments as pay
    inner join repeated_groups
        on
            pay.recipient_id = repeated_groups.recipient_id
            and pay.subsidy_type = repeated_groups.subsidy_type
            and pay.period = repeated_groups.period
    window
        same_month as (
            partition by pay.recipient_id, pay.subsidy_type, pay.period
            order by pay.payment_date, pay.payment_id
        ),
        whole_group as (
            partition by pay.recipient_id, pay.subsidy_type, pay.period
            order by pay.payment_date, pay.payment_id
            rows between unbounded preceding and unbounded following
        )

),

paid_twice as (

    select
        'paid_twice' as finding_type,
        'finance' as source_department,
        paid_groups.payment_id as finding_key,
        paid_groups.payment_id,
        paid_groups.group_payment_ids as payment_ids,
        paid_groups.amount,
        paid_groups.recipient_id as resident_id,
        paid_groups.recipient_name as person_name,
        paid_groups.subsidy_type,
        paid_groups.period,
        paid_groups.payment_date,
        paid_groups.division_code,
        deceased.death_date,
        deceased._batch_id as death_source_batch_id,
        cast(null as text) as civil_affairs_status,
        cast(null as jsonb) as public_security_evidence,
        paid_groups.group_json as finance_evidence,
        cast(null as jsonb) as civil_affairs_evidence
    from paid_groups
    left join deceased on paid_groups.recipient_id = deceased.resident_id
    where paid_groups.payment_number > 1

),

unknown_recipient as (

    select
        'unknown_recipient' as finding_type,
        {{ payment_finding_columns }},
        cast(null as date) as death_date,
        cast(null as text) as death_source_batch_id,
        cast(null as text) as civil_affairs_status,
        jsonb_build_object('records_with_this_id', 0) as public_security_evidence,
        jsonb_build_array({{ payment_json }}) as finance_evidence,
        cast(null as jsonb) as civil_affairs_evidence
    from payments as pay
    where not exists (
        select 1
        from bodies_in_registry
        where bodies_in_registry.id_body = left(pay.recipient_id, 17)
    )

),

dibao_paid_after_death as (

    -- 低保金 payments made after the death: the money the stale listing cost
    select
        pay.recipient_id,
        array_agg(pay.payment_id order by pay.payment_date, pay.payment_id) as payment_ids,
        jsonb_agg({{ payment_json }} order by pay.payment_date, pay.payment_id) as payments_json
    from payments as pay
    inner join deceased on pay.recipient_id = deceased.resident_id
    where
        pay.subsidy_type = '低保金'
        and pay.payment_date > deceased.death_date
    group by pay.recipient_id

),

deceased_still_listed as (

    select
        'deceased_still_listed' as finding_type,
        'civil_affairs' as source_department,
        listings.listing_id as finding_key,
        cast(null as text) as payment_id,
        -- sqlfluff 3.4 reads the array type text[] as `text` and a subscript
        coalesce(dibao_paid_after_death.payment_ids, cast(array[] as text[])) as payment_ids,  -- noqa: LT01
        listings.monthly_amount as amount,
        listings.recipient_id as resident_id,
        listings.recipient_name as person_name,
        '低保金' as subsidy_type,
        cast(null as text) as period,
        cast(null as date) as payment_date,
        listings.division_code,
        deceased.death_date,
        deceased._batch_id as death_source_batch_id,
        listings.status as civil_affairs_status,
        deceased.registry_json as public_security_evidence,
        coalesce(dibao_paid_after_death.payments_json, cast('[]' as jsonb)) as finance_evidence,
        jsonb_build_object(
            'status', listings.status,
            'family_id', listings.family_id,
            'relation_to_applicant', listings.relation_to_applicant,
            'monthly_amount', listings.monthly_amount,
            'approval_date', listings.approval_date,
            'updated_at', listings.updated_at,
            'batch_id', listings._batch_id,
            'source_row', listings._source_row
        ) as civil_affairs_evidence
    from listings
    inner join deceased on listings.recipient_id = deceased.resident_id
    left join dibao_paid_after_death on listings.recipient_id = dibao_paid_after_death.recipient_id
    where listings.status = '在保'

),

findings as (

    select * from paid_after_death
    union all
    select * from paid_twice
    union all
    select * from unknown_recipient
    union all
    select * from deceased_still_listed

)

select
    findings.finding_type || ':' || findings.finding_key as finding_id,
    findings.finding_type,
    case findings.finding_type
        when 'paid_after_death' then '死亡后仍发放'
        when 'paid_twice' then '同月重复发放'
        when 'unknown_recipient' then '领取人不在户籍登记中'
        when 'deceased_still_listed' then '死亡人员仍在低保名单'
    end as finding_label,
    findings.source_department,
    findings.finding_key,
    findings.payment_id,
    findings.payment_ids,
    findings.amount,
    findings.resident_id,
    findings.person_name,
    findings.subsidy_type,
    findings.period,
    findings.payment_date,
    findings.division_code,
    divisions.prefecture_code,
    findings.death_date,
    findings.death_source_batch_id,
    findings.civil_affairs_status,
    jsonb_strip_nulls(jsonb_build_object(
        'public_security', findings.public_security_evidence,
        'finance', findings.finance_evidence,
        'civil_affairs', findings.civil_affairs_evidence
    )) as evidence,
    {{ logical_date() }} as built_for_date

from findings
left join
    {{ ref('administrative_divisions') }} as divisions
    on findings.division_code = divisions.division_code
