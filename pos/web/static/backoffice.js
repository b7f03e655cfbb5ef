// Back office: ask before an action that cannot be undone from the same page
// (revoking a voucher, replacing it, suspending a diner, disabling an account).
// Forms opt in with data-confirm="…"; without JavaScript they simply submit.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  var button = event.submitter;
  if (button && button.getAttribute("data-confirm")) {
    question = button.getAttribute("data-confirm");
  }
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
