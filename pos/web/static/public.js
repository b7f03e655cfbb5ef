// The public screen: bring the free welfare meals left up to date every refresh_seconds
// (the page works without this: the number is as of page load).  A new business date
// (after midnight) reloads the page for the new menu.
(function () {
  "use strict";
  var box = document.getElementById("free-meals");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-live");
  var day = box.getAttribute("data-date");
  var seconds = Math.max(1, parseInt(box.getAttribute("data-refresh"), 10) || 15);
  var left = document.getElementById("free-meals-left");
  var gone = document.getElementById("free-meals-gone");
  var asOf = document.getElementById("free-meals-as-of");

  function show(data) {
    if (data.business_date !== day) { window.location.reload(); return; }
    left.textContent = String(data.free_meals_left);
    gone.hidden = data.free_meals_left > 0;
    asOf.textContent = String(data.as_of).slice(11, 19);
  }

  function poll() {
    fetch(url, { cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { show(data); } })
      .catch(function () { /* offline for a moment: keep the last number, try again later */ })
      .then(function () { window.setTimeout(poll, seconds * 1000); });
  }

  window.setTimeout(poll, seconds * 1000);
})();
