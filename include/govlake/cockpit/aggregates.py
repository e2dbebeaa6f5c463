"""The cockpit's tables (schema ``cockpit``), built once per daily cycle after publication.

A cockpit page never scans a library: every figure it shows is a row of one of these small tables
(one row per region x indicator, per department, per Bijie county x crop ...), rebuilt by
:func:`build_cockpit` from the published ``base`` libraries and the platform's own records as the last
step of ``publish__libraries``. The new tables are built under temporary names and renamed into place in
one short transaction, so a page sees either the previous cycle's cockpit or the new one.

Suppression: a count of persons below the open zone's k for persons (the k of the open population
dataset), and a count of entities below the open zone's k for entities, is stored but flagged
``suppressed`` and shown as "<k" (``suppression.display``); a money amount over fewer than k findings is
suppressed with its count. No table here has one row per person.

Every figure names its source (``cockpit.sources``): the library, its catalog entry, the departments and
datasets behind it, and the accepted batches (id and logical date) the cycle built it from.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

import psycopg
from psycopg.types.json import Jsonb

from govlake.cockpit.forecast import forecast_next_year
from govlake.cockpit.suppression import cockpit_k
from govlake.cockpit.vocabulary import BIJIE_CODE, CORN
from govlake.settings import Settings, get_settings
from govlake.warehouse import connect

log = logging.getLogger(__name__)

SCHEMA = "cockpit"
TABLES = (
    "region_indicators",
    "region_series",
    "department_stats",
    "crop_series",
    "bijie_crops",
    "transport",
    "subsidy_findings",
    "sources",
)


@dataclass(frozen=True)
class SourceSpec:
    library: str  # base.<library>, or a platform record
    label: str
    datasets: tuple[str, ...]  # registry dataset keys (<department>__<dataset>) behind it


SOURCES: dict[str, SourceSpec] = {
    "macro_economy": SourceSpec("macro_economy", "宏观经济基础库", ("statistics__macro_indicators",)),
    "population_development": SourceSpec(
        "population_development", "人口发展主题库", ("public_security__household_registration",)
    ),
    "entity_births_and_closures": SourceSpec(
        "entity_births_and_closures", "市场主体主题库", ("market_regulation__market_entities",)
    ),
    "insurance_coverage": SourceSpec(
        "insurance_coverage",
        "社会保障主题库",
        ("public_security__household_registration", "human_resources__social_insurance_enrollment"),
    ),
    "subsidy_audit_findings": SourceSpec(
        "subsidy_audit_findings",
        "补贴稽核主题库",
        (
            "finance__subsidy_payments",
            "public_security__household_registration",
            "civil_affairs__subsistence_allowance",
        ),
    ),
    "bijie_crops_vs_corn": SourceSpec(
        "bijie_crops_vs_corn", "毕节经济作物与玉米对比（农业产业主题库）", ("agriculture__crop_production",)
    ),
    "crop_performance": SourceSpec("crop_performance", "农业产业主题库", ("agriculture__crop_production",)),
    "transport": SourceSpec(
        "passenger_volumes", "客运量统计（交通运输厅）", ("transport__passenger_volumes",)
    ),
    "platform_open": SourceSpec("open_datasets", "开放数据平台记录（platform.open_*）", ()),
    "platform_sharing": SourceSpec("share_grants", "数据共享与调度记录（platform.share_*, access_log）", ()),
    "platform_quality": SourceSpec("scorecards", "数据质量评分（platform.scorecards）", ()),
    "platform_batches": SourceSpec("batches", "数据归集批次（platform.batches）", ()),
}

# indicator key -> (label, unit, source key, counts persons | entities | None, higher is better)
INDICATORS: dict[str, tuple[str, str, str, str | None]] = {
    "resident_population": ("常住人口", "万人", "macro_economy", None),
    "registered_population": ("户籍在册人口", "人", "population_development", "persons"),
    "market_births": ("新设市场主体（近12个月）", "户", "entity_births_and_closures", "entities"),
    "market_closures": ("注销吊销市场主体（近12个月）", "户", "entity_births_and_closures", "entities"),
    "insurance_coverage": ("社会保险参保覆盖率", "%", "insurance_coverage", None),
    "subsidy_findings": ("补贴稽核发现（条）", "条", "subsidy_audit_findings", "persons"),
    "subsidy_amount": ("补贴稽核涉及金额", "元", "subsidy_audit_findings", "persons"),
    "open_datasets": ("开放数据集", "个", "platform_open", None),
    "open_downloads": ("开放数据下载与调用", "次", "platform_open", None),
    "shared_grants": ("有效共享授权", "项", "platform_sharing", None),
    "shared_reads": ("共享数据读取（近30天）", "次", "platform_sharing", None),
    "quality_score": ("全省数据质量评分", "分", "platform_quality", None),
}
MAP_INDICATORS = (
    "resident_population",
    "registered_population",
    "market_births",
    "market_closures",
    "insurance_coverage",
    "subsidy_findings",
    "subsidy_amount",
)

_DDL = """
create schema if not exists cockpit;
comment on schema cockpit is
    'The leader cockpit: small aggregate tables rebuilt after every publication (govlake.cockpit.aggregates).';
