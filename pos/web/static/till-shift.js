/* The till's shift: opening it with the float counted in the cash drawer, and the
 * hand-over that closes it with the cash counted, the server's expected cash and the
 * difference.  No sale can be paid without an open shift: the sheet opens by itself then.
 *
 * Defines window.CanteenTillShift.init(till), called by till.js at start-up.  From `till` it
 * needs the shared state and strings, $, yuan, fenOf, typeMoney, the canteen's time zone,
 * the request helpers (api, errorText), the sheets (openOverlay, closeOverlays, setMessage),
 * the shell (Shell.keepPage: the page kept for a reload offline carries the open shift) and
 * the order (till.cart: renderTotals, whose pay button needs a shift).  It gives the others
 * openShift and renderShiftStatus, and the buttons and keypad it answers.
 */
(function () {
  "use strict";

  function init(till) {
    var state = till.state, S = till.S, LANG = till.lang, TZ = till.tz, $ = till.$, yuan = till.yuan, fenOf = till.fenOf;
    var api = till.api, errorText = till.errorText;
    var openOverlay = till.openOverlay, closeOverlays = till.closeOverlays, setMessage = till.setMessage;

    // -- shifts --------------------------------------------------------------------------------

    var SH = $("i18n-shift").dataset;
    function renderShiftStatus() {
      var el = $("shift-status");
      if (state.shift) {
        var opened = new Date(state.shift.opened_at).toLocaleTimeString(LANG === "en" ? "en-GB" : "zh-CN", { hour: "2-digit", minute: "2-digit", timeZone: TZ });
        el.textContent = S.shift_open + " · " + opened + " · " + S.float + " " + yuan(state.shift.opening_float_fen);
        el.classList.remove("closed");
      } else {
        el.textContent = S.no_shift;
        el.classList.add("closed");
      }
      $("nav-close-shift").disabled = !state.shift;
      till.cart.renderTotals();
    }

    function openShift(mode) {
      state.shiftMode = mode;
      state.shiftAmount = "";
      var opening = mode === "open";
      $("shift-title").textContent = opening ? SH.openTitle : SH.closeTitle;
      $("shift-hint").textContent = opening ? SH.openHint : SH.closeHint;
      $("shift-amount-label").textContent = opening ? SH.float : SH.counted;
      $("confirm-shift").textContent = opening ? SH.openButton : SH.closeButton;
      $("confirm-shift").disabled = false;
      $("shift-cancel").hidden = opening;
      $("shift-result").hidden = true;
      document.querySelector('[data-keypad="shift"]').hidden = false;
      setMessage("shift-message", "");
      renderShiftAmount();
      openOverlay("shift-overlay");
    }

    function renderShiftAmount() {
      $("shift-amount").textContent = yuan(fenOf(state.shiftAmount) || 0);
    }

    function confirmShift() {
      if (state.shiftMode === "done") {
        closeOverlays();
        openShift("open");
        return;
      }
      var fen = fenOf(state.shiftAmount) || 0;
      $("confirm-shift").disabled = true;
      if (state.shiftMode === "open") {
        api("POST", "/shifts", { opening_float_fen: fen }).then(function (r) {
          $("confirm-shift").disabled = false;
          if (r.status === 201) {
            state.shift = r.data;
            till.Shell.keepPage();
            closeOverlays();
            renderShiftStatus();
          } else if (r.data && r.data.shift) {
            state.shift = r.data.shift;  // already open (another tab): carry on with it
            closeOverlays();
            renderShiftStatus();
          } else {
            setMessage("shift-message", r.offline ? S.network_down : errorText(r.data));
          }
        });
        return;
      }
      api("POST", "/shifts/" + encodeURIComponent(state.shift.id) + "/close", { counted_cash_fen: fen }).then(function (r) {
        $("confirm-shift").disabled = false;
        if (!r.ok) { setMessage("shift-message", r.offline ? S.network_down : errorText(r.data)); return; }
        state.shift = null;
        till.Shell.keepPage();
        renderShiftStatus();
        var d = r.data;
        var box = $("shift-result");
        box.textContent = "";
        [[S.expected, yuan(d.expected_cash_fen)], [S.counted, yuan(d.counted_cash_fen)],
          [S.difference, (d.difference_fen > 0 ? "+" : "") + yuan(d.difference_fen)]].forEach(function (p, i) {
          var div = document.createElement("div");
          var a = document.createElement("span");
          a.textContent = p[0];
          var b = document.createElement("span");
          b.className = "money" + (i === 2 && d.difference_fen < 0 ? " diff-short" : "");
          b.textContent = p[1];
          if (i === 2) b.id = "shift-difference";
          div.appendChild(a);
          div.appendChild(b);
          box.appendChild(div);
        });
        box.hidden = false;
        document.querySelector('[data-keypad="shift"]').hidden = true;
        $("shift-title").textContent = S.shift_closed;
        $("shift-hint").textContent = "";
        $("shift-cancel").hidden = true;
        $("confirm-shift").textContent = SH.done;
        state.shiftMode = "done";
      });
    }

    // -- the buttons and the keypad it answers -------------------------------------------------

    var actions = {
      "open-close-shift": function () { if (state.shift) openShift("close"); },
      "confirm-shift": confirmShift
    };

    var keypads = {
      shift: function (key) { state.shiftAmount = till.typeMoney(state.shiftAmount, key); renderShiftAmount(); }
    };

    return { openShift: openShift, renderShiftStatus: renderShiftStatus, actions: actions, keypads: keypads };
  }

  window.CanteenTillShift = { init: init };
})();
