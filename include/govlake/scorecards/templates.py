"""The scorecard page (Jinja): one template for a department and for the province, screen and print.

Kept as a Python string so the package needs no extra package-data rule; the same HTML is the web page
and, through WeasyPrint, the PDF (``@page`` A4). Fonts: the first installed CJK family wins — Debian's
``fonts-noto-cjk`` provides "Noto Sans CJK SC".
"""

PAGE = r"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{{ title }}</title>
<style>
  @page { size: A4; margin: 14mm 12mm 16mm 12mm;
          @bottom-center { content: "{{ footer }} · 第 " counter(page) " 页 / 共 " counter(pages) " 页";
                           font-size: 8pt; color: #607d8b; } }
  /* on html, not body: the page footer (a margin box) inherits from the root */
  html { font-family: {{ fonts }}; }
  body { color: #263238; margin: 0 auto; max-width: 1000px;
         font-size: 10.5pt; line-height: 1.45; }
  header { border-bottom: 3px solid #1f4e79; padding: 6px 0 8px; margin-bottom: 10px; }
  h1 { font-size: 18pt; margin: 0; color: #1f4e79; }
  h2 { font-size: 12.5pt; color: #1f4e79; margin: 14px 0 6px; border-left: 4px solid #1f4e79; padding-left: 6px; }
  .sub { color: #607d8b; font-size: 9.5pt; }
  .kpis { display: flex; gap: 10px; flex-wrap: wrap; margin: 8px 0; }
  .kpi { border: 1px solid #cfd8dc; border-radius: 6px; padding: 6px 10px; min-width: 120px; }
  .kpi .v { font-size: 17pt; font-weight: bold; }
  .kpi .l { font-size: 8.5pt; color: #607d8b; }
  .row { display: flex; gap: 14px; flex-wrap: wrap; align-items: flex-start; }
  .card { break-inside: avoid; }
  table { border-collapse: collapse; width: 100%; font-size: 9pt; margin: 4px 0 8px; }
  th, td { border: 1px solid #cfd8dc; padding: 3px 5px; text-align: left; vertical-align: top; }
  th { background: #eceff1; }
  td.num, th.num { text-align: right; white-space: nowrap; }
  .good { color: #2e7d32; } .fair { color: #b26a00; } .poor { color: #c62828; } .none { color: #9e9e9e; }
  .cell-good { background: #e8f5e9; } .cell-fair { background: #fff8e1; } .cell-poor { background: #ffebee; }
  .note { font-size: 8.5pt; color: #607d8b; }
  tr { break-inside: avoid; }
</style>
</head>
<body>
<header>
  <h1>{{ title }}</h1>
  <div class="sub">{{ period_zh }} · 统计区间 {{ start }} 至 {{ end }} · 依据 GB/T 36344-2018 六个质量维度 · 生成于 {{ generated }}</div>
</header>

<div class="kpis">
  <div class="kpi"><div class="v {{ band(card.overall) }}">{{ fmt(card.overall) }}</div><div class="l">综合得分（满分 100）</div></div>
  {% if not card.is_province %}
  <div class="kpi"><div class="v">{% if card.rank %}{{ card.rank }} / {{ card.ranked_of }}{% else %}—{% endif %}</div><div class="l">全省排名</div></div>
  {% else %}
  <div class="kpi"><div class="v">{{ card.ranked_of }}</div><div class="l">参评部门</div></div>
  {% endif %}
  <div class="kpi"><div class="v">{{ delta(card) }}</div><div class="l">较上期（{{ previous_label }}）</div></div>
  <div class="kpi"><div class="v">{{ "{:,}".format(card.rows_checked) }}</div><div class="l">接收记录数（{{ card.batches }} 个批次）</div></div>
  <div class="kpi"><div class="v">{{ "{:,}".format(card.quarantine_open) }} / {{ "{:,}".format(card.quarantine_resolved) }}</div><div class="l">隔离记录：待纠正 / 已纠正</div></div>
  <div class="kpi"><div class="v">{{ days(card.median_days_to_correct) }}</div><div class="l">纠正用时中位数</div></div>
  <div class="kpi"><div class="v">{{ card.late_deliveries }} / {{ card.missing_deliveries }}</div><div class="l">迟交 / 未交 批次</div></div>
</div>

<div class="row card">
  <div><h2>六维得分</h2>{{ radar_svg }}</div>
  <div><h2>各维度得分</h2>{{ bars_svg }}</div>
</div>

<div class="row card">
  <div><h2>得分趋势</h2>{{ trend_svg }}</div>
  {% if ranking_svg %}<div><h2>全省排名</h2>{{ ranking_svg }}</div>{% endif %}
</div>

<div class="card">
<h2>维度明细</h2>
<table>
  <tr><th>质量维度</th><th class="num">得分</th><th class="num">权重</th><th class="num">检查数</th><th class="num">不合格数</th><th>计算方法</th></tr>
  {% for d in dims %}
  <tr><td>{{ d.name_zh }} ({{ d.dimension }})</td><td class="num {{ band(d.score) }}">{{ fmt(d.score) }}</td>
      <td class="num">{{ "%.0f%%" % (d.weight * 100) }}</td><td class="num">{{ "{:,}".format(d.checks) }}</td>
      <td class="num">{{ "{:,}".format(d.failures) }}</td><td>{{ d.method }}</td></tr>
  {% endfor %}
</table>
<div class="note">维度得分 = 100 × (1 − 不合格数 / 检查数)；综合得分为已评分维度的加权平均（未评分维度的权重按比例分摊）。</div>
</div>

{% if departments %}
<div class="card">
<h2>各部门得分</h2>
<table>
  <tr><th class="num">排名</th><th>部门</th><th class="num">综合</th>{% for name in dim_names %}<th class="num">{{ name }}</th>{% endfor %}<th class="num">较上期</th></tr>
  {% for c in departments %}
  <tr><td class="num">{{ c.rank or "—" }}</td><td>{{ c.department_name }}</td><td class="num {{ band(c.overall) }}"><b>{{ fmt(c.overall) }}</b></td>
      {% for d in c.dimensions.values() %}<td class="num cell-{{ band(d.score) }}">{{ fmt(d.score) }}</td>{% endfor %}
      <td class="num">{{ delta(c) }}</td></tr>
  {% endfor %}
</table>
</div>
{% endif %}

<div class="card">
<h2>不合格最多的规则</h2>
{% if card.top_rules %}
<table>
  <tr>{% if card.is_province %}<th>部门</th>{% endif %}<th>规则</th><th>说明</th><th>维度</th><th>级别</th><th class="num">不合格行</th><th class="num">占比</th></tr>
  {% for r in card.top_rules %}
  <tr>{% if card.is_province %}<td>{{ dept_name(r.department) }}</td>{% endif %}<td>{{ r.rule }}</td><td>{{ rule_text(r) }}</td><td>{{ dim_zh(r.dimension) }}</td>
      <td>{{ "阻断" if r.severity == "blocking" else "告警" }}</td><td class="num">{{ "{:,}".format(r.failures) }}</td>
      <td class="num">{{ share(r) }}</td></tr>
  {% endfor %}
</table>
{% else %}<p>本期没有不合格的规则。</p>{% endif %}
</div>

<div class="card">
<h2>迟交与未交</h2>
{% if card.late %}
<table>
  <tr>{% if card.is_province %}<th>部门</th>{% endif %}<th>数据集</th><th>业务日期</th><th>状态</th><th>应交时间</th><th>实交时间</th><th>迟交时长</th></tr>
  {% for d in card.late %}
  <tr>{% if card.is_province %}<td>{{ dept_name(d.department) }}</td>{% endif %}<td>{{ d.dataset }}</td><td>{{ d.logical_date }}</td>
      <td class="{{ 'poor' if d.status == 'missing' else 'fair' }}">{{ "未交" if d.status == "missing" else "迟交" }}</td>
      <td>{{ (d.expected_by or "")[:16]|replace("T", " ") }}</td><td>{{ (d.delivered_at or "—")[:16]|replace("T", " ") }}</td><td>{{ d.late_by or "—" }}</td></tr>
  {% endfor %}
</table>
{% else %}<p>{{ late_note }}</p>{% endif %}
</div>

<p class="note">数据来源：platform.validation_results、platform.quarantine、platform.batches{% if has_deliveries %}、platform.deliveries{% endif %}。
被隔离的每一行都已通过每日纠错清单（s3://exchange/&lt;部门&gt;/correction-lists/）退回数据提供部门；修正后重新报送并通过全部规则的记录自动标记为已纠正。评分方法见 docs/QUALITY.md。</p>
</body>
</html>
"""
