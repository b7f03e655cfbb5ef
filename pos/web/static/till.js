/* The touch till: start-up, and what its areas share.  Talks to /api/v1 with the login
 * session and the CSRF token.
 *
 * Money is integer fen everywhere: the server prices every order (quote) and the screen
 * shows the server's numbers; the only sum made here is cash tendered minus the amount
 * due, on integers.
 *
 * The till's screen is five scripts, loaded with `defer` in this order after the shared
 * helpers (money.js, display.js, till-shell.js, decide.js, resident_id.js) and the offline
 * parts (till-queue.js, till-offline.js) — pos/web/templates/till/index.html:
 *   till-cart.js   the order: dishes, quantities, the diner's credential, the quote
 *   till-pay.js    the payment sheet: tenders, quick cash, sending the sale, the receipt
 *   till-void.js   the recent sales and the void sheet (supervisor, reason, code keypad)
 *   till-shift.js  opening the shift with its float, the hand-over with the cash count
 *   till.js        (this file, last) the state they share, requests and the connection,
 *                  reads retried, the sheets and the focus, the diner-facing screen, sign-out,
 *                  the wiring of buttons and keypads, and start-up
 * Each area file only defines window.CanteenTill<Area>.init(till).  This file makes `till`
 * (the shared state and helpers, below), gives it to each init and keeps what each returns as
 * till.cart, till.pay, till.voids and till.shift; the areas reach one another through these
 * when the cashier acts, never while being set up.  Each area answers its own buttons
 * (data-action) and keypads (data-keypad); the one click handler here passes them on.
 *
 * The printable receipt page (till/receipt.html) loads this file alone: without the till on
 * the page it only wires the print button.
 */
