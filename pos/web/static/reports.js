// The reports page: a day close asks first, in a dialog that says what closing means.
// Each open day's "close…" link carries its canteen and date; without script the link
// reloads the page with the dialog already open (the server fills it in).
(function () {
  "use strict";

  var dialog = document.getElementById("close-dialog");
  if (!dialog || typeof dialog.showModal !== "function") return;
  var $ = function (id) { return document.getElementById(id); };

  function ask(canteen, day, label) {
    $("close-canteen").value = canteen;
    $("close-date").value = day;
    $("close-label").textContent = label;
    $("close-confirm").disabled = false;
    if (dialog.open) dialog.close();
    dialog.showModal();
    $("close-cancel").focus();  // the safe choice is the one Enter takes
  }

  document.addEventListener("click", function (ev) {
    var link = ev.target.closest("[data-close-canteen]");
    if (!link) return;
    ev.preventDefault();
    ask(link.dataset.closeCanteen, link.dataset.closeDate, link.dataset.closeLabel);
  });

  dialog.querySelector("form").addEventListener("submit", function (ev) {
    if (ev.submitter && ev.submitter.getAttribute("formmethod") === "dialog") return;
    $("close-confirm").disabled = true;  // one tap, one close: a second tap would only be refused
  });

  // Arrived by the link (a reload, or script came late): the same dialog, modal.
  if (dialog.open) ask($("close-canteen").value, $("close-date").value, $("close-label").textContent);
})();
