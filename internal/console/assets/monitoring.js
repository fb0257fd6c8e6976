// lambada console, Monitoring: draws api/series with uPlot and refreshes
// it every step (docs/console.md §6).
(function () {
  "use strict";
  var root = document.getElementById("charts");
  if (!root || !window.uPlot) return;
  var status = document.getElementById("charts-status");
  var step = parseFloat(root.getAttribute("data-step")) || 10;
  var span = parseFloat(root.getAttribute("data-window")) || 3600;
  // The time axis spans the window, ending now.
  function xRange() { var now = Date.now() / 1000; return [now - span, now]; }
  var charts = {};
  var defs = {
    counts: [["Invocations", "invocations", "#2f7ed8"], ["Errors", "errors", "#d62728"], ["Throttles", "throttles", "#ff9f1c"]],
    duration: [["p50", "durationP50", "#2ca02c"], ["p99", "durationP99", "#9467bd"]],
    concurrent: [["Concurrent", "concurrent", "#17becf"]],
    queue: [["Queue (all)", "depth", "#8c564b"], ["This function's", "queued", "#e377c2"], ["Running here", "inFlight", "#7f7f7f"]],
    age: [["Oldest of all (s)", "oldestAge", "#bcbd22"], ["This function's (s)", "queuedAge", "#e377c2"]]
  };
  function columns(data, def) {
    var cols = [data.times || []];
    def.forEach(function (d) { cols.push(data[d[1]] || []); });
    return cols;
  }
  function draw(data) {
    Object.keys(defs).forEach(function (key) {
      var el = root.querySelector('[data-chart="' + key + '"]');
      var cols = columns(data, defs[key]);
      if (charts[key]) { charts[key].setData(cols); return; }
      var opts = {
        width: Math.max(el.clientWidth, 240), height: 200,
        series: [{}].concat(defs[key].map(function (d) { return { label: d[0], stroke: d[2], width: 1.5, spanGaps: false }; })),
        axes: [{ stroke: "currentColor", grid: { stroke: "rgba(128,128,128,.2)" } }, { stroke: "currentColor", grid: { stroke: "rgba(128,128,128,.2)" } }],
        scales: {
          x: { time: true, range: function () { return xRange(); } },
          y: { range: function (u, min, max) { return [0, Math.max(1, max)]; } }
        }
      };
      charts[key] = new uPlot(opts, cols, el);
    });
    window.lambadaCharts = { samples: (data.times || []).length, data: data };
    status.textContent = "Updated " + new Date().toLocaleTimeString() + ", " + (data.times || []).length + " samples.";
  }
  function load() {
    fetch(root.getAttribute("data-src"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status + " " + r.statusText); return r.json(); })
      .then(draw)
      .catch(function (e) { status.textContent = "Could not load the series: " + e.message; });
  }
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (k) {
      var el = root.querySelector('[data-chart="' + k + '"]');
      charts[k].setSize({ width: Math.max(el.clientWidth, 240), height: 200 });
    });
  });
  load();
  setInterval(load, step * 1000);
})();