create table if not exists cockpit.builds (
    logical_date    date primary key,
    built_at        timestamptz not null default now(),
    published_at    timestamptz,
    seconds         double precision,
    k_persons       integer not null,
    k_entities      integer not null,
    details         jsonb not null default '{}'
);
create table if not exists cockpit.indicator_history (
    logical_date    date not null,
    region_code     text not null,
    indicator       text not null,
    value           numeric,
    primary key (region_code, indicator, logical_date)
);
"""


def _regions_sql() -> str:
    return """
        select division_code as region_code, division_name as region_name, division_level as level,
               case division_level when 'county' then prefecture_code when 'prefecture' then province_code end
                   as parent_code
        from base.administrative_divisions
        where division_level in ('province', 'prefecture', 'county')
    """


def _county_values_sql() -> str:
    """One row per county x indicator that is counted at county level (rolled up to prefecture/province).
    A library's division may be a township: ``administrative_divisions.county_code`` places it."""
    return """
        select county_code, 'registered_population' as indicator, living_persons::numeric as value,
               living_persons::numeric as n
        from base.population_development
        union all
        select ad.county_code, unnest(array['market_births', 'market_closures']),
               unnest(array[sum(e.births), sum(e.closures)])::numeric,
               unnest(array[sum(e.births), sum(e.closures)])::numeric
        from base.entity_births_and_closures e
        join base.administrative_divisions ad on ad.division_code = e.division_code
        where ad.county_code is not null
          and e.month > date_trunc('month', %(d)s::date) - interval '12 months'
          and e.month <= %(d)s::date
        group by ad.county_code
        union all
        select c.county_code, unnest(array['subsidy_findings', 'subsidy_amount']),
               unnest(array[count(f.finding_id)::numeric, coalesce(sum(f.amount), 0)]),
               count(f.finding_id)::numeric
        from base.counties c
        left join (select ad.county_code, f.finding_id, f.amount
                   from base.subsidy_audit_findings f
                   join base.administrative_divisions ad on ad.division_code = f.division_code) f
          on f.county_code = c.county_code
        group by c.county_code
    """


