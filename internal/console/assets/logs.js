// lambada console, Logs: renders the live tail (server-sent events from
// api/logs/tail) without freezing the page: lines wait in a queue and are
// drawn once per animation frame, the view keeps the newest maxRows rows
// (docs/console.md §5).
(function () {
  "use strict";
  var view = document.getElementById("logview");
  if (!view) return;
  var maxRows = 2000, maxPending = 20000;
  var status = document.getElementById("log-status");
  var pauseBtn = document.getElementById("log-pause");
  var pending = [], scheduled = false, paused = false, state = "Connecting…", lastStatus = 0;
  // What the browser test reads: counts and when the last frame drew.
  var stats = window.lambadaLogs = { received: 0, rendered: 0, skipped: 0, events: 0, frames: 0, lastRender: 0 };

  function pad(n, w) { n = String(n); while (n.length < w) n = "0" + n; return n; }
  function stamp(ms) {
    var d = new Date(ms);
    return pad(d.getUTCHours(), 2) + ":" + pad(d.getUTCMinutes(), 2) + ":" + pad(d.getUTCSeconds(), 2) + "." + pad(d.getUTCMilliseconds(), 3);
  }
  function row(l) {
    var div = document.createElement("div");
    var t = document.createElement("time");
    t.textContent = stamp(l[0]);
    t.title = l[1];
    div.appendChild(t);
    div.appendChild(document.createTextNode(l[2]));
    return div;
  }
  var statusTimer = 0;
  function showStatus(force) {
    var now = performance.now();
    if (!force && now - lastStatus < 250) {
      // Throttled: the newest figures still show a moment later.
      if (!statusTimer) statusTimer = setTimeout(function () { statusTimer = 0; showStatus(true); }, 250);
      return;
    }
    lastStatus = now;
    status.textContent = (paused ? "Paused" : state) + " · " + stats.received.toLocaleString() + " lines received" +
      (view.childElementCount >= maxRows ? " · showing the newest " + maxRows.toLocaleString() : "") +
      (pending.length && paused ? " · " + pending.length.toLocaleString() + " waiting" : "");
  }
  function schedule() {
    if (scheduled || paused) return;
    scheduled = true;
    if (document.hidden) setTimeout(flush, 250); else requestAnimationFrame(flush);
  }
  function flush() {
    scheduled = false;
    if (paused || !pending.length) return;
    var atBottom = view.scrollTop + view.clientHeight >= view.scrollHeight - 8;
    var batch = pending;
    pending = [];
    if (batch.length > maxRows) {
      stats.skipped += batch.length - maxRows;
      batch = batch.slice(batch.length - maxRows);
    }
    var frag = document.createDocumentFragment();
    for (var i = 0; i < batch.length; i++) frag.appendChild(row(batch[i]));
    view.appendChild(frag);
    var extra = view.childElementCount - maxRows;
    if (extra > 0) {
      var r = document.createRange();
      r.setStartBefore(view.firstElementChild);
      r.setEndBefore(view.children[extra]);
      r.deleteContents();
    }
    stats.rendered += batch.length;
    stats.frames++;
    stats.lastRender = performance.now();
    if (atBottom) view.scrollTop = view.scrollHeight;
    showStatus(false);
  }

  var es = new EventSource(view.getAttribute("data-src"));
  es.onopen = function () { state = "Live"; showStatus(true); };
  es.onerror = function () { state = "Reconnecting…"; showStatus(true); };
  es.onmessage = function (e) {
    var lines = JSON.parse(e.data).lines || [];
    stats.events++;
    stats.received += lines.length;
    for (var i = 0; i < lines.length; i++) pending.push(lines[i]);
    if (pending.length > maxPending) {
      stats.skipped += pending.length - maxPending;
      pending.splice(0, pending.length - maxPending);
    }
    schedule();
  };
  window.addEventListener("pagehide", function () { es.close(); });

  pauseBtn.addEventListener("click", function () {
    paused = !paused;
    pauseBtn.setAttribute("aria-pressed", paused ? "true" : "false");
    pauseBtn.textContent = paused ? "Resume" : "Pause";
    showStatus(true);
    schedule();
  });
  document.getElementById("log-clear").addEventListener("click", function () {
    view.textContent = "";
    showStatus(true);
  });

  // Jump to a request id: its lines from the server (START to REPORT),
  // and the first row of the live view that names it, highlighted.
  var panel = document.getElementById("request-panel");
  var rview = document.getElementById("request-view");
  var rstatus = document.getElementById("request-status");
  function jump(id) {
    if (!id) return;
    panel.hidden = false;
    document.getElementById("request-h").textContent = "Request " + id;
    rstatus.textContent = "Looking for it…";
    rview.textContent = "";
    var hit = null;
    for (var el = view.firstElementChild; el; el = el.nextElementSibling) {
      el.classList.remove("hit");
      if (!hit && el.textContent.indexOf(id) >= 0) hit = el;
    }
    if (hit) { hit.classList.add("hit"); hit.scrollIntoView({ block: "center" }); }
    fetch(view.getAttribute("data-request-src") + "&id=" + encodeURIComponent(id), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (d) { return { ok: r.ok, d: d }; }); })
      .then(function (x) {
        if (!x.ok) { rstatus.textContent = x.d.message || "Not found."; return; }
        var frag = document.createDocumentFragment();
        x.d.lines.forEach(function (l) { frag.appendChild(row(l)); });
        rview.appendChild(frag);
        rstatus.textContent = x.d.lines.length + " lines in log stream " + x.d.stream + (x.d.complete ? "" : " (not finished, or more than shown)");
        panel.scrollIntoView({ block: "start" });
      })
      .catch(function (e) { rstatus.textContent = "Could not look it up: " + e.message; });
  }
  document.getElementById("request-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var id = document.getElementById("log-request").value.trim();
    var u = new URL(location.href);
    u.searchParams.set("request", id);
    history.replaceState(null, "", u);
    jump(id);
  });
  jump(view.getAttribute("data-request"));
})();
