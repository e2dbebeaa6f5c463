/* The 血缘 graph: cytoscape.js + dagre, left to right by layer. One hop up and down to start; a click on a
   node loads its own hop (expand); choosing a column highlights every relation and edge on its path;
   search finds a node (loading it if it is not drawn yet); 收起 returns to the first view. */
(function () {
  "use strict";
  if (window.cytoscape && window.cytoscapeDagre && !window.__govlakeDagre) {
    window.cytoscape.use(window.cytoscapeDagre);
    window.__govlakeDagre = true;
  }
  var COLORS = {department: "#0b5cad", system: "#52606d", dataset: "#7b5ea7", source: "#8a6d3b", landing: "#9aa5b1",
                lake: "#9aa5b1", raw: "#829ab1", staging: "#3e7cb1", intermediate: "#2f6f9f", base: "#1b7f3b",
                themes: "#2d8a5f", share: "#a35a00", exchange: "#c05621", open: "#b42318", "export": "#6b4f1d",
                app: "#7a1f5c", exposure: "#0f766e", public: "#334e68", reference: "#829ab1"};

  function enc(id) { return id.split("/").map(encodeURIComponent).join("/"); }
  function getJSON(url) { return fetch(url, {credentials: "same-origin"}).then(function (r) {
    if (!r.ok) { throw new Error(url + " → " + r.status); } return r.json(); }); }

  function toElements(data) {
    var els = [];
    data.nodes.forEach(function (n) {
      els.push({group: "nodes", data: {id: n.id, label: (n.label && n.label !== n.id ? n.label + "\n" : "") + n.id,
                                       type: n.type, color: COLORS[n.type] || "#52606d"}});
    });
    data.edges.forEach(function (e) {
      els.push({group: "edges", data: {id: e.source + "→" + e.target + "|" + e.kind, source: e.source,
                                       target: e.target, kind: e.kind}});
    });
    return els;
  }

  function Lineage(root) {
    this.root = root;
    this.start = root.getAttribute("data-lineage-node");
    this.expanded = {};
    var self = this;
    this.cy = window.cytoscape({
      container: root.querySelector(".lineage-canvas"),
      wheelSensitivity: 0.3,
      style: [
        {selector: "node", style: {"label": "data(label)", "background-color": "data(color)", "color": "#1f2933",
          "font-size": 9, "text-wrap": "wrap", "text-max-width": 160, "text-valign": "bottom", "text-margin-y": 4,
          "width": 18, "height": 18}},
        {selector: "node.focus", style: {"border-width": 4, "border-color": "#f7b500"}},
        {selector: "node.on-path", style: {"background-color": "#f7b500", "border-width": 3, "border-color": "#b42318"}},
        {selector: "node.dim", style: {"opacity": 0.35}},
        {selector: "edge", style: {"width": 1.5, "line-color": "#bcccdc", "target-arrow-color": "#bcccdc",
          "target-arrow-shape": "triangle", "curve-style": "bezier", "arrow-scale": 0.8}},
        {selector: "edge.on-path", style: {"width": 4, "line-color": "#f7b500", "target-arrow-color": "#f7b500"}}
      ]
    });
    this.cy.on("tap", "node", function (evt) { self.select(evt.target.id()); self.expand(evt.target.id()); });
    root.querySelector(".lineage-collapse").addEventListener("click", function () { self.reset(); });
    root.querySelector(".lineage-columns").addEventListener("change", function (evt) {
      if (evt.target.value) { self.highlightColumn(evt.target.value); } else { self.clearHighlight(); }
    });
    var search = root.querySelector(".lineage-search");
    search.addEventListener("keydown", function (evt) {
      if (evt.key === "Enter") { evt.preventDefault(); self.find(search.value.trim()); }
    });
    root.__lineage = this;
    this.reset();
  }

  Lineage.prototype.load = function (node, up, down) {
    var self = this;
    return getJSON("/lineage/data/graph/" + enc(node) + "?up=" + up + "&down=" + down).then(function (data) {
      self.cy.add(toElements(data).filter(function (el) { return self.cy.getElementById(el.data.id).empty(); }));
      self.layout();
      return data;
    });
  };
  Lineage.prototype.layout = function () {
    this.cy.layout({name: "dagre", rankDir: "LR", nodeSep: 18, rankSep: 90, animate: false}).run();
    this.cy.fit(undefined, 20);
    this.root.setAttribute("data-nodes", String(this.cy.nodes().length));
  };
  Lineage.prototype.reset = function () {
    this.cy.elements().remove();
    this.expanded = {};
    this.expanded[this.start] = true;
    var self = this;
    return this.load(this.start, 1, 1).then(function () {
      self.cy.getElementById(self.start).addClass("focus");
      self.select(self.start);
      self.root.setAttribute("data-ready", "true");
    });
  };
  Lineage.prototype.expand = function (node) {
    if (this.expanded[node]) { return Promise.resolve(); }
    this.expanded[node] = true;
    return this.load(node, 1, 1);
  };
  Lineage.prototype.select = function (node) {
    var self = this;
    this.root.querySelector(".lineage-selected").textContent = node;
    this.root.setAttribute("data-selected", node);
    var select = this.root.querySelector(".lineage-columns");
    getJSON("/lineage/data/columns/" + enc(node)).then(function (cols) {
      select.innerHTML = "";
      var blank = document.createElement("option"); blank.value = ""; blank.textContent = cols.length ? "（选择一列）" : "（无列）";
      select.appendChild(blank);
      cols.forEach(function (c) {
        var o = document.createElement("option"); o.value = node + "." + c; o.textContent = c; select.appendChild(o);
      });
    }).catch(function () { select.innerHTML = '<option value="">（无列）</option>'; self.clearHighlight(); });
  };
  Lineage.prototype.clearHighlight = function () {
    this.cy.elements().removeClass("on-path dim");
    this.root.querySelector(".lineage-path").innerHTML = "";
    this.root.removeAttribute("data-path");
  };
  Lineage.prototype.highlightColumn = function (column) {
    var self = this;
    return getJSON("/lineage/data/column-path/" + enc(column)).then(function (path) {
      var missing = path.relations.filter(function (r) { return self.cy.getElementById(r).empty(); });
      var pending = missing.length ? Promise.all(missing.slice(0, 40).map(function (r) { return self.load(r, 0, 0); }))
                                   : Promise.resolve();
      return pending.then(function () {
        self.cy.elements().removeClass("on-path").addClass("dim");
        var rels = {};
        path.relations.forEach(function (r) { rels[r] = true; self.cy.getElementById(r).removeClass("dim").addClass("on-path"); });
        path.edges.forEach(function (e) {
          var s = e.source.slice(0, e.source.lastIndexOf(".")), t = e.target.slice(0, e.target.lastIndexOf("."));
          self.cy.edges().filter(function (edge) { return edge.source().id() === s && edge.target().id() === t; })
            .removeClass("dim").addClass("on-path");
        });
        self.layout();
        var list = self.root.querySelector(".lineage-path");
        list.innerHTML = "";
        path.columns.forEach(function (c) { var li = document.createElement("li"); li.textContent = c; list.appendChild(li); });
        self.root.setAttribute("data-path", path.columns.join(" "));
      });
    });
  };
  Lineage.prototype.find = function (q) {
    if (!q) { return; }
    var self = this;
    var local = this.cy.nodes().filter(function (n) { return n.id().indexOf(q) >= 0 || String(n.data("label")).indexOf(q) >= 0; });
    if (local.nonempty()) { this.focusOn(local[0].id()); return; }
    getJSON("/lineage/data/search?q=" + encodeURIComponent(q)).then(function (hits) {
      if (!hits.length) { return; }
      self.load(hits[0].id, 1, 1).then(function () { self.focusOn(hits[0].id); });
    });
  };
  Lineage.prototype.focusOn = function (id) {
    var n = this.cy.getElementById(id);
    this.cy.nodes().removeClass("focus");
    n.addClass("focus");
    this.cy.animate({center: {eles: n}, zoom: 1.2}, {duration: 200});
    this.select(id);
  };

  window.govlakeLineage = {
    initAll: function () {
      if (window.cytoscape && window.cytoscapeDagre && !window.__govlakeDagre) {
        window.cytoscape.use(window.cytoscapeDagre); window.__govlakeDagre = true;
      }
      document.querySelectorAll("[data-lineage-node]").forEach(function (root) {
        if (!root.__lineage) { new Lineage(root); }
      });
    }
  };
})();