def _build_region_indicators(conn: psycopg.Connection, day: dt.date, k_persons: int, k_entities: int) -> None:
    conn.execute(
        f"""
        create table cockpit._new_region_indicators as
        with regions as ({_regions_sql()}),
        county_values as ({_county_values_sql()}),
        rolled as (
            select r.region_code, v.indicator, sum(v.value) as value, sum(v.n) as n
            from regions r
            join base.counties c on r.region_code in (c.county_code, c.prefecture_code, '520000')
            join county_values v on v.county_code = c.county_code
            group by r.region_code, v.indicator
        ),
        coverage_type as (  -- the insurance type most persons hold: the map shows its coverage
            select insurance_type from base.insurance_coverage
            group by insurance_type order by sum(insured_persons) desc, insurance_type limit 1
        ),
        coverage as (
            select r.region_code, 'insurance_coverage' as indicator,
                   round(100.0 * sum(i.insured_persons) / nullif(sum(i.registered_persons), 0), 2) as value,
                   sum(i.registered_persons) as n, max(i.insurance_type) as note
            from regions r
            join base.insurance_coverage i
              on r.region_code in (i.county_code, i.prefecture_code, '520000')
             and i.insurance_type = (select insurance_type from coverage_type)
            group by r.region_code
        ),
        resident as (
            select region_code, period_year, canonical_value, canonical_unit,
                   lag(canonical_value) over (partition by region_code order by period_year) as previous
            from base.macro_economy
            where indicator_name = '常住人口' and period_quarter is null and period_year is not null
              and period_year <= extract(year from %(d)s::date)
        ),
        resident_latest as (
            select distinct on (region_code) region_code, 'resident_population' as indicator,
                   case when canonical_unit = '人' then round(canonical_value / 10000.0, 2)
                        else round(canonical_value, 2) end as value,
                   case when canonical_unit = '人' then round(previous / 10000.0, 2)
                        else round(previous, 2) end as previous_value,
                   period_year
            from resident order by region_code, period_year desc
        ),
        all_values as (
            select region_code, indicator, value, n, null::numeric as previous_value, null::text as period,
                   null::text as note
            from rolled
            union all
            select region_code, indicator, value, n, null, null, note from coverage
            union all
            select region_code, indicator, value, null, previous_value, period_year::text || '年', null
            from resident_latest
        )
        select r.region_code, r.region_name, r.level, r.parent_code, v.indicator, v.value,
               v.n::bigint as n, v.previous_value, v.period, v.note,
               case
                   when v.indicator in ('registered_population', 'subsidy_findings', 'subsidy_amount')
                       then v.n < %(kp)s
                   when v.indicator in ('market_births', 'market_closures') then v.n < %(ke)s
                   when v.indicator = 'insurance_coverage' then v.n < %(kp)s
                   else false
               end as suppressed,
               case
                   when v.indicator in ('registered_population', 'subsidy_findings', 'subsidy_amount',
                                        'insurance_coverage') then %(kp)s
                   when v.indicator in ('market_births', 'market_closures') then %(ke)s
               end as k,
               %(d)s::date as built_for_date
        from all_values v join regions r using (region_code)
        """,
        {"d": day, "kp": k_persons, "ke": k_entities},
    )
    # province-wide platform figures (open data, sharing, quality): one region, the province
    conn.execute(
        """
        insert into cockpit._new_region_indicators
            (region_code, region_name, level, parent_code, indicator, value, n, suppressed, built_for_date)
        select '520000', '贵州省', 'province', null, indicator, value, null, false, %(d)s::date
        from (values
            ('open_datasets', (select count(*) from platform.open_datasets)::numeric),
            ('open_downloads', (select count(*) from platform.open_usage where at::date <= %(d)s)::numeric),
            ('shared_grants', (select count(*) from platform.share_grants
                               where revoked_at is null and valid_until > now())::numeric),
            ('shared_reads', (select count(*) from platform.access_log
                              where accessed_at > %(d)s::date - interval '30 days')::numeric),
            ('quality_score', (select round(overall_score::numeric, 1) from _quality
                               where department = '_province'))
        ) as t(indicator, value)
        """,
        {"d": day},
    )
    conn.execute(
        "update cockpit._new_region_indicators set note = (select '评分期：' || period from _quality"
        " where department = '_province') where region_code = '520000' and indicator = 'quality_score'"
    )
    # history of every figure (one row per cycle), the previous cycle's value where no yearly one exists
    conn.execute(
        """
        insert into cockpit.indicator_history (logical_date, region_code, indicator, value)
        select %(d)s, region_code, indicator, value from cockpit._new_region_indicators
        on conflict (region_code, indicator, logical_date) do update set value = excluded.value
        """,
        {"d": day},
    )
    conn.execute(
        """
        update cockpit._new_region_indicators n set previous_value = h.value,
               period = coalesce(n.period, '较' || to_char(h.logical_date, 'YYYY-MM-DD'))
        from (select distinct on (region_code, indicator) region_code, indicator, value, logical_date
              from cockpit.indicator_history where logical_date < %(d)s
              order by region_code, indicator, logical_date desc) h
        where n.previous_value is null and h.region_code = n.region_code and h.indicator = n.indicator
        """,
        {"d": day},
    )
    conn.execute("alter table cockpit._new_region_indicators add primary key (region_code, indicator)")


