/* The till's recent sales and the void sheet: the last sales of this cashier with their
 * printable receipts, and voiding one — a reason (typed or one of the chips), the supervisor
 * and the supervisor's code typed on the keypad, which the server checks.
 *
 * Defines window.CanteenTillVoid.init(till), called by till.js at start-up.  From `till` it
 * needs the shared state and strings, $, yuan, the canteen's time zone, the request helpers
 * (api, errorText, readUntilAnswered; the read is named "sales", which closing the sheets
 * stops), the sheets (openOverlay, setMessage) and the order (till.cart: refreshQuota,
 * showBenefit).  It gives the others the buttons and the keypad it answers.
 */
(function () {
  "use strict";

  function init(till) {
    var state = till.state, S = till.S, LANG = till.lang, TZ = till.tz, $ = till.$, yuan = till.yuan;
    var api = till.api, errorText = till.errorText, readUntilAnswered = till.readUntilAnswered;
    var openOverlay = till.openOverlay, setMessage = till.setMessage;

    // -- recent sales and voids ----------------------------------------------------------------

    function openSales() {
      openOverlay("sales-overlay");
      var tbody = $("sales-rows");
      tbody.textContent = "";
      readUntilAnswered("sales", function () {
        return api("GET", "/sales?limit=40").then(function (r) {
          if (r.offline) {
            salesMessage(tbody, S.network_retrying, true);
            return false;
          }
          showSales(tbody, r);
          return true;
        });
      });
    }

    // One row across the table: "no sales yet", an error, or the network's failure with 重试.
    function salesMessage(tbody, text, retry) {
      tbody.textContent = "";
      var tr = document.createElement("tr");
      var td = document.createElement("td");
      td.colSpan = 7;
      td.textContent = text;
      if (retry) {
        var b = document.createElement("button");
        b.type = "button";
        b.className = "secondary";
        b.dataset.action = "retry-now";
        b.id = "sales-retry";
        b.textContent = S.retry;
        td.appendChild(document.createTextNode(" "));
        td.appendChild(b);
      }
      tr.appendChild(td);
      tbody.appendChild(tr);
    }

    function showSales(tbody, r) {
      tbody.textContent = "";
      if (!r.ok) { salesMessage(tbody, errorText(r.data)); return; }
      if (!r.data.sales.length) salesMessage(tbody, S.sales_empty);
      r.data.sales.forEach(function (s) {
        var tr = document.createElement("tr");
        tr.className = s.status;
        tr.dataset.saleId = s.id;
        var time = new Date(s.sold_at).toLocaleTimeString(LANG === "en" ? "en-GB" : "zh-CN", { hour: "2-digit", minute: "2-digit", timeZone: TZ });
        [["#" + s.receipt_no], [time], [yuan(s.gross_fen), "money"], [s.subsidy_fen ? "−" + yuan(s.subsidy_fen) : "", "money"],
          [yuan(s.due_fen), "money"], [s.status === "voided" ? S.voided : S.completed]].forEach(function (c) {
          var td = document.createElement("td");
          td.textContent = c[0];
          if (c[1]) td.className = c[1];
          tr.appendChild(td);
        });
        var td = document.createElement("td");
        var print = document.createElement("a");
        print.href = "/till/receipt/" + encodeURIComponent(s.id);
        print.target = "_blank";
        print.rel = "noopener";
        print.className = "button secondary";
        print.textContent = S.receipt;
        td.appendChild(print);
        if (s.status !== "voided") {
          var b = document.createElement("button");
          b.type = "button";
          b.dataset.action = "open-void";
          b.dataset.saleId = s.id;
          b.dataset.receipt = s.receipt_no;
          b.textContent = S.void;
          td.appendChild(b);
        }
        tr.appendChild(td);
        tbody.appendChild(tr);
      });
    }

    function openVoid(btn) {
      state.voidSale = btn.dataset.saleId;
      state.pin = "";
      $("void-receipt").textContent = "#" + btn.dataset.receipt;
      $("void-reason").value = "";
      document.querySelectorAll(".void-reasons .chip").forEach(function (c) { c.classList.remove("active"); });
      setMessage("void-message", "");
      renderPin();
      openOverlay("void-overlay");
    }

    function renderPin() {
      $("pin-display").textContent = state.pin.replace(/./g, "●") || "—";
    }

    function confirmVoid() {
      var reason = $("void-reason").value.trim();
      if (!reason) { setMessage("void-message", S.reason_required); return; }
      if (!state.pin) { setMessage("void-message", S.pin_required); return; }
      var body = { reason: reason, supervisor: $("void-supervisor").value, pin: state.pin };
      $("confirm-void").disabled = true;
      api("POST", "/sales/" + encodeURIComponent(state.voidSale) + "/void", body).then(function (r) {
        $("confirm-void").disabled = false;
        state.pin = "";
        renderPin();
        if (r.offline) { setMessage("void-message", S.network_down); return; }
        if (!r.ok) { setMessage("void-message", errorText(r.data)); return; }
        till.cart.refreshQuota();
        openSales();
        setMessage("void-message", "");
        till.cart.showBenefit("refused", S.void_done + " · #" + r.data.receipt_no);
      });
    }

    // -- the buttons and the keypad it answers -------------------------------------------------

    var actions = {
      "open-sales": openSales,
      "open-void": openVoid,
      "void-reason": function (el) {
        document.querySelectorAll(".void-reasons .chip").forEach(function (c) { c.classList.toggle("active", c === el); });
        $("void-reason").value = el.textContent;
      },
      "confirm-void": confirmVoid
    };

    var keypads = {
      pin: function (key) {
        if (key === "⌫") state.pin = state.pin.slice(0, -1);
        else if (key === "C") state.pin = "";
        else if (state.pin.length < 8) state.pin += key;
        renderPin();
      }
    };

    return { actions: actions, keypads: keypads };
  }

  window.CanteenTillVoid = { init: init };
})();