(function () {
  "use strict";

  var root = document.getElementById("till");
  if (!root) {
    initReceiptPage();
    return;
  }
  var S = JSON.parse(root.dataset.strings);
  var LANG = root.dataset.lang;
  var TZ = root.dataset.tz;  // times show in the canteen's zone, whatever the tablet's clock says
  var CSRF = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var Shell = window.CanteenTillShell;  // pos/web/static/till-shell.js: deadlines, retries, what survives a reload
  var $ = function (id) { return document.getElementById(id); };

  // What the screen shows, one object shared by the areas (the file that writes each field).
  var state = {
    cart: [],            // till-cart.js: [{id, label, price_fen, qty}]
    credential: null,    // till-cart.js: {scan: "..."} or {id_number: "..."}, sent with quotes and the sale; memory only
    credentialInfo: null,
    quote: null,         // till-cart.js: the server's quote of the order (or the offline one)
    quoteSeq: 0,
    shift: JSON.parse(root.dataset.shift || "null"),  // till-shift.js
    method: "cash",      // till-pay.js
    tendered: "",        // till-pay.js: yuan as typed on the keypad, e.g. "50" or "20.5"
    pending: null,       // till-pay.js: {key, body, remember}: a sale sent without an answer yet
    sending: false,
    idDigits: "",        // till-cart.js: the resident ID number on its keypad
    pin: "",             // till-void.js: the supervisor's code on its keypad
    voidSale: null,
    shiftMode: "open",   // till-shift.js
    shiftAmount: "",
    offline: false,      // this file: what the requests say
    sold: null           // till-pay.js: {due_fen, change_fen} of the sale just made, until the next diner
  };

  // The areas and what they share: made at start-up (the end of this file), used from then on.
  var till = {};

  // -- money -------------------------------------------------------------------------

  var yuan = window.CanteenMoney.yuan;  // pos/web/static/money.js, shared with the diner-facing screen

  // "20.5" → 2050 fen, by string arithmetic (never floating point); null when malformed.
  function fenOf(text) {
    if (!text) return 0;
    var m = /^(\d{0,7})(?:\.(\d{0,2}))?$/.exec(text);
    if (!m) return null;
    var cents = (m[2] || "") + "00";
    return parseInt(m[1] || "0", 10) * 100 + parseInt(cents.slice(0, 2), 10);
  }

  function typeMoney(current, key) {
    if (key === "⌫") return current.slice(0, -1);
    if (key === "C") return "";
    var next = current + key;
    if (key === "." && current.indexOf(".") >= 0) return current;
    return fenOf(next) === null ? current : next;
  }

  // -- talking to the server ------------------------------------------------------------

  // Every request ends: with the server's answer, or after a network failure or its
  // deadline as {offline: true}, which also marks the till offline.
  function api(method, path, body, headers, timeoutMs) {
    var h = { "Accept": "application/json", "X-CSRFToken": CSRF };
    if (body !== undefined) h["Content-Type"] = "application/json";
    var device = window.CanteenTillOffline.deviceHeader();  // a registered till says which it is
    if (device) h["X-Till-Device"] = device;
    Object.keys(headers || {}).forEach(function (k) { h[k] = headers[k]; });
    return Shell.fetchJson("/api/v1" + path, {
      method: method, headers: h, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body)
    }, timeoutMs).then(function (r) {
      setOffline(false);
      if (r.status === 401) till.cart.showBenefit("error", S.session_expired);
      return r;
    }, function () {
      setOffline(true);
      return { status: 0, ok: false, offline: true, data: null };
    });
  }

  function errorText(data) {
    var e = data && data.error;
    if (!e) return S.unknown_error;
    return LANG === "en" ? e.message_en : e.message_zh;
  }

  function reasonText(subsidy) {
    if (!subsidy) return "";
    return LANG === "en" ? subsidy.reason_en : subsidy.reason;
  }

  // A read the server answers online, and this registered till decides itself offline: once
  // offline it does not wait for the network first (the probe finds the server again).
  function orOffline(online, offline) {
    if (state.offline && till.offline.canSell()) return offline();
    return online().then(function (r) { return r.offline && till.offline.canSell() ? offline() : r; });
  }

  // -- the connection ----------------------------------------------------------------------
  // Offline is what the requests say (navigator.onLine says "online" on a Wi-Fi that goes
  // nowhere) and what the browser says when it knows.  While offline the server is asked
  // every 3 s; when it answers, the unanswered sale is resent and the waiting reads retried.

  var healthTimer = null;
  function setOffline(down) {
    var changed = down !== state.offline;
    state.offline = down;
    showConnection();
    if (!changed) return;
    if (down && !healthTimer) {
      healthTimer = setInterval(probeServer, 3000);
    } else if (!down && healthTimer) {
      clearInterval(healthTimer);
      healthTimer = null;
    }
    if (!down) retryReadsNow();
    if (till.offline) till.offline.connection(down);
  }

  function probeServer() {
    Shell.fetchJson("/healthz", { cache: "no-store" }, 5000).then(function (r) {
      if (r.ok) {
        setOffline(false);
        if (state.pending) till.pay.sendSale();
      }
    }, function () {});
  }

  // The header says 在线 / 离线; the banner over everything is for a sale without an answer.
  function showConnection() {
    var el = $("net-state");
    el.textContent = state.offline ? S.offline_state : S.online;
    el.classList.toggle("down", state.offline);
    $("offline-text").textContent = S.offline;
    $("offline-banner").hidden = !(state.offline && state.pending);
  }

  window.addEventListener("offline", function () { setOffline(true); });
  window.addEventListener("online", probeServer);

  // -- reads that wait for the network -----------------------------------------------------
  // A lookup, a quote or the recent sales that fail for want of the network are tried again
  // (till-shell.js, with backoff) until answered or no longer wanted; meanwhile the screen
  // says so and offers 重试.  Writes (a shift, a void) are not: the cashier presses again.

  var reads = {};

  function readUntilAnswered(name, attempt) {
    if (reads[name]) reads[name].cancel();
    reads[name] = Shell.retrying(attempt, showReadProblem);
  }

  function stopRead(name) {
    if (reads[name]) reads[name].cancel();
    delete reads[name];
  }

  function retryReadsNow() {
    Object.keys(reads).forEach(function (name) { reads[name].now(); });
  }

  function showReadProblem() {
    var waiting = Object.keys(reads).some(function (name) { return reads[name].waiting; });
    $("net-problem-text").textContent = S.network_retrying;
    $("net-problem").hidden = !waiting;
  }

  // -- the diner-facing screen (/till/display, pos/web/static/display.js) -----------------------
  // What the diner may see — the dishes, the amounts, that it is paid — goes out on a
  // BroadcastChannel of this canteen and cashier whenever the cart, the quote or the sale
  // changes, and the last state stays in sessionStorage (a display opened with the button
  // starts from a copy of it; one opened otherwise asks with "hello").  Never who the diner
  // is nor why a subsidy applies: the screen faces the queue as well.  The channel, the
  // storage and the screen are in display.js; here only what the till's state shows.

  var display = window.CanteenDisplay.publisher(root.dataset.displayChannel);

  // The published state: these fields and no others (tests/browser/test_diner_display.py).
  function displayState(st) {
    var phase = st.sold ? "paid" : (st.cart.length ? "order" : "idle");
    var order = phase === "order", q = order ? st.quote : null, gross = 0;
    st.cart.forEach(function (l) { gross += l.price_fen * l.qty; });
    return {
      phase: phase,
      lines: order ? st.cart.map(function (l) { return { name: l.label, qty: l.qty, amount_fen: l.price_fen * l.qty }; }) : [],
      gross_fen: order ? (q ? q.gross_fen : gross) : null,
      subsidy_fen: q ? q.subsidy_fen : null,
      due_fen: q ? q.due_fen : null,  // null while the server is pricing the order
      paid_fen: st.sold ? st.sold.due_fen : null,
      change_fen: st.sold ? st.sold.change_fen : null
    };
  }

  function publishToDisplay(st) {
    display.publish(displayState(st));
  }

  // Leaving the till (sign-out, reload, another page) leaves the diner an idle screen.
  window.addEventListener("pagehide", function () { publishToDisplay({ cart: [], quote: null, sold: null }); });

  function openDisplay() {
    window.open(root.dataset.displayUrl, "canteen-diner-display", "popup,width=1024,height=600");
  }

  // -- offline use, sign-out ------------------------------------------------------------------

  // A till opened where the browser gives no service worker (plain http on a LAN address)
  // works online but not after a reload offline: it says so, once, under the status strip.
  function offerOfflineUse() {
    var why = Shell.offlineUnavailable(window);
    $("offline-unavailable").hidden = !why;
    if (!why) Shell.registerWorker(root.dataset.workerUrl, root.dataset.workerScope);
  }

  // Sign-out: the kept order, an unanswered sale, the offline kit and the cached till page go
  // first (a shared tablet), then the form is sent; a slow cache API does not hold the cashier
  // up.  The tablet's till identity and its queued offline sales stay (they are not the cashier's).
  var signOutForm = document.querySelector('form[action$="/logout"]');
  if (signOutForm) {
    signOutForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var send = function () { signOutForm.submit(); };
      var slow = function () { return new Promise(function (resolve) { setTimeout(resolve, 2000); }); };
      // Sales still queued ask first (till-offline.js): not raced against the clock.
      till.offline.beforeSignOut().then(function (go) {
        if (go) Promise.race([Shell.forgetDevice([till.pay.pendingKey]), slow()]).then(send, send);
      });
    });
  }

  // -- overlays and focus ---------------------------------------------------------------------

  function openOverlay(id) {
    document.querySelectorAll(".overlay").forEach(function (o) { o.hidden = o.id !== id; });
  }

  function closeOverlays() {
    till.cart.stopCamera();
    stopRead("sales");  // the recent sales (till-void.js)
    document.querySelectorAll(".overlay").forEach(function (o) { o.hidden = true; });
    if (!state.shift) till.shift.openShift("open");
    focusScan();
  }

  function anyOverlay() {
    return Array.prototype.some.call(document.querySelectorAll(".overlay"), function (o) { return !o.hidden; });
  }

  function setMessage(id, text, ok) {
    var el = $(id);
    el.textContent = text;
    el.hidden = !text;
    el.classList.toggle("ok", !!ok);
  }

  // The scanner types like a keyboard: the scan field must hold the focus whenever no
  // sheet is open, whatever was tapped last.
  function focusScan() {
    if (!anyOverlay() && document.activeElement !== $("scan")) $("scan").focus({ preventScroll: true });
  }

  // -- wiring -----------------------------------------------------------------------------------
  // A tap on a button with data-action goes to the area that answers it (the offline part
  // last); a key of a keypad (data-key inside data-keypad) to the area that owns the keypad.

  var actions = {
    "retry-now": retryReadsNow,
    "close-overlay": closeOverlays,
    "open-display": openDisplay
  };
  var keypads = {};

  document.addEventListener("click", function (ev) {
    var el = ev.target.closest("[data-action], [data-key]");
    if (!el) { setTimeout(focusScan, 0); return; }
    if (el.dataset.key !== undefined && !el.dataset.action) {
      var pad = el.closest("[data-keypad]").dataset.keypad;
      if (Object.prototype.hasOwnProperty.call(keypads, pad)) keypads[pad](el.dataset.key);
      return;
    }
    var a = el.dataset.action;
    if (Object.prototype.hasOwnProperty.call(actions, a)) actions[a](el);
    else till.offline.act(a);
    setTimeout(focusScan, 0);
  });

  $("scan").addEventListener("keydown", function (ev) {
    if (ev.key !== "Enter") return;
    ev.preventDefault();
    var text = $("scan").value.trim();
    $("scan").value = "";
    if (text) till.cart.lookup({ scan: text });
  });
  $("scan").addEventListener("blur", function () { setTimeout(focusScan, 150); });
  document.addEventListener("keydown", function (ev) {
    // A scanner firing while a button has the focus still lands in the scan field.
    if (!anyOverlay() && ev.target === document.body && ev.key.length === 1) focusScan();
  });

  // -- start-up -----------------------------------------------------------------------------------

  till = {
    root: root, S: S, lang: LANG, tz: TZ, state: state, $: $, Shell: Shell,
    yuan: yuan, fenOf: fenOf, typeMoney: typeMoney,
    api: api, errorText: errorText, reasonText: reasonText, orOffline: orOffline, showConnection: showConnection,
    readUntilAnswered: readUntilAnswered, stopRead: stopRead,
    openOverlay: openOverlay, closeOverlays: closeOverlays, setMessage: setMessage,
    publishToDisplay: publishToDisplay,
    offline: null  // pos/web/static/till-offline.js: selling with the network gone (set up below)
  };
  till.cart = window.CanteenTillCart.init(till);
  till.pay = window.CanteenTillPay.init(till);
  till.voids = window.CanteenTillVoid.init(till);
  till.shift = window.CanteenTillShift.init(till);
  [till.cart, till.pay, till.voids, till.shift].forEach(function (area) {
    Object.keys(area.actions).forEach(function (name) { actions[name] = area.actions[name]; });
    Object.keys(area.keypads).forEach(function (name) { keypads[name] = area.keypads[name]; });
  });

  till.cart.offerCamera();
  till.pay.resumePending();
  till.offline = window.CanteenTillOffline.init({
    S: S, lang: LANG, cashier: root.dataset.cashier, api: api, wordsUrl: root.dataset.wordsUrl,
    isOffline: function () { return state.offline; }, openOverlay: openOverlay, closeOverlays: closeOverlays
  });
  setInterval(till.cart.refreshQuota, 30000);
  till.cart.restoreOrder();
  offerOfflineUse();
  showConnection();
  if (navigator.onLine === false) setOffline(true);  // "offline" is never a lie; "online" may be
  till.cart.renderCart();
  till.shift.renderShiftStatus();
  if (!state.shift) till.shift.openShift("open");
  focusScan();

  // -- the printable receipt page ----------------------------------------------------------------
  function initReceiptPage() {
    var print = document.querySelector("[data-action='print']");
    if (print) print.addEventListener("click", function () { window.print(); });
  }
})();