def _build_region_series(conn: psycopg.Connection, day: dt.date) -> None:
    """Yearly series per region for the trend charts: 统计局's yearly indicators and market entities."""
    conn.execute(
        """
        create table cockpit._new_region_series as
        select region_code, indicator_name as indicator, period_year as year,
               case when indicator_name = '常住人口' and canonical_unit = '人'
                    then round(canonical_value / 10000.0, 2) else round(canonical_value, 2) end as value,
               case when indicator_name = '常住人口' then '万人' else canonical_unit end as unit,
               'macro_economy' as source
        from base.macro_economy
        where period_quarter is null and period_year is not null
          and period_year <= extract(year from %(d)s::date)
        union all
        select r.code, s.indicator, s.year, sum(s.value), '户', 'entity_births_and_closures'
        from (select ad.county_code, ad.prefecture_code, extract(year from e.month)::int as year,
                     unnest(array['新设市场主体', '注销吊销市场主体']) as indicator,
                     unnest(array[e.births, e.closures])::numeric as value
              from base.entity_births_and_closures e
              left join base.administrative_divisions ad on ad.division_code = e.division_code
              where e.month <= %(d)s::date) s
        cross join lateral (values (s.county_code), (s.prefecture_code), ('520000')) as r(code)
        where r.code is not null
        group by r.code, s.indicator, s.year
        """,
        {"d": day},
    )
    conn.execute("create index on cockpit._new_region_series (region_code, indicator, year)")


def _quality_scores(conn: psycopg.Connection, day: dt.date) -> str:
    """Temp table ``_quality`` (department, overall_score, rank, period): each department's and the
    province's (``_province``) latest closed scorecard; before the first scorecards (they are weekly), the
    same GB/T 36344 score computed for the week so far and labelled provisional. Returns how it was made."""
    from govlake.scorecards.compute import compute_scorecards
    from govlake.scorecards.periods import Period, period_containing

    conn.execute(
        "create temporary table _quality (department text primary key, overall_score double precision,"
        " rank integer, period text) on commit drop"
    )
    conn.execute(
        """
        insert into _quality
        select distinct on (department) department, overall_score, rank, period
        from platform.scorecards where overall_score is not null and period_end <= %s
        order by department, period_end desc, period_kind
        """,
        (day,),
    )
    if conn.execute("select count(*) from _quality").fetchone()[0]:
        return "scorecards"
    week = period_containing("week", day)
    so_far = Period("week", week.start, day)
    label = f"本周至今（{week.start:%m月%d日}–{day:%m月%d日}，暂估；正式评分每周一生成）"
    cards = [c for c in compute_scorecards(conn, so_far) if c.overall is not None]  # before COPY: same conn
    with conn.cursor().copy("copy _quality from stdin") as copy:
        for card in cards:
            copy.write_row((card.department, card.overall, card.rank, label))
    return "provisional"


