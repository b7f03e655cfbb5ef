/* The till's payment sheet: the tenders (cash with its keypad and quick amounts, WeChat or
 * Alipay with a reference, free), confirming, sending the sale, and the receipt on screen.
 *
 * A sale is sent with an Idempotency-Key made before the first try and kept until an answer
 * arrives, so a double tap, a retry after a dropped connection or a reload never makes two
 * sales.  The only sum made here is cash tendered minus the amount due, on integer fen.
 *
 * Defines window.CanteenTillPay.init(till), called by till.js at start-up.  From `till` it
 * needs the shared state and strings, $, yuan, fenOf, typeMoney, the request helpers (api,
 * errorText, reasonText, showConnection), the sheets (openOverlay, closeOverlays,
 * setMessage), publishToDisplay, the shell (Shell: forgetting the sold order), the order
 * (till.cart: lines, holdsIdNumber, applyQuote, renderTotals, refreshQuota, newSale) and the
 * offline part (till.offline: a sale queued with the network gone).  It gives the others
 * sendSale, resumePending and pendingKey (the unanswered sale's sessionStorage key, which
 * goes at sign-out), and the buttons and keypad it answers.
 */
(function () {
  "use strict";

  var PENDING_KEY = "till.pendingSale";
  // A sale may wait for the database's writer (app.write_wait_seconds) before its answer:
  // giving up sooner only makes the cashier retry a sale that is still being recorded.
  var SALE_TIMEOUT_MS = 20000;

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    // crypto.randomUUID needs a secure context; getRandomValues works on a LAN http:// till too.
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function init(till) {
    var state = till.state, S = till.S, LANG = till.lang, $ = till.$, yuan = till.yuan, fenOf = till.fenOf;
    var api = till.api, errorText = till.errorText, reasonText = till.reasonText;
    var openOverlay = till.openOverlay, closeOverlays = till.closeOverlays, setMessage = till.setMessage;

    // -- the payment sheet ------------------------------------------------------------------

    function openPay(message) {
      if (!state.quote) return;
      var due = state.quote.due_fen;
      state.method = due === 0 ? "free" : "cash";
      state.tendered = "";
      $("pay-due").textContent = yuan(due);
      $("methods").hidden = due === 0;
      setMessage("pay-message", message || "");
      renderPay();
      openOverlay("pay-overlay");
    }

    function renderPay() {
      var due = state.quote ? state.quote.due_fen : 0;
      document.querySelectorAll("#methods .method").forEach(function (b) {
        b.classList.toggle("active", b.dataset.method === state.method);
      });
      $("cash-pane").hidden = state.method !== "cash";
      $("reference-pane").hidden = state.method !== "wechat" && state.method !== "alipay";
      var tendered = fenOf(state.tendered) || 0;
      $("tendered").textContent = yuan(tendered);
      $("change").textContent = tendered >= due ? yuan(tendered - due) : S.insufficient;
      $("confirm-pay").disabled = state.sending || (state.method === "cash" && tendered < due);
      // While a sale is unanswered its body is fixed: the retry must send exactly the same.
      var locked = !!state.pending;
      document.querySelectorAll("#pay-overlay .keypad button, #pay-overlay .quick-cash button, #pay-overlay .method, " +
        '#pay-overlay [data-action="close-overlay"]').forEach(function (b) { b.disabled = locked; });
      $("reference").disabled = locked;
      $("confirm-pay").textContent = locked ? S.retry : (LANG === "en" ? "Confirm payment" : "确认收款");
      if (locked) $("confirm-pay").disabled = state.sending;
    }

    function saleBody() {
      var q = state.quote;
      var tender = { method: state.method };
      if (state.method === "cash") tender.tendered_fen = fenOf(state.tendered) || 0;
      var ref = $("reference").value.trim();
      if ((state.method === "wechat" || state.method === "alipay") && ref) tender.reference = ref;
      var body = { lines: till.cart.lines(), due_fen: q.due_fen, tender: tender };
      if (state.credential) body.credential = state.credential;
      return body;
    }

    function confirmPay() {
      if (state.sending) return;  // a double tap while the first is on its way
      if (!state.pending && state.quote && state.quote.offline) {
        // Decided here with the network gone: queued on the tablet, synced on reconnect.
        state.sending = true;
        renderPay();
        till.offline.sell(state.quote, saleBody()).then(function (sale) {
          state.sending = false;
          saleDone(sale);
        }, function () {
          state.sending = false;
          setMessage("pay-message", S.unknown_error);
          renderPay();
        });
        return;
      }
      if (!state.pending) {
        var body = saleBody();
        // A resident ID number stays in memory only; everything else survives a reload.
        state.pending = { key: newKey(), body: body, remember: !till.cart.holdsIdNumber(body.credential, state.credentialInfo) };
        try {
          sessionStorage.setItem(PENDING_KEY, JSON.stringify(state.pending.remember ? state.pending : { key: state.pending.key }));
        } catch (e) { /* private mode: memory is enough */ }
      }
      sendSale();
    }

    function finishPending() {
      state.pending = null;
      try { sessionStorage.removeItem(PENDING_KEY); } catch (e) { /* ignore */ }
    }

    function sendSale() {
      if (!state.pending || state.sending) return;
      state.sending = true;
      renderPay();
      till.cart.renderTotals();
      api("POST", "/sales", state.pending.body, { "Idempotency-Key": state.pending.key }, SALE_TIMEOUT_MS).then(function (r) {
        state.sending = false;
        if (r.offline) {
          // No answer: keep the key and the body; the retry (button or reconnect) reuses both.
          till.showConnection();
          setMessage("pay-message", S.offline);
          renderPay();
          return;
        }
        if (r.status >= 500) {
          setMessage("pay-message", errorText(r.data));
          renderPay();
          return;  // same key on retry: recorded at most once
        }
        finishPending();
        if (r.status === 201) {
          saleDone(r.data);
        } else if (r.data && r.data.error && r.data.error.code === "price_changed" && r.data.quote) {
          till.cart.applyQuote(r.data.quote);
          openPay(S.price_changed + yuan(r.data.quote.due_fen) + " — " + reasonText(r.data.quote.subsidy));
        } else {
          setMessage("pay-message", errorText(r.data));
          renderPay();
          till.cart.renderTotals();
        }
      });
    }

    function saleDone(sale) {
      till.Shell.clearOrder();  // sold: a reload must not offer the same order again
      state.sold = { due_fen: sale.due_fen, change_fen: sale.change_fen };
      till.publishToDisplay(state);
      closeOverlays();
      till.cart.refreshQuota();
      if (!sale.offline && sale.subsidy_fen > 0) till.offline.refresh();  // the kit's counters know this diner now
      $("receipt-title").textContent = sale.offline ? S.sale_done + " · " + S.offline_pending : S.sale_done;
      $("receipt-print").hidden = !!sale.offline;  // the printable receipt is the server's, after sync
      var body = $("receipt-body");
      body.textContent = "";
      var t = document.createElement("table");
      function row(label, value, cls) {
        var tr = document.createElement("tr");
        var a = document.createElement("td");
        a.textContent = label;
        var b = document.createElement("td");
        b.className = "money" + (cls ? " " + cls : "");
        b.textContent = value;
        tr.appendChild(a);
        tr.appendChild(b);
        t.appendChild(tr);
      }
      row(sale.offline ? S.offline_no : S.receipt_no, "#" + (sale.offline ? sale.offline_no : sale.receipt_no));
      sale.lines.forEach(function (l) {
        row((LANG === "en" && l.name_en ? l.name_en : l.name) + " ×" + l.qty, yuan(l.line_total_fen));
      });
      row(S.total, yuan(sale.gross_fen));
      if (sale.subsidy_fen > 0) {
        var fullLine = sale.lines.some(function (l) { return l.subsidy_fen > 0 && l.subsidy_fen === l.unit_price_fen; });
        row(fullLine ? S.full_subsidy : S.subsidy, "−" + yuan(sale.subsidy_fen));
      }
      row(S.due, yuan(sale.due_fen));
      row(S.paid + " (" + (S[sale.tender.method] || sale.tender.method) + ")", yuan(sale.tender.tendered_fen));
      body.appendChild(t);
      var change = document.createElement("div");
      change.className = "change-big";
      change.textContent = S.change + " " + yuan(sale.change_fen);
      body.appendChild(change);
      if (!sale.offline) $("receipt-print").href = "/till/receipt/" + encodeURIComponent(sale.id);
      openOverlay("receipt-overlay");
    }

    // A sale sent before a reload, without an answer: resend it with the same key, or, when
    // its body could not be kept (it held a resident ID number), ask the cashier to check.
    function resumePending() {
      try {
        var saved = JSON.parse(sessionStorage.getItem(PENDING_KEY) || "null");
        if (saved && saved.body) {
          state.pending = saved;
          sendSale();
        } else if (saved) {
          sessionStorage.removeItem(PENDING_KEY);
          till.cart.showBenefit("error", S.pending_unknown);
        }
      } catch (e) { /* ignore */ }
    }

    // -- the buttons and the keypad it answers -------------------------------------------------

    var actions = {
      "open-pay": function () { openPay(); },
      "method": function (el) { state.method = el.dataset.method; renderPay(); },
      "quick-cash": function (el) {
        var due = state.quote ? state.quote.due_fen : 0;
        var fen = el.dataset.fen === "exact" ? due : parseInt(el.dataset.fen, 10);
        state.tendered = (Math.floor(fen / 100)) + (fen % 100 ? "." + ("0" + (fen % 100)).slice(-2) : "");
        renderPay();
      },
      "confirm-pay": confirmPay,
      "retry-pending": function () { if (state.pending) sendSale(); },
      "next-diner": function () { till.cart.newSale(); closeOverlays(); }
    };

    var keypads = {
      cash: function (key) { state.tendered = till.typeMoney(state.tendered, key); renderPay(); }
    };

    return { sendSale: sendSale, resumePending: resumePending, pendingKey: PENDING_KEY, actions: actions, keypads: keypads };
  }

  window.CanteenTillPay = { init: init };
})();
