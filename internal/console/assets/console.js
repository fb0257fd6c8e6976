// lambada console: the few behaviours html and htmx do not cover.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = function () { return meta ? meta.content : ""; };
  // Every htmx request carries the session's CSRF token (docs/console.md §2).
  document.addEventListener("htmx:configRequest", function (e) {
    e.detail.headers["X-CSRF-Token"] = csrf();
  });
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  // A copy button copies its data-copy text.
  document.addEventListener("click", function (e) {
    var copy = e.target.closest("[data-copy]");
    if (!copy || !navigator.clipboard) return;
    navigator.clipboard.writeText(copy.getAttribute("data-copy")).then(function () {
      copy.textContent = "Copied";
      setTimeout(function () { copy.textContent = "Copy"; }, 1500);
    }, function () {});
  });
  // A streamed test invoke: server-sent events read from a POST, each
  // chunk shown as it arrives. Text only ever goes in through textContent.
  document.addEventListener("click", function (e) {
    var btn = e.target.closest("#invoke-stream");
    if (!btn) return;
    var form = btn.form, out = document.getElementById("result");
    var body = new URLSearchParams({ payload: form.payload.value, qualifier: form.qualifier.value });
    out.replaceChildren(el("h3", "Streamed response"), el("p", "0 chunks", "note"), el("pre"));
    var count = out.children[1], pre = out.children[2], n = 0;
    pre.id = "stream-output";
    btn.disabled = true;
    fetch(form.getAttribute("data-stream"), { method: "POST", headers: { "X-CSRF-Token": csrf() }, body: body })
      .then(function (resp) {
        var reader = resp.body.getReader(), dec = new TextDecoder(), buf = "";
        function handle(frame) {
          var name = "", data = "";
          frame.split("\n").forEach(function (l) {
            if (l.indexOf("event: ") === 0) name = l.slice(7);
            else if (l.indexOf("data: ") === 0) data += l.slice(6);
          });
          var v = data ? JSON.parse(data) : null;
          if (name === "chunk") {
            var span = el("span", v, "chunk");
            span.setAttribute("data-chunk", String(++n));
            pre.appendChild(span);
            count.textContent = n + (n === 1 ? " chunk" : " chunks");
          } else if (name === "end") {
            var dl = el("dl", undefined, "kv");
            dl.id = "result-summary";
            [["Status", v.Status], ["Request id", v.RequestID], ["Refused", v.Error], ["Function error", v.FunctionError ? v.FunctionError + " (" + v.ErrorType + ")" : "none"],
             ["Duration", v.Duration], ["Billed duration", v.Billed], ["Max memory used", v.MaxMemory], ["Round trip", v.RoundTrip]].forEach(function (kv) {
              if (kv[1] === "" || kv[1] === undefined) return;
              dl.appendChild(el("dt", kv[0]));
              dl.appendChild(el("dd", String(kv[1])));
            });
            out.insertBefore(dl, out.firstChild);
            if (v.Payload) { out.appendChild(el("h3", "Error")); out.appendChild(el("pre", v.Payload)); }
            if (v.Log) { out.appendChild(el("h3", "Log tail")); var log = el("pre", v.Log); log.id = "r-log"; out.appendChild(log); }
          }
        }
        function pump() {
          return reader.read().then(function (r) {
            if (r.done) return;
            buf += dec.decode(r.value, { stream: true });
            var i;
            while ((i = buf.indexOf("\n\n")) >= 0) { handle(buf.slice(0, i)); buf = buf.slice(i + 2); }
            return pump();
          });
        }
        if (!resp.ok) return resp.text().then(function (t) { count.textContent = "Refused: " + resp.status + " " + t; });
        return pump();
      })
      .catch(function (err) { count.textContent = "Failed: " + err; })
      .finally(function () { btn.disabled = false; });
  });
})();
