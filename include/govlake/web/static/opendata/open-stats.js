// 开放统计: draws the three charts of /open/stats from the JSON the page carries (no inline data in JS).
(function () {
  function draw() {
    if (!window.echarts) { return setTimeout(draw, 50); }
    var holder = document.getElementById('open-stats-data');
    if (!holder) { return; }
    var data = JSON.parse(holder.textContent);
    var charts = [];
    function chart(id, option) {
      var el = document.getElementById(id);
      if (!el) { return; }
      var c = echarts.init(el);
      c.setOption(option);
      charts.push(c);
    }
    var depts = data.departments;
    chart('chart-departments', {
      tooltip: { trigger: 'axis' }, legend: { top: 0 },
      grid: { left: 60, right: 60, top: 40, bottom: 40 },
      xAxis: { type: 'category', data: depts.map(function (d) { return d[0]; }) },
      yAxis: [{ type: 'value', name: '数据集', minInterval: 1 }, { type: 'value', name: '次数', minInterval: 1 }],
      series: [
        { name: '数据集', type: 'bar', barMaxWidth: 48, data: depts.map(function (d) { return d[1]; }), label: { show: true, position: 'top' } },
        { name: '下载', type: 'bar', barMaxWidth: 48, yAxisIndex: 1, data: depts.map(function (d) { return d[3]; }) },
        { name: 'API 调用', type: 'bar', barMaxWidth: 48, yAxisIndex: 1, data: depts.map(function (d) { return d[4]; }) }
      ]
    });
    var prefs = data.prefectures;
    chart('chart-prefectures', {
      tooltip: { trigger: 'axis' }, legend: { top: 0 },
      grid: { left: 60, right: 60, top: 40, bottom: 40 },
      xAxis: { type: 'category', data: prefs.map(function (p) { return p[0]; }), axisLabel: { interval: 0 } },
      yAxis: [{ type: 'value', name: '数据集', minInterval: 1 }, { type: 'value', name: '公开行数' }],
      series: [
        { name: '有数据的数据集', type: 'bar', barMaxWidth: 48, data: prefs.map(function (p) { return p[1]; }) },
        { name: '公开行数', type: 'line', yAxisIndex: 1, data: prefs.map(function (p) { return p[2]; }) }
      ]
    });
    var days = data.daily;
    chart('chart-daily', {
      tooltip: { trigger: 'axis' }, legend: { top: 0 },
      grid: { left: 50, right: 20, top: 40, bottom: 40 },
      xAxis: { type: 'category', data: days.map(function (d) { return d[0].slice(5); }) },
      yAxis: { type: 'value', minInterval: 1 },
      series: [
        { name: '下载', type: 'line', data: days.map(function (d) { return d[1]; }) },
        { name: 'API 调用', type: 'line', data: days.map(function (d) { return d[2]; }) }
      ]
    });
    window.addEventListener('resize', function () { charts.forEach(function (c) { c.resize(); }); });
    document.body.setAttribute('data-charts-drawn', String(charts.length));
  }
  if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', draw); } else { draw(); }
})();