def _build_department_stats(conn: psycopg.Connection, day: dt.date) -> None:
    from govlake.registry import load_departments

    departments = load_departments()
    cycles = {d.key: d.update_cycle for dep in departments for d in dep.datasets}
    conn.execute(
        "create temporary table _departments (department text primary key, department_name text) on commit drop"
    )
    with conn.cursor().copy("copy _departments from stdin") as copy:
        for dep in departments:
            copy.write_row((dep.code, dep.name))
    conn.execute("create temporary table _cycles (dataset_key text, update_cycle text) on commit drop")
    with conn.cursor().copy("copy _cycles from stdin") as copy:
        for key, cycle in cycles.items():
            copy.write_row((key, cycle))
    conn.execute(
        """
        create table cockpit._new_department_stats as
        with latest as (
            select b.department, b.department || '__' || b.dataset as dataset_key,
                   max(b.logical_date) as latest_date, max(b.finished_at) as last_loaded_at
            from platform.batches b
            where b.status = 'loaded' and b.logical_date <= %(d)s
            group by 1, 2
        ),
        lag as (
            select c.dataset_key, split_part(c.dataset_key, '__', 1) as department, c.update_cycle,
                   l.latest_date, l.last_loaded_at,
                   %(d)s::date - l.latest_date as days_behind,
                   case c.update_cycle when '每日' then 1 when '实时' then 1 when '每周' then 7
                        when '每月' then 31 when '每季度' then 92 else 366 end as allowed_days
            from _cycles c left join latest l on l.dataset_key = c.dataset_key
        ),
        per_department as (
            select department,
                   min(latest_date) as oldest_latest_date,
                   max(last_loaded_at) as last_loaded_at,
                   max(days_behind) as max_days_behind,
                   count(*) filter (where latest_date is null or days_behind > allowed_days) as overdue_datasets,
                   count(*) as datasets,
                   jsonb_agg(jsonb_build_object('dataset', dataset_key, 'cycle', update_cycle,
                             'latest_date', latest_date, 'days_behind', days_behind,
                             'overdue', latest_date is null or days_behind > allowed_days)
                             order by dataset_key) as dataset_lag
            from lag group by department
        ),
        quality as (select department, overall_score, rank, period from _quality),
        open_sets as (select organization as department, count(*) as open_datasets
                      from platform.open_datasets group by 1),
        open_use as (select organization as department, count(*) as open_downloads
                     from platform.open_usage where at::date <= %(d)s group by 1),
        grants as (
            select r.owner as department, count(*) as grants_given
            from platform.share_grants g join platform.share_requests r using (request_id)
            where g.revoked_at is null and g.valid_until > now() group by 1
        ),
        reads as (
            select split_part(resource_key, '__', 1) as department, count(*) as reads_of_its_data
            from platform.access_log where accessed_at > %(d)s::date - interval '30 days' group by 1
        ),
        reads_by as (
            select department, count(*) as reads_made
            from platform.access_log where accessed_at > %(d)s::date - interval '30 days' group by 1
        )
        select d.department, d.department_name,
               round(q.overall_score::numeric, 1) as quality_score, q.rank as quality_rank,
               q.period as quality_period,
               p.oldest_latest_date, p.last_loaded_at, p.max_days_behind, coalesce(p.overdue_datasets, 0)
                   as overdue_datasets, coalesce(p.datasets, 0) as datasets, p.dataset_lag,
               coalesce(o.open_datasets, 0) as open_datasets, coalesce(u.open_downloads, 0) as open_downloads,
               coalesce(g.grants_given, 0) as grants_given, coalesce(r.reads_of_its_data, 0)
                   as reads_of_its_data, coalesce(rb.reads_made, 0) as reads_made,
               %(d)s::date as built_for_date
        from _departments d
        left join per_department p using (department)
        left join quality q using (department)
        left join open_sets o using (department)
        left join open_use u using (department)
        left join grants g using (department)
        left join reads r using (department)
        left join reads_by rb using (department)
        """,
        {"d": day},
    )
    conn.execute("alter table cockpit._new_department_stats add primary key (department)")


