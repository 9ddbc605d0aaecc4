(function () {
  "use strict";
  var doc = document;

  // Sortable tables: a click on a header sorts by that column, numbers by
  // their data-v value, text by the cell's text.
  function cellKey(row, col, numeric) {
    var cell = row.cells[col];
    if (!cell) { return numeric ? -Infinity : ""; }
    var v = cell.getAttribute("data-v");
    if (numeric) { return v === null ? parseFloat(cell.textContent.replace(/[^0-9.-]/g, "")) || 0 : parseFloat(v); }
    return (v === null ? cell.textContent : v).trim().toLowerCase();
  }
  function sortTable(table, th) {
    var col = th.cellIndex;
    var numeric = th.getAttribute("data-type") === "num";
    var asc = th.getAttribute("aria-sort") !== "ascending";
    if (numeric && !th.hasAttribute("aria-sort")) { asc = false; } // biggest first on the first click
    var headers = th.parentNode.cells;
    for (var i = 0; i < headers.length; i++) { headers[i].removeAttribute("aria-sort"); }
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var keyed = rows.map(function (r, i) { return { r: r, k: cellKey(r, col, numeric), i: i }; });
    keyed.sort(function (a, b) {
      var c = a.k < b.k ? -1 : a.k > b.k ? 1 : 0;
      return (asc ? c : -c) || a.i - b.i;
    });
    var frag = doc.createDocumentFragment();
    keyed.forEach(function (x) { frag.appendChild(x.r); });
    body.appendChild(frag);
  }
  doc.addEventListener("click", function (e) {
    var th = e.target.closest ? e.target.closest("table.sortable thead th") : null;
    if (th) { sortTable(th.closest("table"), th); }
  });

  // Expand or collapse all sections of one part of the report.
  doc.querySelectorAll("button[data-toggle]").forEach(function (b) {
    b.addEventListener("click", function () {
      var open = b.getAttribute("data-open") === "1";
      var sel = b.getAttribute("data-toggle") === "findings" ? "#findings details" : (list && list.classList.contains("paged") ? "#mblist details.mb:nth-child(-n+200)" : "#mblist details.mb:not(.hidden)");
      doc.querySelectorAll(sel).forEach(function (d) { d.open = open; });
    });
  });

  // Long mailbox lists show a first page; the rest on request, on a filter,
  // or when a link points into it.
  var list = doc.getElementById("mblist");
  function showAll() {
    if (list && list.classList.contains("paged")) {
      list.classList.remove("paged");
      var note = doc.getElementById("mbpaging");
      if (note) { note.classList.add("done"); }
    }
  }
  var showAllButton = doc.getElementById("mbshowall");
  if (showAllButton) { showAllButton.addEventListener("click", showAll); }

  // Filter mailboxes (table rows and sections) by any text of their row or
  // heading: address, location, type, batch, readiness.
  var filter = doc.getElementById("mbfilter");
  if (filter) {
    var timer = 0, targets = null;
    filter.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        if (!targets) {
          targets = [];
          doc.querySelectorAll("#mbtable tbody tr, #mblist details.mb").forEach(function (el) {
            var text = el.tagName === "TR" ? el.textContent : el.firstElementChild.textContent;
            targets.push({ el: el, k: text.toLowerCase() });
          });
        }
        var q = filter.value.trim().toLowerCase();
        if (q !== "") { showAll(); }
        for (var i = 0; i < targets.length; i++) {
          targets[i].el.classList.toggle("hidden", q !== "" && targets[i].k.indexOf(q) < 0);
        }
      }, 150);
    });
  }

  // A link to a mailbox opens its section.
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && doc.getElementById(id);
    if (el && el.tagName === "DETAILS") {
      if (el.classList.contains("mb")) { showAll(); }
      el.open = true;
      el.scrollIntoView();
    }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();

  // Print the findings in full; mailbox sections print as they are shown.
  var opened = [];
  window.addEventListener("beforeprint", function () {
    doc.querySelectorAll("#findings details:not([open])").forEach(function (d) { d.open = true; opened.push(d); });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.open = false; });
    opened = [];
  });

  // Tests read these: the script ran to its end, and how long after the
  // start of navigation.
  doc.documentElement.setAttribute("data-ready-ms", String(Math.round(performance.now())));
  doc.documentElement.setAttribute("data-report-ready", "1");
})();
