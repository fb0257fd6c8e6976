// lambada console: the few behaviours html and htmx do not cover.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  // Every htmx request carries the session's CSRF token (docs/console.md §2).
  document.addEventListener("htmx:configRequest", function (e) {
    if (meta) e.detail.headers["X-CSRF-Token"] = meta.content;
  });
  document.addEventListener("click", function (e) {
    var copy = e.target.closest("[data-copy]");
    if (copy) {
      var text = copy.getAttribute("data-copy");
      var done = function () { copy.textContent = "Copied"; setTimeout(function () { copy.textContent = "Copy"; }, 1500); };
      if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, function () {});
      return;
    }
    var reveal = e.target.closest("[data-reveal]");
    if (reveal) {
      var cell = document.getElementById(reveal.getAttribute("aria-controls"));
      var shown = reveal.getAttribute("aria-pressed") === "true";
      cell.textContent = shown ? "••••••" : cell.getAttribute("data-value");
      reveal.setAttribute("aria-pressed", shown ? "false" : "true");
      reveal.textContent = shown ? "Show" : "Hide";
    }
  });
  window.lambada = { csrf: function () { return meta ? meta.content : ""; } };
})();