def _build_crops(conn: psycopg.Connection, day: dt.date) -> dict:
    conn.execute(
        """
        create table cockpit._new_crop_series as
        select county_code, county_name, prefecture_code, prefecture_name, crop, year, area_mu,
               output_tons, price_per_kg, output_value_wan_yuan, revenue_per_mu, source_batch_id
        from base.crop_performance
        where year <= extract(year from %(d)s::date)
        """,
        {"d": day},
    )
    conn.execute("create index on cockpit._new_crop_series (county_code, crop, year)")
    conn.execute("create index on cockpit._new_crop_series (prefecture_code, crop)")
    series: dict[tuple[str, str], dict[int, float]] = {}
    for county, crop, year, value in conn.execute(
        "select county_code, crop, year, revenue_per_mu from cockpit._new_crop_series"
        " where prefecture_code = %s and revenue_per_mu is not null",
        (BIJIE_CODE,),
    ):
        series.setdefault((county, crop), {})[int(year)] = float(value)
    conn.execute(
        """
        create table cockpit._new_bijie_crops as
        select b.*, null::text as forecast_method, null::integer as forecast_years_used,
               null::integer as forecast_year, null::numeric as forecast, null::numeric as forecast_lower,
               null::numeric as forecast_upper, null::numeric as forecast_interval,
               null::integer as backtest_year, null::numeric as backtest_actual,
               null::numeric as backtest_forecast, null::numeric as backtest_naive,
               null::numeric as backtest_error_pct, null::numeric as naive_error_pct,
               null::boolean as backtest_in_interval, null::jsonb as series,
               null::numeric as corn_forecast, null::numeric as corn_forecast_lower,
               null::numeric as corn_forecast_upper
        from base.bijie_crops_vs_corn b
        """
    )
    fitted = failed = 0
    rows = conn.execute("select county_code, crop from cockpit._new_bijie_crops").fetchall()
    corn_forecasts = {}
    for county, crop in [*{(c, CORN) for c, _ in rows}, *rows]:
        values = series.get((county, crop), {})
        try:
            fc = forecast_next_year(values)
        except Exception as exc:  # one short or flat series must not stop the cockpit
            log.warning("no forecast for %s %s: %s", county, crop, exc)
            fc, failed = None, failed + 1
        if crop == CORN:
            corn_forecasts[county] = fc
            continue
        corn = corn_forecasts.get(county)
        fitted += fc is not None
        conn.execute(
            """
            update cockpit._new_bijie_crops set forecast_method = %s, forecast_years_used = %s,
                forecast_year = %s, forecast = %s, forecast_lower = %s, forecast_upper = %s,
                forecast_interval = %s, backtest_year = %s, backtest_actual = %s, backtest_forecast = %s,
                backtest_naive = %s, backtest_error_pct = %s, naive_error_pct = %s,
                backtest_in_interval = %s, series = %s, corn_forecast = %s, corn_forecast_lower = %s,
                corn_forecast_upper = %s
            where county_code = %s and crop = %s
            """,
            (
                fc and fc.method,
                fc and fc.years_used,
                fc and fc.forecast_year,
                fc and fc.forecast,
                fc and fc.lower,
                fc and fc.upper,
                fc and fc.interval,
                fc and fc.backtest_year,
                fc and fc.backtest_actual,
                fc and fc.backtest_forecast,
                fc and fc.backtest_naive,
                fc and fc.backtest_error_pct,
                fc and fc.naive_error_pct,
                fc and fc.backtest_in_interval,
                Jsonb(
                    {
                        "years": sorted(values),
                        "crop": [values[y] for y in sorted(values)],
                        "corn": [series.get((county, CORN), {}).get(y) for y in sorted(values)],
                    }
                ),
                corn and corn.forecast,
                corn and corn.lower,
                corn and corn.upper,
                county,
                crop,
            ),
        )
    conn.execute("alter table cockpit._new_bijie_crops add primary key (county_code, crop)")
    return {"forecasts": fitted, "forecast_failures": failed}


def _build_transport(conn: psycopg.Connection, day: dt.date) -> None:
    """Yearly passengers by prefecture and mode from 交通运输厅's accepted batches (prefecture level only)."""
    conn.execute(
        """
        create table cockpit._new_transport as
        with accepted as (
            select distinct on (t.prefecture_code, t.month, t.mode) t.*
            from staging.stg_transport__passenger_volumes t
            join platform.batch_validations v on v.batch_id = t._batch_id and v.success
            where t._logical_date <= %(d)s
            order by t.prefecture_code, t.month, t.mode, t._logical_date desc, t._source_row desc
        )
        select prefecture_code, max(prefecture_name) as prefecture_name,
               left(month, 4)::integer as year, mode,
               round(sum(passengers), 2) as passengers_wan, count(*) as months,
               array_agg(distinct _batch_id) as batches
        from accepted
        where month ~ '^[0-9]{4}-[0-9]{2}$'
        group by prefecture_code, left(month, 4), mode
        """,
        {"d": day},
    )


def _build_subsidy_findings(conn: psycopg.Connection, k_persons: int) -> None:
    conn.execute(
        """
        create table cockpit._new_subsidy_findings as
        select r.code as region_code, f.finding_type, max(f.finding_label) as finding_label,
               count(*) as findings, round(sum(f.amount), 2) as amount, count(*) < %(k)s as suppressed,
               %(k)s as k
        from base.subsidy_audit_findings f
        left join base.administrative_divisions ad on ad.division_code = f.division_code
        cross join lateral (values (ad.county_code), (ad.prefecture_code), ('520000')) as r(code)
        where r.code is not null
        group by r.code, f.finding_type
        """,
        {"k": k_persons},
    )


