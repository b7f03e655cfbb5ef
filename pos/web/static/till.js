/* The touch till.  Talks to /api/v1 with the login session and the CSRF token.
 *
 * Money is integer fen everywhere: the server prices every order (quote) and the screen
 * shows the server's numbers; the only sum made here is cash tendered minus the amount
 * due, on integers.
 *
 * A sale is sent with an Idempotency-Key made before the first try and kept until an
 * answer arrives, so a double tap, a retry after a dropped connection or a reload never
 * makes two sales.
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
  var SUPERVISORS = JSON.parse(root.dataset.supervisors || "[]");
  var CSRF = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var PENDING_KEY = "till.pendingSale";
  var Shell = window.CanteenTillShell;  // pos/web/static/till-shell.js: deadlines, retries, what survives a reload
  var Offline = null;  // pos/web/static/till-offline.js: selling with the network gone (set up below)
  // A sale may wait for the database's writer (app.write_wait_seconds) before its answer:
  // giving up sooner only makes the cashier retry a sale that is still being recorded.
  var SALE_TIMEOUT_MS = 20000;
  var $ = function (id) { return document.getElementById(id); };

  var state = {
    cart: [],            // [{id, label, price_fen, qty}]
    credential: null,    // {scan: "..."} or {id_number: "..."}, sent with quotes and the sale; memory only
    credentialInfo: null,
    quote: null,
    quoteSeq: 0,
    shift: JSON.parse(root.dataset.shift || "null"),
    method: "cash",
    tendered: "",        // yuan as typed on the keypad, e.g. "50" or "20.5"
    pending: null,       // {key, body, remember}: a sale sent without an answer yet
    sending: false,
    idDigits: "",
    pin: "",
    voidSale: null,
    shiftMode: "open",
    shiftAmount: "",
    offline: false,
    sold: null           // {due_fen, change_fen} of the sale just made, until the next diner
  };

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
      if (r.status === 401) showBenefit("error", S.session_expired);
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
    if (state.offline && Offline.canSell()) return offline();
    return online().then(function (r) { return r.offline && Offline.canSell() ? offline() : r; });
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
    if (Offline) Offline.connection(down);
  }

  function probeServer() {
    Shell.fetchJson("/healthz", { cache: "no-store" }, 5000).then(function (r) {
      if (r.ok) {
        setOffline(false);
        if (state.pending) sendSale();
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

  // -- the order --------------------------------------------------------------------------

  function lines() {
    return state.cart.map(function (l) { return { item_id: l.id, qty: l.qty }; });
  }

  function addDish(btn) {
    var id = btn.dataset.id;
    var line = state.cart.filter(function (l) { return l.id === id; })[0];
    if (line) {
      if (line.qty < 99) line.qty += 1;
    } else {
      state.cart.push({ id: id, label: btn.dataset.label, price_fen: parseInt(btn.dataset.price, 10), qty: 1 });
    }
    changed();
  }

  function changeQty(id, delta) {
    state.cart = state.cart.filter(function (l) {
      if (l.id === id) l.qty = Math.min(99, l.qty + delta);
      return l.qty > 0;
    });
    changed();
  }

  function changed() {
    state.sold = null;
    keepOrder();
    renderCart();
    requote();
  }

  function renderCart() {
    var ul = $("cart");
    ul.textContent = "";
    var subs = {};
    if (state.quote) state.quote.lines.forEach(function (l) { subs[l.item_id] = (subs[l.item_id] || 0) + l.subsidy_fen; });
    state.cart.forEach(function (l) {
      var li = document.createElement("li");
      var name = document.createElement("span");
      name.className = "line-name";
      name.textContent = l.label;
      if (subs[l.id]) {
        var sub = document.createElement("span");
        sub.className = "line-sub";
        sub.textContent = S.full_subsidy + " −" + yuan(subs[l.id]);
        name.appendChild(sub);
      }
      var qty = document.createElement("span");
      qty.className = "qty";
      qty.innerHTML = '<button type="button" data-action="qty" data-delta="-1" aria-label="-">−</button>' +
        "<span></span>" + '<button type="button" data-action="qty" data-delta="1" aria-label="+">+</button>';
      qty.querySelector("span").textContent = l.qty;
      qty.dataset.id = l.id;
      var money = document.createElement("span");
      money.className = "money";
      money.textContent = yuan(l.price_fen * l.qty);
      li.appendChild(name);
      li.appendChild(qty);
      li.appendChild(money);
      ul.appendChild(li);
    });
    $("cart-empty").hidden = state.cart.length > 0;
  }

  var quoteTimer = null;
  function requote() {
    clearTimeout(quoteTimer);
    stopRead("quote");
    state.quote = null;
    renderTotals();
    if (!state.cart.length) {
      if (state.credential) showBenefit("refused", S.empty_cart);
      return;
    }
    quoteTimer = setTimeout(function () {
      var seq = ++state.quoteSeq;
      var body = { lines: lines() };
      if (state.credential) body.credential = state.credential;
      readUntilAnswered("quote", function () {
        return orOffline(function () { return api("POST", "/sales/quote", body); },
          function () { return Offline.quote(state.cart, state.credential); }).then(function (r) {
          if (seq !== state.quoteSeq) return true;  // an older order than what is on screen
          if (r.offline) {
            if (state.credential) showBenefit("error", S.quote_waiting);
            return false;
          }
          if (r.ok) {
            applyQuote(r.data);
          } else {
            if (state.credential && r.status !== 401) dropCredential();
            showBenefit("error", errorText(r.data));
          }
          return true;
        });
      });
    }, 120);
  }

  function applyQuote(q) {
    state.quote = q;
    if (q.free_meals) setQuota(q.free_meals);
    renderCart();
    renderTotals();
    if (state.credential) {
      var s = q.subsidy;
      showBenefit(s.amount_fen > 0 ? "granted" : "refused",
        s.amount_fen > 0 ? S.subsidy + " " + yuan(s.amount_fen) : reasonText(s),
        s.amount_fen > 0 ? reasonText(s) : "");
    }
  }

  function renderTotals() {
    var q = state.quote;
    var gross = 0;
    state.cart.forEach(function (l) { gross += l.price_fen * l.qty; });
    $("gross").textContent = yuan(q ? q.gross_fen : gross);
    $("subsidy-row").hidden = !(q && q.subsidy_fen > 0);
    if (q) $("subsidy").textContent = "−" + yuan(q.subsidy_fen);
    $("due").textContent = q ? yuan(q.due_fen) : (state.cart.length ? "…" : yuan(0));
    $("pay-button").disabled = !q || !state.shift || state.sending;
    publishToDisplay(state);
  }

  function showBenefit(kind, text, why) {
    var el = $("benefit");
    el.className = "benefit " + kind;
    el.textContent = text;
    if (why) {
      var w = document.createElement("span");
      w.className = "why";
      w.textContent = why;
      el.appendChild(w);
    }
    el.hidden = !text;
  }

  function setQuota(fm) {
    $("quota-left").textContent = fm.left;
    $("quota-cap").textContent = fm.cap;
    document.querySelector(".quota").classList.toggle("gone", fm.left === 0);
  }

  function refreshQuota() {
    api("GET", "/quota/today").then(function (r) { if (r.ok) setQuota(r.data.free_meals); });
  }

  // -- who is paying ----------------------------------------------------------------------

  // The promise says how the first try went; when that failed for want of the network the
  // lookup is retried, and `onLater` is called if a retry succeeds.
  function lookup(credential, onLater) {
    showBenefit("refused", S.looking_up);
    var first = true;
    return new Promise(function (resolve) {
      readUntilAnswered("lookup", function () {
        return lookupOnce(credential).then(function (ok) {
          if (ok === null) showBenefit("error", S.lookup_waiting);
          if (first) resolve(!!ok);
          else if (ok && onLater) onLater();
          first = false;
          return ok !== null;
        });
      });
    });
  }

  // true: the diner is on screen; false: refused; null: no answer from the server.
  function lookupOnce(credential) {
    var body = {};
    Object.keys(credential).forEach(function (k) { body[k] = credential[k]; });
    if (state.cart.length) body.lines = lines();
    return orOffline(function () { return api("POST", "/credentials/lookup", body); },
      function () { return Offline.lookup(credential, state.cart); }).then(function (r) {
      if (r.offline) return null;
      if (!r.ok) {
        dropCredential();
        showBenefit("error", errorText(r.data));
        return false;
      }
      state.credential = credential;
      state.credentialInfo = r.data.credential;
      var c = r.data.credential || {};
      $("diner").hidden = false;
      $("diner-name").textContent = c.masked_name || (c.kind === "ticket" ? (LANG === "en" ? c.band_en : c.band_zh) : "");
      // The band may name a worker category: the queue can see this screen, so only an age band is shown.
      $("diner-band").textContent = c.worker_category ? "" : (LANG === "en" ? c.band_en : c.band_zh) || "";
      keepOrder();
      if (state.cart.length) {
        requote();
      } else {
        var b = r.data.benefit;
        showBenefit(b.amount_fen > 0 ? "granted" : "refused",
          b.amount_fen > 0 ? S.subsidy + " " + yuan(b.amount_fen) : reasonText(b),
          b.amount_fen > 0 ? reasonText(b) : "");
      }
      return true;
    });
  }

  function dropCredential() {
    stopRead("lookup");
    state.credential = null;
    state.credentialInfo = null;
    $("diner").hidden = true;
    keepOrder();
  }

  function clearCredential() {
    dropCredential();
    showBenefit("", "");
    requote();
  }

  // -- paying ------------------------------------------------------------------------------

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
    var body = { lines: lines(), due_fen: q.due_fen, tender: tender };
    if (state.credential) body.credential = state.credential;
    return body;
  }

  function confirmPay() {
    if (state.sending) return;  // a double tap while the first is on its way
    if (!state.pending && state.quote && state.quote.offline) {
      // Decided here with the network gone: queued on the tablet, synced on reconnect.
      state.sending = true;
      renderPay();
      Offline.sell(state.quote, saleBody()).then(function (sale) {
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
      state.pending = { key: newKey(), body: body, remember: !holdsIdNumber(body.credential, state.credentialInfo) };
      try {
        sessionStorage.setItem(PENDING_KEY, JSON.stringify(state.pending.remember ? state.pending : { key: state.pending.key }));
      } catch (e) { /* private mode: memory is enough */ }
    }
    sendSale();
  }

  // Whether a credential is a resident ID number: typed on the keypad, or scanned into the
  // scan field (the lookup's answer names the kind; the pattern is a second guard).
  function holdsIdNumber(credential, info) {
    if (!credential) return false;
    if (credential.id_number || (info && info.kind === "resident_id")) return true;
    return /^[0-9]{14,17}[0-9X]$/.test(String(credential.scan || "").replace(/\s+/g, "").toUpperCase());
  }

  function finishPending() {
    state.pending = null;
    try { sessionStorage.removeItem(PENDING_KEY); } catch (e) { /* ignore */ }
  }

  function sendSale() {
    if (!state.pending || state.sending) return;
    state.sending = true;
    renderPay();
    renderTotals();
    api("POST", "/sales", state.pending.body, { "Idempotency-Key": state.pending.key }, SALE_TIMEOUT_MS).then(function (r) {
      state.sending = false;
      if (r.offline) {
        // No answer: keep the key and the body; the retry (button or reconnect) reuses both.
        showConnection();
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
        applyQuote(r.data.quote);
        openPay(S.price_changed + yuan(r.data.quote.due_fen) + " — " + reasonText(r.data.quote.subsidy));
      } else {
        setMessage("pay-message", errorText(r.data));
        renderPay();
        renderTotals();
      }
    });
  }

  function saleDone(sale) {
    Shell.clearOrder();  // sold: a reload must not offer the same order again
    state.sold = { due_fen: sale.due_fen, change_fen: sale.change_fen };
    publishToDisplay(state);
    closeOverlays();
    refreshQuota();
    if (!sale.offline && sale.subsidy_fen > 0) Offline.refresh();  // the kit's counters know this diner now
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

  function newSale() {
    clearTimeout(quoteTimer);
    stopRead("quote");
    state.quoteSeq += 1;  // a quote still on its way is for the order just cleared
    state.cart = [];
    state.quote = null;
    state.sold = null;
    dropCredential();
    showBenefit("", "");
    renderCart();
    renderTotals();
  }

  // -- resident ID keypad -------------------------------------------------------------------

  function renderId() {
    var d = state.idDigits;
    $("id-display").textContent = [d.slice(0, 6), d.slice(6, 14), d.slice(14)].filter(Boolean).join(" ") || "—";
  }

  function confirmId() {
    if (state.idDigits.length !== 18) {
      setMessage("id-message", S.id_length);
      return;
    }
    var number = state.idDigits;
    lookup({ id_number: number }, function answeredLater() {
      state.idDigits = "";
      if (!$("id-overlay").hidden) closeOverlays();
    }).then(function (ok) {
      if (ok) {
        state.idDigits = "";
        closeOverlays();
      } else {
        setMessage("id-message", $("benefit").textContent);
      }
    });
  }

  // -- camera (BarcodeDetector where the browser has it) --------------------------------------

  var camera = { stream: null, timer: null };
  function openCamera() {
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices) {
      showBenefit("error", S.camera_none);
      return;
    }
    openOverlay("camera-overlay");
    setMessage("camera-message", "");
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      camera.stream = stream;
      var video = $("camera-video");
      video.srcObject = stream;
      video.play();
      camera.timer = setInterval(function () {
        detector.detect(video).then(function (codes) {
          if (codes.length) {
            var text = codes[0].rawValue;
            closeOverlays();
            lookup({ scan: text });
          }
        }, function () {});
      }, 250);
    }, function () { setMessage("camera-message", S.camera_error); });
  }

  function stopCamera() {
    clearInterval(camera.timer);
    camera.timer = null;
    if (camera.stream) camera.stream.getTracks().forEach(function (t) { t.stop(); });
    camera.stream = null;
  }

  // -- recent sales and voids -------------------------------------------------------------------

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
      refreshQuota();
      openSales();
      setMessage("void-message", "");
      showBenefit("refused", S.void_done + " · #" + r.data.receipt_no);
    });
  }

  // -- shifts -----------------------------------------------------------------------------------

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
    renderTotals();
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
          Shell.keepPage();
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
      Shell.keepPage();
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

  // -- the order across a reload, offline use, sign-out ------------------------------------------
  // The order and the diner as the screen shows them are kept (till-shell.js) so a reload,
  // online or off, comes back to them; for a voucher its scanned text too, to redo the quote.
  // A resident ID number is never kept: after a reload the cashier types it again.

  function keepOrder() {
    var idNumber = holdsIdNumber(state.credential, state.credentialInfo);
    var diner = state.credential && !idNumber && !$("diner").hidden
      ? { name: $("diner-name").textContent, band: $("diner-band").textContent } : null;
    Shell.saveOrder({ cart: state.cart, diner: diner, credential: diner ? state.credential : null, idNumber: idNumber });
  }

  function restoreOrder() {
    var kept = Shell.loadOrder();
    if (!kept) return;
    state.cart = kept.cart.filter(function (l) {
      return l && typeof l.id === "string" && typeof l.label === "string" &&
        Number.isInteger(l.price_fen) && Number.isInteger(l.qty) && l.qty > 0 && l.qty <= 99;
    });
    if (kept.diner && kept.credential && !holdsIdNumber(kept.credential, null)) {
      state.credential = kept.credential;
      $("diner").hidden = false;
      $("diner-name").textContent = kept.diner.name;
      $("diner-band").textContent = kept.diner.band;
    }
    if (state.cart.length) changed();
    else keepOrder();
    if (kept.idNumber) showBenefit("refused", S.id_not_kept);
  }

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
      Offline.beforeSignOut().then(function (go) {
        if (go) Promise.race([Shell.forgetDevice([PENDING_KEY]), slow()]).then(send, send);
      });
    });
  }

  // -- overlays and focus ---------------------------------------------------------------------

  function openOverlay(id) {
    document.querySelectorAll(".overlay").forEach(function (o) { o.hidden = o.id !== id; });
  }

  function closeOverlays() {
    stopCamera();
    stopRead("sales");
    document.querySelectorAll(".overlay").forEach(function (o) { o.hidden = true; });
    if (!state.shift) openShift("open");
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

  document.addEventListener("click", function (ev) {
    var el = ev.target.closest("[data-action], [data-key]");
    if (!el) { setTimeout(focusScan, 0); return; }
    if (el.dataset.key !== undefined && !el.dataset.action) {
      var pad = el.closest("[data-keypad]").dataset.keypad;
      var key = el.dataset.key;
      if (pad === "cash") { state.tendered = typeMoney(state.tendered, key); renderPay(); }
      if (pad === "shift") { state.shiftAmount = typeMoney(state.shiftAmount, key); renderShiftAmount(); }
      if (pad === "id") {
        if (key === "⌫") state.idDigits = state.idDigits.slice(0, -1);
        else if (state.idDigits.length < 18 && (key !== "X" || state.idDigits.length === 17)) state.idDigits += key;
        setMessage("id-message", "");
        renderId();
      }
      if (pad === "pin") {
        if (key === "⌫") state.pin = state.pin.slice(0, -1);
        else if (key === "C") state.pin = "";
        else if (state.pin.length < 8) state.pin += key;
        renderPin();
      }
      return;
    }
    var a = el.dataset.action;
    if (a === "add") addDish(el);
    else if (a === "qty") changeQty(el.parentNode.dataset.id, parseInt(el.dataset.delta, 10));
    else if (a === "category") {
      document.querySelectorAll(".category-tabs .tab").forEach(function (t) { t.classList.toggle("active", t === el); });
      document.querySelectorAll(".dish-grid").forEach(function (g) {
        g.classList.toggle("hidden-cat", g.dataset.category !== el.dataset.category);
      });
    }
    else if (a === "open-pay") openPay();
    else if (a === "method") { state.method = el.dataset.method; renderPay(); }
    else if (a === "quick-cash") {
      var due = state.quote ? state.quote.due_fen : 0;
      var fen = el.dataset.fen === "exact" ? due : parseInt(el.dataset.fen, 10);
      state.tendered = (Math.floor(fen / 100)) + (fen % 100 ? "." + ("0" + (fen % 100)).slice(-2) : "");
      renderPay();
    }
    else if (a === "confirm-pay") confirmPay();
    else if (a === "retry-pending") { if (state.pending) sendSale(); }
    else if (a === "retry-now") retryReadsNow();
    else if (a === "close-overlay") closeOverlays();
    else if (a === "next-diner") { newSale(); closeOverlays(); }
    else if (a === "new-sale") newSale();
    else if (a === "clear-credential") clearCredential();
    else if (a === "open-id") { state.idDigits = ""; renderId(); setMessage("id-message", ""); openOverlay("id-overlay"); }
    else if (a === "confirm-id") confirmId();
    else if (a === "camera") openCamera();
    else if (a === "open-sales") openSales();
    else if (a === "open-display") openDisplay();
    else if (a === "open-void") openVoid(el);
    else if (a === "void-reason") {
      document.querySelectorAll(".void-reasons .chip").forEach(function (c) { c.classList.toggle("active", c === el); });
      $("void-reason").value = el.textContent;
    }
    else if (a === "confirm-void") confirmVoid();
    else if (a === "open-close-shift") { if (state.shift) openShift("close"); }
    else if (a === "confirm-shift") confirmShift();
    else Offline.act(a);
    setTimeout(focusScan, 0);
  });

  $("scan").addEventListener("keydown", function (ev) {
    if (ev.key !== "Enter") return;
    ev.preventDefault();
    var text = $("scan").value.trim();
    $("scan").value = "";
    if (text) lookup({ scan: text });
  });
  $("scan").addEventListener("blur", function () { setTimeout(focusScan, 150); });
  document.addEventListener("keydown", function (ev) {
    // A scanner firing while a button has the focus still lands in the scan field.
    if (!anyOverlay() && ev.target === document.body && ev.key.length === 1) focusScan();
  });

  if ("BarcodeDetector" in window && navigator.mediaDevices) $("camera-btn").hidden = false;

  // A sale sent before a reload, without an answer: resend it with the same key, or, when
  // its body could not be kept (it held a resident ID number), ask the cashier to check.
  try {
    var saved = JSON.parse(sessionStorage.getItem(PENDING_KEY) || "null");
    if (saved && saved.body) {
      state.pending = saved;
      sendSale();
    } else if (saved) {
      sessionStorage.removeItem(PENDING_KEY);
      showBenefit("error", S.pending_unknown);
    }
  } catch (e) { /* ignore */ }

  Offline = window.CanteenTillOffline.init({
    S: S, lang: LANG, cashier: root.dataset.cashier, api: api, wordsUrl: root.dataset.wordsUrl,
    isOffline: function () { return state.offline; }, openOverlay: openOverlay, closeOverlays: closeOverlays
  });
  setInterval(refreshQuota, 30000);
  restoreOrder();
  offerOfflineUse();
  showConnection();
  if (navigator.onLine === false) setOffline(true);  // "offline" is never a lie; "online" may be
  renderCart();
  renderShiftStatus();
  if (!state.shift) openShift("open");
  focusScan();

  // -- the printable receipt page ----------------------------------------------------------------
  function initReceiptPage() {
    var print = document.querySelector("[data-action='print']");
    if (print) print.addEventListener("click", function () { window.print(); });
  }
})();
