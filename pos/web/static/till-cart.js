/* The till's order: the dishes and their quantities, who is paying (a scanned voucher or
 * ticket, the camera, a resident ID number typed on the keypad), the server's quote of the
 * order and its totals, and the order kept across a reload.
 *
 * Money shown here is the server's (the quote); before the quote arrives the order's gross is
 * summed here, on integer fen, for the total line only.
 *
 * Defines window.CanteenTillCart.init(till), called by till.js at start-up.  From `till` it
 * needs the shared state and strings, $, yuan, the request helpers (api, errorText,
 * reasonText, orOffline, readUntilAnswered, stopRead), the sheets (openOverlay,
 * closeOverlays, setMessage), publishToDisplay, the shell (Shell: the kept order) and the
 * offline part (till.offline: quote and lookup with the network gone).  It gives the others
 * lines, renderCart, renderTotals, applyQuote, showBenefit, refreshQuota, lookup, newSale,
 * stopCamera, offerCamera, holdsIdNumber and restoreOrder, and the buttons and keypad it answers.
 */
(function () {
  "use strict";

  function init(till) {
    var state = till.state, S = till.S, LANG = till.lang, $ = till.$, yuan = till.yuan;
    var api = till.api, errorText = till.errorText, reasonText = till.reasonText, orOffline = till.orOffline;
    var readUntilAnswered = till.readUntilAnswered, stopRead = till.stopRead;
    var openOverlay = till.openOverlay, closeOverlays = till.closeOverlays, setMessage = till.setMessage;
    var Shell = till.Shell;  // pos/web/static/till-shell.js: the order kept across a reload

    // -- the order -----------------------------------------------------------------------------

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
            function () { return till.offline.quote(state.cart, state.credential); }).then(function (r) {
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
      till.publishToDisplay(state);
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

    // -- who is paying -------------------------------------------------------------------------

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
        function () { return till.offline.lookup(credential, state.cart); }).then(function (r) {
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

    // -- resident ID keypad --------------------------------------------------------------------

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

    // -- camera (BarcodeDetector where the browser has it) -------------------------------------

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

    // The camera button shows only where the browser can read a QR code from it.
    function offerCamera() {
      if ("BarcodeDetector" in window && navigator.mediaDevices) $("camera-btn").hidden = false;
    }

    // -- the next diner ------------------------------------------------------------------------

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

    // -- the order across a reload -------------------------------------------------------------
    // The order and the diner as the screen shows them are kept (till-shell.js) so a reload,
    // online or off, comes back to them; for a voucher its scanned text too, to redo the quote.
    // A resident ID number is never kept: after a reload the cashier types it again.

    // Whether a credential is a resident ID number: typed on the keypad, or scanned into the
    // scan field (the lookup's answer names the kind; the pattern is a second guard).
    function holdsIdNumber(credential, info) {
      if (!credential) return false;
      if (credential.id_number || (info && info.kind === "resident_id")) return true;
      return /^[0-9]{14,17}[0-9X]$/.test(String(credential.scan || "").replace(/\s+/g, "").toUpperCase());
    }

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

    // -- the buttons and the keypad it answers -------------------------------------------------

    var actions = {
      "add": addDish,
      "qty": function (el) { changeQty(el.parentNode.dataset.id, parseInt(el.dataset.delta, 10)); },
      "category": function (el) {
        document.querySelectorAll(".category-tabs .tab").forEach(function (t) { t.classList.toggle("active", t === el); });
        document.querySelectorAll(".dish-grid").forEach(function (g) {
          g.classList.toggle("hidden-cat", g.dataset.category !== el.dataset.category);
        });
      },
      "new-sale": newSale,
      "clear-credential": clearCredential,
      "open-id": function () { state.idDigits = ""; renderId(); setMessage("id-message", ""); openOverlay("id-overlay"); },
      "confirm-id": confirmId,
      "camera": openCamera
    };

    var keypads = {
      id: function (key) {
        if (key === "⌫") state.idDigits = state.idDigits.slice(0, -1);
        else if (state.idDigits.length < 18 && (key !== "X" || state.idDigits.length === 17)) state.idDigits += key;
        setMessage("id-message", "");
        renderId();
      }
    };

    return {
      lines: lines, renderCart: renderCart, renderTotals: renderTotals, applyQuote: applyQuote,
      showBenefit: showBenefit, refreshQuota: refreshQuota, lookup: lookup, newSale: newSale,
      stopCamera: stopCamera, offerCamera: offerCamera, holdsIdNumber: holdsIdNumber,
      restoreOrder: restoreOrder, actions: actions, keypads: keypads
    };
  }

  window.CanteenTillCart = { init: init };
})();