def _build_sources(conn: psycopg.Connection, day: dt.date) -> None:
    """Per source: the library, its catalog entry, departments, and the accepted batches behind it."""
    from govlake.registry import iter_datasets

    names = {d.key: (d.department, d.department_name, d.name) for d in iter_datasets()}
    conn.execute(
        """
        create table cockpit._new_sources (
            source_key text primary key, library text, label text, resource_code text,
            departments jsonb, batches jsonb, published_at timestamptz, built_for_date date)
        """
    )
    for key, spec in SOURCES.items():
        departments = [
            {
                "department": names[k][0],
                "department_name": names[k][1],
                "dataset": k,
                "dataset_name": names[k][2],
            }
            for k in spec.datasets
            if k in names
        ]
        batches = conn.execute(
            """
            select coalesce(jsonb_agg(jsonb_build_object('batch_id', batch_id, 'logical_date', logical_date,
                                       'dataset', dataset_key, 'rows', rows_loaded) order by logical_date desc,
                                       batch_id), '[]')
            from (select b.batch_id, b.logical_date, b.department || '__' || b.dataset as dataset_key,
                         b.rows_loaded,
                         row_number() over (partition by b.department, b.dataset
                                            order by b.logical_date desc) as n
                  from platform.batches b
                  join platform.batch_validations v on v.batch_id = b.batch_id and v.success
                  where b.department || '__' || b.dataset = any(%s) and b.logical_date <= %s) s
            where n <= 5
            """,
            (list(spec.datasets), day),
        ).fetchone()[0]
        entry = conn.execute(
            "select resource_code from platform.catalog_entries where entry_key = %s", (spec.library,)
        ).fetchone()
        published = conn.execute(
            "select max(published_at) from platform.publications where target = %s and logical_date = %s",
            (f"base.{spec.library}", day),
        ).fetchone()
        conn.execute(
            "insert into cockpit._new_sources values (%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                key,
                spec.library,
                spec.label,
                entry[0] if entry else None,
                Jsonb(departments),
                Jsonb(batches),
                published[0] if published else None,
                day,
            ),
        )


def _swap_into_place(conn: psycopg.Connection) -> None:
    conn.execute("set local lock_timeout = '30s'")
    for table in TABLES:
        conn.execute(f"drop table if exists cockpit.{table}")
        conn.execute(f"alter table cockpit._new_{table} rename to {table}")
    conn.execute("grant usage on schema cockpit to public")


def build_cockpit(logical_date: str | dt.date, settings: Settings | None = None) -> dict:
    """Rebuild every cockpit table for ``logical_date`` from the published libraries; a summary dict."""
    settings = settings or get_settings()
    day = logical_date if isinstance(logical_date, dt.date) else dt.date.fromisoformat(str(logical_date))
    k_persons, k_entities = cockpit_k(settings)
    started = time.monotonic()
    with connect(settings) as conn:
        conn.execute(_DDL)
        conn.commit()
        with conn.transaction():
            conn.execute("select pg_advisory_xact_lock(hashtext('govlake.cockpit'))")
            for table in TABLES:
                conn.execute(f"drop table if exists cockpit._new_{table}")
            quality = _quality_scores(conn, day)
            _build_region_indicators(conn, day, k_persons, k_entities)
            _build_region_series(conn, day)
            _build_department_stats(conn, day)
            crops = _build_crops(conn, day)
            _build_transport(conn, day)
            _build_subsidy_findings(conn, k_persons)
            _build_sources(conn, day)
            published = conn.execute(
                "select max(published_at) from platform.publications where logical_date = %s and zone = 'base'"
                " and status = 'published'",
                (day,),
            ).fetchone()[0]
            _swap_into_place(conn)
            seconds = round(time.monotonic() - started, 2)
            details = {**crops, "tables": list(TABLES), "quality": quality}
            conn.execute(
                """
                insert into cockpit.builds (logical_date, published_at, seconds, k_persons, k_entities, details)
                values (%s, %s, %s, %s, %s, %s)
                on conflict (logical_date) do update set built_at = now(), published_at = excluded.published_at,
                    seconds = excluded.seconds, k_persons = excluded.k_persons,
                    k_entities = excluded.k_entities, details = excluded.details
                """,
                (day, published, seconds, k_persons, k_entities, Jsonb(details)),
            )
    log.info("cockpit built for %s in %.1fs: %s", day, seconds, details)
    return {"logical_date": day.isoformat(), "seconds": seconds, **details}
