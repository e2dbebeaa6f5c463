/* 共享图谱: departments as nodes, flows as edges whose width is the last 30 days' rows; flows in use are
   drawn as moving dashes (the "arteries"), grants not yet used as still dashed lines. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("sharing-data").textContent);
  var max = Math.max.apply(null, [1].concat(data.flows.map(function (f) { return f.rows; })));
  var els = data.nodes.map(function (n) {
    return {data: {id: n.id, label: n.label, color: n.sensitivity === "high" ? "#b42318" : (n.id === "public" ? "#334e68" : "#0b5cad")}};
  });
  data.flows.forEach(function (f, i) {
    els.push({data: {id: "f" + i, source: f.source, target: f.target, rows: f.rows,
                     width: 1.5 + 10 * Math.sqrt(f.rows / max), active: f.rows > 0 ? 1 : 0,
                     label: f.rows > 0 ? f.rows.toLocaleString() : "授权"}});
  });
  var cy = window.cytoscape({
    container: document.getElementById("sharing-graph"),
    elements: els,
    layout: {name: "circle", padding: 30},
    style: [
      {selector: "node", style: {"label": "data(label)", "background-color": "data(color)", "font-size": 12, "width": 26, "height": 26}},
      {selector: "edge", style: {"width": "data(width)", "curve-style": "bezier", "target-arrow-shape": "triangle",
        "line-color": "#c05621", "target-arrow-color": "#c05621", "opacity": 0.8, "label": "data(label)", "font-size": 9,
        "line-style": "dashed", "line-dash-pattern": [8, 6]}},
      {selector: "edge[active = 0]", style: {"line-color": "#9aa5b1", "target-arrow-color": "#9aa5b1", "line-dash-pattern": [3, 5]}}
    ]
  });
  var offset = 0;
  var reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  function tick() {
    offset = (offset - 1) % 1000;
    cy.edges("[active = 1]").style("line-dash-offset", offset);
    window.requestAnimationFrame(tick);
  }
  if (!reduce) { window.requestAnimationFrame(tick); }
  window.govlakeSharing = cy;
})();
