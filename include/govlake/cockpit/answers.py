"""Answers to the cockpit's questions, read from the ``cockpit`` tables only (small, built per cycle).

Every answer is a chart (an ECharts option), the table under it, and its sources (``cockpit.sources``
rows: library, catalog entry, departments, batches). An answerer returns None when the slots it got
are outside what the data covers (e.g. the corn comparison outside Bijie): the caller then shows the
closest catalog resources instead of a wrong answer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.rows import dict_row

from govlake.cockpit import vocabulary
from govlake.cockpit.suppression import display

if TYPE_CHECKING:
    from govlake.cockpit.question_parser import ParsedQuestion

STOPWORDS = set(
    [
        "的",
        "了",
        "吗",
        "呢",
        "啊",
        "吧",
        "什么",
        "怎么",
        "怎样",
        "多少",
        "哪个",
        "哪些",
        "是",
        "有",
        "和",
        "在",
        "我",
        "你",
        "他",
        "这",
        "那",
        "个",
        "们",
        "不",
        "也",
        "都",
        "请问",
    ]
)


@dataclass
class Answer:
    kind: str
    title: str
    summary: str
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    chart: dict | None = None
    sources: list[dict] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    unknowns: list[str] = field(default_factory=list)
    resources: list[dict] = field(default_factory=list)  # closest catalog resources
    built_for_date: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _rows(conn: psycopg.Connection, query: str, params: Any = None) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


def sources(conn: psycopg.Connection, *keys: str) -> list[dict]:
    rows = _rows(conn, "select * from cockpit.sources where source_key = any(%s)", (list(keys),))
    return sorted(rows, key=lambda r: keys.index(r["source_key"]))


def is_built(conn: psycopg.Connection) -> bool:
    """The publish step has built the cockpit tables at least once."""
    return conn.execute("select to_regclass('cockpit.sources') is not null").fetchone()[0]


def built_for(conn: psycopg.Connection) -> str | None:
    if conn.execute("select to_regclass('cockpit.builds')").fetchone()[0] is None:
        return None
    row = conn.execute("select max(logical_date) from cockpit.builds").fetchone()
    return row[0].isoformat() if row and row[0] else None


def _bar(categories: list[str], series: dict[str, list], unit: str = "", horizontal: bool = False) -> dict:
    axis_cat = {"type": "category", "data": categories}
    axis_val = {"type": "value", "name": unit}
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 60, "right": 20, "top": 40, "bottom": 40, "containLabel": True},
        "xAxis": axis_val if horizontal else axis_cat,
        "yAxis": axis_cat if horizontal else axis_val,
        "series": [{"type": "bar", "name": name, "data": data} for name, data in series.items()],
    }


def _line(categories: list, series: dict[str, list], unit: str = "") -> dict:
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 60, "right": 20, "top": 40, "bottom": 40, "containLabel": True},
        "xAxis": {"type": "category", "data": [str(c) for c in categories]},
        "yAxis": {"type": "value", "name": unit, "scale": True},
        "series": [
            {"type": "line", "name": name, "data": data, "smooth": False} for name, data in series.items()
        ],
    }


def _num(v: Any) -> float | None:
    return None if v is None else float(v)


# -- agriculture ---------------------------------------------------------------------------------------
def bijie_crop_rows(
    conn: psycopg.Connection, county_code: str | None = None, crop: str | None = None
) -> list[dict]:
    return _rows(
        conn,
        """
        select * from cockpit.bijie_crops
        where (%(county)s::text is null or county_code = %(county)s)
          and (%(crop)s::text is null or crop = %(crop)s)
        order by county_code, rank_in_county
        """,
        {"county": county_code, "crop": crop},
    )


def _bijie_scope(q: ParsedQuestion) -> tuple[str | None, bool]:
    """(county code or None for all of Bijie, covered?)."""
    region = q.region
    if region in (None, vocabulary.BIJIE_CODE, vocabulary.PROVINCE_CODE):
        return None, region != vocabulary.PROVINCE_CODE or q.region is None
    division = vocabulary.divisions().get(region)
    if division and division.parent_code == vocabulary.BIJIE_CODE:
        return region, True
    return None, False


def crop_evidence(rows: list[dict], conn: psycopg.Connection) -> tuple[list[str], list[str]]:
    counties = sorted({r["county_code"] for r in rows})
    first = min((r["first_year"] for r in rows), default=None)
    last = max((r["last_year"] for r in rows), default=None)
    src = sources(conn, "bijie_crops_vs_corn")
    batches = src[0]["batches"] if src else []
    evidence = [
        f"部门：农业农村厅（特色农业产业生产情况，分县年度产值与面积）；批次 {len(batches)} 个"
        + (f"，最新 {batches[0]['logical_date']}" if batches else ""),
        f"年份：{first}–{last}（每县最近 {rows[0]['comparison_years'] if rows else '-'} 年与玉米同年对比）",
        f"县数：{len(counties)} 个（毕节市）",
    ]
    fitted = [r for r in rows if r.get("forecast") is not None]
    if fitted:
        model = [r["backtest_error_pct"] for r in fitted if r["backtest_error_pct"] is not None]
        naive = [r["naive_error_pct"] for r in fitted if r["naive_error_pct"] is not None]
        if model and naive:
            model_mape, naive_mape = sum(model) / len(model), sum(naive) / len(naive)
            evidence.append(
                f"回测（{fitted[0]['backtest_year']}年，留出最后一年）：模型平均绝对百分比误差 "
                f"{model_mape:.1f}%，朴素预测（沿用上一年）{naive_mape:.1f}%"
                + ("；模型优于朴素预测" if model_mape < naive_mape else "；模型未优于朴素预测，预测只作参考")
            )
    unknowns = []
    if len(counties) > 1:
        missing = [d.name for d in vocabulary.counties_of(vocabulary.BIJIE_CODE) if d.code not in counties]
        if missing:
            unknowns.append(
                f"{'、'.join(missing)}：平台上没有可与玉米同年对比的亩均数据（农业农村厅未报送该县玉米或作物面积），未参与排名；"
            )
    unknowns += [
        "亩均收益按产值÷面积计算，不含投入成本（种苗、化肥、人工），不是净利润；",
        "未考虑市场容量：多县同时改种同一作物可能压低价格；",
        "畜牧（生猪、牛羊、家禽）按头/羽计，无亩均数据，未参与对比；",
        "土壤、海拔、气候适宜性与农户技术不在平台数据中；",
        "预测只依据该县该作物的年度序列，不预见政策、灾害和价格冲击；区间为80%预测区间。",
    ]
    return evidence, unknowns


def answer_crop_vs_corn(conn: psycopg.Connection, q: ParsedQuestion) -> Answer | None:
    county, covered = _bijie_scope(q)
    if not covered:
        return None
    crop = q.crop if q.crop and q.crop != vocabulary.CORN else None
    rows = bijie_crop_rows(conn, county, crop)
    if not rows:
        return None
    where = vocabulary.region_name(county) if county else "毕节市各县"
    if county:
        shown = rows
        categories = [r["crop"] for r in shown]
    else:
        shown = [r for r in rows if r["rank_in_county"] <= 3] if not crop else rows
        categories = [f"{r['county_name']}·{r['crop']}" for r in shown]
    chart = _bar(
        categories,
        {
            "亩均收益（元/亩）": [_num(r["avg_revenue_per_mu"]) for r in shown],
            "玉米亩均收益（元/亩）": [_num(r["avg_corn_revenue_per_mu"]) for r in shown],
            f"{shown[0]['forecast_year'] or '明年'}年预测": [_num(r["forecast"]) for r in shown],
        },
        "元/亩",
    )
    table = [
        [
            r["county_name"],
            r["rank_in_county"],
            r["crop"],
            _num(r["avg_revenue_per_mu"]),
            _num(r["avg_corn_revenue_per_mu"]),
            f"{r['years_above_corn']}/{r['years_compared']}",
            _num(r["revenue_per_mu_cv"]),
            r["verdict"],
            _forecast_text(r),
            _backtest_text(r),
        ]
        for r in shown
    ]
    best = [r for r in rows if r["rank_in_county"] == 1]
    if county:
        top = rows[0]
        summary = (
            f"{where}：{top['crop']}排第一，{top['first_year']}–{top['last_year']}年有"
            f"{top['years_above_corn']}/{top['years_compared']}年亩均收益高于玉米，平均每亩多"
            f"{float(top['avg_advantage_per_mu']):,.0f}元。"
        )
    elif crop:
        above = sum(1 for r in rows if r["share_years_above_corn"] >= 0.5)
        summary = f"{crop}在毕节 {len(rows)} 个县中有 {above} 个县多数年份亩均收益高于玉米。"
    else:
        counts: dict[str, int] = {}
        for r in best:
            counts[r["crop"]] = counts.get(r["crop"], 0) + 1
        lead = "、".join(f"{c}（{n}县）" for c, n in sorted(counts.items(), key=lambda x: -x[1])[:3])
        summary = f"毕节 {len(best)} 个县各自排第一的作物：{lead}。下表列出每县前三。"
    evidence, unknowns = crop_evidence(rows, conn)
    transport = transport_rows(conn, vocabulary.BIJIE_CODE)
    if transport:
        latest = max(r["year"] for r in transport)
        total = sum(float(r["passengers_wan"]) for r in transport if r["year"] == latest)
        months = min(int(r["months"]) for r in transport if r["year"] == latest)
        evidence.append(
            f"交通：毕节市{latest}年{'' if months >= 12 else f'前{months}个月'}旅客运输量 {total:,.0f} 万人次"
            "（交通运输厅，仅有市州级，无分县数据）"
        )
    else:
        unknowns.append("交通运输厅数据在平台上没有毕节分县的运输数据。")
    return Answer(
        kind="crop_vs_corn",
        title=f"{where}：不种玉米种什么",
        summary=summary,
        columns=[
            "县",
            "排名",
            "作物",
            "亩均收益(元)",
            "玉米亩均(元)",
            "高于玉米年数",
            "变异系数",
            "结论",
            "明年预测(元/亩,80%区间)",
            "回测误差 模型/朴素",
        ],
        rows=table,
        chart=chart,
        sources=sources(conn, "bijie_crops_vs_corn", "crop_performance", "transport"),
        evidence=evidence,
        unknowns=unknowns,
        built_for_date=built_for(conn),
    )


def _forecast_text(r: dict) -> str:
    if r.get("forecast") is None:
        return "年份不足，不预测"
    return (
        f"{float(r['forecast']):,.0f}（{float(r['forecast_lower']):,.0f}–{float(r['forecast_upper']):,.0f}）"
    )


def _backtest_text(r: dict) -> str:
    if r.get("backtest_error_pct") is None:
        return "—"
    return f"{float(r['backtest_error_pct']):.1f}% / {float(r['naive_error_pct']):.1f}%"


def answer_crop_outlook(conn: psycopg.Connection, q: ParsedQuestion) -> Answer | None:
    if not q.crop:
        return None
    county, covered = _bijie_scope(q)
    if covered and q.crop != vocabulary.CORN:
        rows = bijie_crop_rows(conn, county, q.crop)
        if not rows:
            return None
        first = rows[0]
        series = first["series"] or {"years": [], "crop": [], "corn": []}
        chart = (
            _line(series["years"], {q.crop: series["crop"], "玉米": series["corn"]}, "元/亩")
            if county
            else _bar(
                [r["county_name"] for r in rows],
                {
                    "预测": [_num(r["forecast"]) for r in rows],
                    "区间下限": [_num(r["forecast_lower"]) for r in rows],
                    "区间上限": [_num(r["forecast_upper"]) for r in rows],
                },
                "元/亩",
            )
        )
        evidence, unknowns = crop_evidence(rows, conn)
        method = next((r["forecast_method"] for r in rows if r["forecast_method"]), None)
        if method:
            evidence.append(
                f"方法：{method}（statsmodels ETSModel），80%预测区间；回测留出最后一个已知年份，与“沿用上一年”的朴素预测比较。"
            )
        where = vocabulary.region_name(county) if county else "毕节市各县"
        return Answer(
            kind="crop_outlook",
            title=f"{where}·{q.crop}：亩均收益与明年预测",
            summary=f"{where}{q.crop}明年（{first['forecast_year'] or '—'}年）亩均收益预测见下表，附回测误差。",
            columns=[
                "县",
                "作物",
                "最近年份",
                "亩均收益(元)",
                "明年预测(80%区间)",
                "回测年份",
                "回测实际",
                "模型预测",
                "朴素预测",
                "误差 模型/朴素",
            ],
            rows=[
                [
                    r["county_name"],
                    r["crop"],
                    r["last_year"],
                    _num(r["avg_revenue_per_mu"]),
                    _forecast_text(r),
                    r["backtest_year"],
                    _num(r["backtest_actual"]),
                    _num(r["backtest_forecast"]),
                    _num(r["backtest_naive"]),
                    _backtest_text(r),
                ]
                for r in rows
            ],
            chart=chart,
            sources=sources(conn, "bijie_crops_vs_corn", "crop_performance"),
            evidence=evidence,
            unknowns=unknowns,
            built_for_date=built_for(conn),
        )
    # elsewhere in the province: the crop's yearly revenue per mu in the region, no corn comparison table
    region = q.region or vocabulary.PROVINCE_CODE
    rows = _rows(
        conn,
        """
        select year, round(sum(output_value_wan_yuan) * 10000 / nullif(sum(area_mu), 0), 2) as revenue_per_mu,
               round(sum(output_value_wan_yuan), 2) as output_value_wan_yuan, round(sum(area_mu), 0) as area_mu
        from cockpit.crop_series
        where crop = %(crop)s and (%(r)s = '520000' or county_code = %(r)s or prefecture_code = %(r)s)
        group by year order by year
        """,
        {"crop": q.crop, "r": region},
    )
    if not rows:
        return None
    from govlake.cockpit.forecast import forecast_next_year

    fc = forecast_next_year({r["year"]: _num(r["revenue_per_mu"]) for r in rows})
    name = vocabulary.region_name(region)
    summary = f"{name}{q.crop}各年亩均收益（产值÷面积）。"
    if fc:
        summary += (
            f"{fc.forecast_year}年预测 {fc.forecast:,.0f} 元/亩（80%区间 {fc.lower:,.0f}–{fc.upper:,.0f}）；"
            f"回测 {fc.backtest_year} 年误差 {fc.backtest_error_pct}%，朴素预测 {fc.naive_error_pct}%。"
        )
    return Answer(
        kind="crop_outlook",
        title=f"{name}·{q.crop}：亩均收益",
        summary=summary,
        columns=["年份", "亩均收益(元)", "产值(万元)", "面积(亩)"],
        rows=[
            [r["year"], _num(r["revenue_per_mu"]), _num(r["output_value_wan_yuan"]), _num(r["area_mu"])]
            for r in rows
        ],
        chart=_line([r["year"] for r in rows], {q.crop: [_num(r["revenue_per_mu"]) for r in rows]}, "元/亩"),
        sources=sources(conn, "crop_performance"),
        evidence=[f"部门：农业农村厅；年份 {rows[0]['year']}–{rows[-1]['year']}"],
        unknowns=["与玉米的逐年对比库目前只覆盖毕节市；亩均收益不含成本。"],
        built_for_date=built_for(conn),
    )


# -- regions ---------------------------------------------------------------------------------------
def _region(q: ParsedQuestion) -> str:
    return q.region or vocabulary.PROVINCE_CODE


def region_indicator_rows(conn: psycopg.Connection, indicator: str, parent: str) -> list[dict]:
    """The indicator for the region and its children (prefectures of the province, counties of a prefecture)."""
    return _rows(
        conn,
        """
        select * from cockpit.region_indicators
        where indicator = %(i)s and (region_code = %(p)s or parent_code = %(p)s)
        order by (region_code = %(p)s) desc, value desc nulls last
        """,
        {"i": indicator, "p": parent},
    )


def answer_population(conn: psycopg.Connection, q: ParsedQuestion) -> Answer | None:
    region = _region(q)
    years = q.years or 5
    series = _rows(
        conn,
        """
        select year, value, unit from cockpit.region_series
        where region_code = %(r)s and indicator = '常住人口'
          and (%(since)s::int is null or year >= %(since)s)
        order by year desc limit %(n)s
        """,
        {"r": region, "n": 30 if q.since_year else years, "since": q.since_year},
    )
    series.reverse()
    name = vocabulary.region_name(region)
    registered = _rows(
        conn,
        "select * from cockpit.region_indicators where region_code = %s and indicator = 'registered_population'",
        (region,),
    )
    if not series and not registered:
        return None
    rows = [[r["year"], _num(r["value"]), None] for r in series]
    for i in range(1, len(rows)):
        if rows[i - 1][1] and rows[i][1] is not None:
            rows[i][2] = round(rows[i][1] - rows[i - 1][1], 2)
    summary = f"{name}常住人口"
    if len(series) >= 2:
        change = float(series[-1]["value"]) - float(series[0]["value"])
        summary += (
            f"{series[0]['year']}年 {float(series[0]['value']):,.2f} 万人，{series[-1]['year']}年 "
            f"{float(series[-1]['value']):,.2f} 万人，{len(series) - 1} 年间{'增加' if change >= 0 else '减少'}"
            f" {abs(change):,.2f} 万人。"
        )
    if registered:
        r = registered[0]
        summary += (
            f" 户籍在册人口（人口基础库）{display(r['value'], suppressed=r['suppressed'], k=r['k'])} 人。"
        )
    return Answer(
        kind="population_trend",
        title=f"{name}人口：近{len(series) or years}年",
        summary=summary,
        columns=["年份", "常住人口(万人)", "比上年(万人)"],
        rows=rows,
        chart=_line(
            [r["year"] for r in series], {"常住人口（万人）": [_num(r["value"]) for r in series]}, "万人"
        ),
        sources=sources(conn, "macro_economy", "population_development"),
        evidence=[
            f"部门：统计局（常住人口，年度）；公安厅（户籍在册人口）；年份 {series[0]['year'] if series else '-'}–{series[-1]['year'] if series else '-'}"
        ],
        unknowns=["常住人口为统计局年度数，户籍在册为公安厅登记数，两者口径不同。"],
        built_for_date=built_for(conn),
    )


def _indicator_answer(indicator: str, kind: str, title: str, unknowns: list[str]):
    def answer(conn: psycopg.Connection, q: ParsedQuestion) -> Answer | None:
        region = _region(q)
        rows = region_indicator_rows(conn, indicator, region)
        if not rows:
            return None
        head = rows[0] if rows[0]["region_code"] == region else None
        children = [r for r in rows if r["region_code"] != region]
        digits = 2 if indicator == "insurance_coverage" else 0
        name = vocabulary.region_name(region)
        summary = f"{name}{title}：" + (
            display(head["value"], suppressed=head["suppressed"], k=head["k"], digits=digits) if head else "—"
        )
        if head and head.get("note"):
            summary += f"（{head['note']}）"
        visible = [r for r in children if not r["suppressed"]]
        from govlake.cockpit.aggregates import INDICATORS

        label, unit, source_key, _ = INDICATORS[indicator]
        return Answer(
            kind=kind,
            title=f"{name}{title}",
            summary=summary,
            columns=["地区", label, "上期", "说明"],
            rows=[
                [
                    r["region_name"],
                    display(r["value"], suppressed=r["suppressed"], k=r["k"], digits=digits),
                    display(r["previous_value"], digits=digits),
                    r.get("period") or "",
                ]
                for r in ([head] if head else []) + children
            ],
            chart=_bar(
                [r["region_name"] for r in visible], {label: [_num(r["value"]) for r in visible]}, unit, True
            ),
            sources=sources(conn, source_key),
            evidence=[f"截至 {rows[0]['built_for_date']} 发布的数据；小于k的计数以“<k”显示"],
            unknowns=unknowns,
            built_for_date=built_for(conn),
        )

    return answer


answer_market_entities = _indicator_answer(
    "market_births",
    "market_entities",
    "近12个月新设市场主体",
    ["注销日期以市场监管局首次报送注销状态的日期计。"],
)
answer_insurance = _indicator_answer(
    "insurance_coverage",
    "insurance_coverage",
    "社会保险参保覆盖率(%)",
    ["覆盖率=参保人数÷户籍在册人口，按参保人数最多的险种计。"],
)


def answer_subsidy(conn: psycopg.Connection, q: ParsedQuestion) -> Answer | None:
    region = _region(q)
    rows = _rows(
        conn,
        "select * from cockpit.subsidy_findings where region_code = %s order by findings desc",
        (region,),
    )
    name = vocabulary.region_name(region)
    if not rows:
        exists = conn.execute(
            "select count(*) from cockpit.sources where source_key = 'subsidy_audit_findings'"
        ).fetchone()
        if not exists or not exists[0]:
            return None
    want = None
    if any(w in q.text for w in ("已故", "死亡", "去世", "死人", "过世")):
        want = ("paid_after_death", "deceased_still_listed")
    elif "重复" in q.text:
        want = ("paid_twice",)
    focus = [r for r in rows if want is None or r["finding_type"] in want]
    total = sum(r["findings"] for r in focus)
    k = rows[0]["k"] if rows else None
    shown_total = display(total, suppressed=bool(rows) and total < (k or 0), k=k)
    amount = sum(float(r["amount"] or 0) for r in focus)
    summary = (
        f"{name}补贴稽核发现{'（已故人员）' if want and 'paid_after_death' in want else ''}：{shown_total} 条"
    )
    if rows and total >= (k or 0):
        summary += f"，涉及金额 {amount:,.2f} 元"
    summary += "。名单只向有授权的稽核部门提供，驾驶舱只显示汇总。"
    children = region_indicator_rows(conn, "subsidy_findings", region)
    children = [c for c in children if c["region_code"] != region]
    visible = [c for c in children if not c["suppressed"]]
    return Answer(
        kind="subsidy_findings",
        title=f"{name}补贴稽核发现",
        summary=summary,
        columns=["类型", "条数", "金额(元)"],
        rows=[
            [
                r["finding_label"],
                display(r["findings"], suppressed=r["suppressed"], k=r["k"]),
                display(r["amount"], suppressed=r["suppressed"], k=r["k"], digits=2),
            ]
            for r in rows
        ]
        + [
            [f"{c['region_name']}（合计）", display(c["value"], suppressed=c["suppressed"], k=c["k"]), ""]
            for c in children
        ],
        chart=_bar(
            [c["region_name"] for c in visible],
            {"稽核发现（条）": [_num(c["value"]) for c in visible]},
            "条",
            True,
        ),
        sources=sources(conn, "subsidy_audit_findings"),
        evidence=["财政厅补贴发放 × 公安厅户籍死亡记录 × 民政厅低保名单，按发放日期与死亡日期比对"],
        unknowns=["少于k条的地区只显示“<k”；明细（姓名、身份证号）只在稽核部门的授权下可见。"],
        built_for_date=built_for(conn),
    )


# -- departments --------------------------------------------------------------------------------------
def _department_answer(
    kind: str, title: str, order: str, columns: list[tuple[str, str]], source: str, chart_col: str
):
    def answer(conn: psycopg.Connection, q: ParsedQuestion) -> Answer | None:
        rows = _rows(conn, f"select * from cockpit.department_stats order by {order}")
        if not rows:
            return None
        top = rows[0]
        first_col = columns[0][0]
        summary = f"{title}：{top['department_name']}（{columns[0][1]} {top.get(first_col) if top.get(first_col) is not None else '—'}）"
        return Answer(
            kind=kind,
            title=title,
            summary=summary,
            columns=["部门", *(label for _, label in columns)],
            rows=[[r["department_name"], *(_cell(r.get(c)) for c, _ in columns)] for r in rows],
            chart=_bar(
                [r["department_name"] for r in rows],
                {
                    dict(columns)[chart_col]: [
                        _num(r.get(chart_col)) if r.get(chart_col) is not None else None for r in rows
                    ]
                },
                "",
                True,
            ),
            sources=sources(conn, source),
            evidence=[f"{len(rows)} 个部门；截至 {rows[0]['built_for_date']}"],
            unknowns=[],
            built_for_date=built_for(conn),
        )

    return answer


def _cell(v: Any) -> Any:
    if hasattr(v, "isoformat"):
        return v.isoformat(sep=" ", timespec="minutes") if hasattr(v, "hour") else v.isoformat()
    return _num(v) if not isinstance(v, (str, int, type(None))) else v


answer_timeliness = _department_answer(
    "department_timeliness",
    "各部门数据时效（最晚的排最前）",
    "max_days_behind desc nulls first, overdue_datasets desc, last_loaded_at desc nulls first",
    [
        ("max_days_behind", "最新数据距今(天)"),
        ("oldest_latest_date", "最旧一项的最新日期"),
        ("overdue_datasets", "逾期数据集"),
        ("last_loaded_at", "最近入库时间"),
    ],
    "platform_batches",
    "max_days_behind",
)
answer_quality = _department_answer(
    "department_quality",
    "各部门数据质量评分",
    "quality_score desc nulls last",
    [("quality_score", "质量评分"), ("quality_rank", "全省排名"), ("quality_period", "评分周期")],
    "platform_quality",
    "quality_score",
)
answer_open_data = _department_answer(
    "open_data",
    "各部门开放数据",
    "open_datasets desc, open_downloads desc",
    [("open_datasets", "开放数据集"), ("open_downloads", "下载与调用")],
    "platform_open",
    "open_datasets",
)
answer_sharing = _department_answer(
    "sharing",
    "各部门数据共享与读取",
    "reads_of_its_data desc, grants_given desc",
    [
        ("reads_of_its_data", "被读取(近30天)"),
        ("grants_given", "有效授权"),
        ("reads_made", "读取他部门(近30天)"),
    ],
    "platform_sharing",
    "reads_of_its_data",
)


def transport_rows(conn: psycopg.Connection, prefecture: str | None) -> list[dict]:
    return _rows(
        conn,
        "select * from cockpit.transport where (%(p)s::text is null or prefecture_code = %(p)s) order by year, mode",
        {"p": prefecture},
    )


def answer_transport(conn: psycopg.Connection, q: ParsedQuestion) -> Answer | None:
    region = q.region
    division = vocabulary.divisions().get(region) if region else None
    prefecture = division.prefecture_code if division else None
    rows = transport_rows(conn, prefecture)
    if not rows:
        return None
    years = sorted({r["year"] for r in rows})[-(q.years or 5) :]
    modes = sorted({r["mode"] for r in rows})
    series = {
        m: [sum(float(r["passengers_wan"]) for r in rows if r["year"] == y and r["mode"] == m) for y in years]
        for m in modes
    }
    name = vocabulary.region_name(prefecture) if prefecture else "全省"
    unknowns = ["交通运输厅按市州报送，没有分县数据。"] if division and division.level == "county" else []
    return Answer(
        kind="transport",
        title=f"{name}旅客运输量",
        summary=f"{name}{years[0]}–{years[-1]}年旅客运输量（万人次），按运输方式。",
        columns=["年份", *modes],
        rows=[[y, *(round(series[m][i], 2) for m in modes)] for i, y in enumerate(years)],
        chart=_line(years, series, "万人次"),
        sources=sources(conn, "transport"),
        evidence=["部门：交通运输厅（客运量统计，月度）"],
        unknowns=unknowns,
        built_for_date=built_for(conn),
    )


# -- the fallback ------------------------------------------------------------------------------------
def closest_resources(conn: psycopg.Connection, q: ParsedQuestion, limit: int = 5) -> list[dict]:
    """Catalog entries closest to the question: the portal's catalog search (jieba, field weights, idf)
    asked word by word, scores added — an entry matching more of the question's words ranks higher; an
    entry matching none is not offered."""
    from govlake.catalog.catalog_search import search_catalog

    names = [*(q.crops or []), *(vocabulary.region_name(r) for r in q.regions or [])]
    tokens = [*q.tokens, *(half for t in q.tokens if len(t) >= 4 for half in (t[:2], t[2:]))]
    words = [w for w in dict.fromkeys([*tokens, *names]) if len(w) >= 2 and w not in STOPWORDS][:12]
    scores: dict[str, float] = {}
    entries: dict[str, dict] = {}
    for word in words:
        for doc, score in search_catalog(conn, word, page_size=50).hits:
            scores[doc.key] = scores.get(doc.key, 0.0) + score
            entries[doc.key] = doc.payload
    ranked = sorted(scores, key=lambda key: (-scores[key], key))[:limit]
    return [{**entries[key], "hits": round(scores[key], 2)} for key in ranked]


def answer_closest(conn: psycopg.Connection, q: ParsedQuestion, reason: str | None = None) -> Answer:
    resources = closest_resources(conn, q)
    summary = reason or "这个问题驾驶舱还不能直接回答。"
    summary += " 以下是目录中最接近的数据资源：" if resources else " 目录中也没有找到相关的数据资源。"
    return Answer(
        kind="closest_resources",
        title="没有找到直接的答案",
        summary=summary,
        columns=["资源代码", "资源名称", "提供方"],
        rows=[[r["resource_code"], r["name"], r["provider"]] for r in resources],
        resources=resources,
        unknowns=["驾驶舱只回答有数据依据的问题，不作猜测。"],
        built_for_date=built_for(conn),
    )
