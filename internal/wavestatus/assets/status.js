// Keeps the page live: every data-refresh seconds it fetches the same URL
// and swaps the new <main> in. The server escapes every value, and a
// DOMParser document runs no scripts, so nothing in the state file can
// become markup or code here. No external requests, no inline script (the
// page's CSP allows only this file).
(function () {
  "use strict";
  var root = document.documentElement;
  var seconds = parseInt(root.getAttribute("data-refresh"), 10);
  var refreshes = 0;
  function mark(ok, text) {
    var meta = document.querySelector(".meta");
    var live = document.getElementById("live");
    if (meta) { meta.classList.toggle("stale", !ok); }
    if (live) { live.textContent = text; }
  }
  function refresh() {
    fetch(window.location.href, { headers: { "Accept": "text/html" }, cache: "no-store" })
      .then(function (resp) {
        if (!resp.ok) { throw new Error("HTTP " + resp.status); }
        return resp.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var main = doc.getElementById("main");
        var at = doc.getElementById("read-at");
        if (!main) { throw new Error("no content in the answer"); }
        document.getElementById("main").replaceWith(document.importNode(main, true));
        if (at) { document.getElementById("read-at").textContent = at.textContent; }
        refreshes++;
        root.setAttribute("data-refreshes", String(refreshes));
        mark(true, "refreshes every " + seconds + " s");
      })
      .catch(function (err) {
        mark(false, "not refreshed: " + err.message + "; retrying");
      })
      .finally(function () { window.setTimeout(refresh, seconds * 1000); });
  }
  if (seconds > 0) { window.setTimeout(refresh, seconds * 1000); }
  root.setAttribute("data-status-ready", "1");
})();
