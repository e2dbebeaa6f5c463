// 领导驾驶舱: the province map (示意图) coloured by the chosen indicator, drilling into Bijie's counties;
// clicking a region shows where its figure came from; answer charts from their embedded ECharts options.
(function () {
  "use strict";
  var dark = document.body.classList.contains("screen");
  var theme = dark ? "dark" : null;

  function drawAnswerCharts(root) {
    (root || document).querySelectorAll("[data-echarts-option]").forEach(function (el) {
      if (el.dataset.drawn) return;
      var chart = echarts.init(el, theme);
      chart.setOption(JSON.parse(el.dataset.echartsOption));
      el.dataset.drawn = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  drawAnswerCharts();
  document.body.addEventListener("htmx:afterSwap", function (e) { drawAnswerCharts(e.target); });

  var dataEl = document.getElementById("cockpit-data");
  if (!dataEl) return;
  var data = JSON.parse(dataEl.textContent);

  var trendEl = document.getElementById("trend-chart");
  if (trendEl && data.trend && data.trend.length) {
    var trend = echarts.init(trendEl, theme);
    trend.setOption({
      backgroundColor: "transparent",
      grid: { left: 50, right: 10, top: 20, bottom: 25 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: data.trend.map(function (r) { return String(r.year); }) },
      yAxis: { type: "value", scale: true },
      series: [{ type: "line", name: "常住人口（万人）", data: data.trend.map(function (r) { return r.value; }) }]
    });
  }

  var el = document.getElementById("cockpit-map");
  if (!el) return;
  var select = document.getElementById("map-indicator");
  var back = document.getElementById("map-back");
  var chart = echarts.init(el, theme);
  var layer = "guizhou";
  var maps = {};
  var SOURCES = {
    resident_population: "macro_economy", registered_population: "population_development",
    market_births: "entity_births_and_closures", market_closures: "entity_births_and_closures",
    insurance_coverage: "insurance_coverage", subsidy_findings: "subsidy_audit_findings",
    subsidy_amount: "subsidy_audit_findings"
  };

  function draw() {
    var indicator = select.value;
    var values = ((data.map[indicator] || {})[layer]) || [];
    var numbers = values.map(function (v) { return v.value; }).filter(function (v) { return v !== null; });
    var features = maps[layer].features;
    chart.setOption({
      backgroundColor: "transparent",
      title: { text: (layer === "bijie" ? "毕节市各县" : "贵州省各市州") + " · " + data.indicators[indicator] + "（示意图）",
               left: "center", textStyle: { fontSize: dark ? 22 : 14 } },
      tooltip: { trigger: "item", formatter: function (p) {
        var v = values.find(function (x) { return x.name === p.name; });
        return p.name + "<br>" + data.indicators[indicator] + "：" + (v ? v.label : "—");
      } },
      visualMap: { min: numbers.length ? Math.min.apply(null, numbers) : 0,
                   max: numbers.length ? Math.max.apply(null, numbers) : 1,
                   calculable: true, left: 10, bottom: 10, text: ["高", "低"],
                   inRange: { color: dark ? ["#123a5c", "#1f8fff", "#7df9ff"] : ["#e0f3f8", "#4575b4", "#08306b"] } },
      series: [{ type: "map", map: layer, roam: false, selectedMode: false,
                 label: { show: true, fontSize: dark ? 14 : 11, color: dark ? "#fff" : "#1a1a1a",
                          textBorderColor: dark ? "#07142b" : "#fff", textBorderWidth: 2 },
                 data: features.map(function (f) {
                   var v = values.find(function (x) { return x.code === f.id; });
                   return { name: f.properties.name, code: f.id, value: v ? v.value : null };
                 }) }]
    }, true);
    el.dataset.layer = layer;
    el.dataset.regions = String(features.length);
    el.dataset.indicator = indicator;
    back.hidden = layer !== "bijie";
  }

  function showSources(code) {
    var indicator = select.value;
    if (window.htmx) {
      htmx.ajax("GET", "/cockpit/sources/" + SOURCES[indicator] + "?indicator=" + indicator + "&region=" + code,
                { target: "#sources-panel" });
    }
  }

  chart.on("click", function (p) {
    var code = p.data && p.data.code;
    if (layer === "guizhou" && code === "520500") { layer = "bijie"; draw(); }
    if (code) showSources(code);
  });
  select.addEventListener("change", draw);
  back.addEventListener("click", function () { layer = "guizhou"; draw(); });
  window.addEventListener("resize", function () { chart.resize(); });

  Promise.all(["guizhou", "bijie"].map(function (name) {
    return fetch("/static/cockpit/maps/" + name + ".json").then(function (r) { return r.json(); })
      .then(function (geo) { maps[name] = geo; echarts.registerMap(name, geo); });
  })).then(draw);

  // the test and a curious reader can find where a region is drawn
  window.cockpitMap = {
    chart: chart,
    layer: function () { return layer; },
    pixelOf: function (code) {
      var f = maps[layer].features.find(function (x) { return x.id === code; });
      return f ? chart.convertToPixel({ seriesIndex: 0 }, f.properties.cp) : null;
    }
  };
})();
