(function () {
  // Records any script error, failed load or CSP violation on the root
  // element, so that tests (and a curious reader) can see the page is clean.
  var root = document.documentElement;
  root.classList.add("js"); // lets the stylesheet page long lists
  function note(msg) {
    root.setAttribute("data-js-error", (root.getAttribute("data-js-error") || "") + String(msg) + "; ");
  }
  window.addEventListener("error", function (e) { note(e.message || "failed to load " + (e.target && (e.target.src || e.target.href) || "a resource")); }, true);
  window.addEventListener("unhandledrejection", function (e) { note("unhandled rejection: " + e.reason); });
  document.addEventListener("securitypolicyviolation", function (e) { note("blocked by the content security policy: " + e.violatedDirective); });
  var consoleError = console.error;
  console.error = function () { note(Array.prototype.join.call(arguments, " ")); return consoleError.apply(console, arguments); };
})();
