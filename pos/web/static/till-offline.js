/* Selling with the network gone: this tablet as a registered till, the offline kit and the
 * free-meal lease, offline decisions, and syncing the queued sales exactly once.
 *
 * - The device identity ({id, token}, answered once by POST /api/v1/devices) is the tablet's,
 *   not the cashier's: it lives in localStorage and survives sign-out.  Every API call of a
 *   registered till sends it (X-Till-Device).
 * - While online the till holds a lease of today's free meals and the kit (menu, policy,
 *   entitlements matched by SHA-256 prefixes of the scanned text), refreshed every 3 minutes
 *   and after a subsidised sale; the kit expires with its business date and goes at sign-out.
 * - Offline, a scan is hashed and looked up in the kit (a forged, revoked or superseded voucher
 *   is not there), and the decision is CanteenRules.decide (decide.js, checked against the
 *   server's engine in CI) with the kit's counters plus this till's own queued sales.  A free
 *   meal comes only out of the lease.  A typed resident ID number is checked (resident_id.js,
 *   the server's check ported: a mistyped one is told as such), but a valid one buys no
 *   subsidy offline: the kit carries no ID number (nor its pseudonym), so neither registration
 *   nor today's subsidised meals can be looked up; the cashier is told so and charges the menu
 *   price.  The number is never queued: the credential is dropped.
 * - A sale made offline goes into the IndexedDB queue (till-queue.js) with its Idempotency-Key,
 *   the tablet's time and its offline number; on reconnect the queue is sent in order, one at a
 *   time, the same key on every try.  201/202 removes a sale; a refusal keeps it, marked for a
 *   supervisor, and the next one goes.
 * - Whose sales sync: each queued sale keeps the cashier who made it, and only that cashier's
 *   session sends it (the server records the sale under the signed-in cashier and their shift).
 *   Signing out with sales still queued asks first; they go when that cashier signs in again
 *   on this tablet.
 */
(function () {
  "use strict";

  var Q = window.CanteenTillQueue;
  var Rules = window.CanteenRules;
  var DEVICE_KEY = "till.device";
  var KIT_KEY = "kit";
  var REFRESH_MS = 180000;
  var SYNC_TIMEOUT_MS = 20000;
  var TOKEN_IN_URL = /\/(v|t)\/([A-Za-z0-9_\-]+\.?[A-Za-z0-9_\-]*)/;
  var BARE_TOKEN = /^[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*$/;
  var ID_NUMBER = /^[0-9]{14,17}[0-9X]$/;

  function device() {
    try {
      var d = JSON.parse(localStorage.getItem(DEVICE_KEY) || "null");
      return d && typeof d.id === "string" && typeof d.token === "string" ? d : null;
    } catch (e) {
      return null;
    }
  }

  // The X-Till-Device header of this tablet ("" when it is not a registered till).
  function deviceHeader() {
    var d = device();
    return d ? d.id + ":" + d.token : "";
  }

  function init(ctx) {
    // ctx: {S, lang, cashier, api(method, path, body, headers, ms), isOffline(), openOverlay(id),
    //       closeOverlays(), wordsUrl}
    var S = ctx.S;
    var kit = null;          // the offline kit in use (today's)
    var byHash = {};         // entitlement by match hash
    var words = null;        // rules_words.json
    var queue = [];          // the last read of the queue, for the header
    var wasOffline = false;  // an offline spell since the lease was last given back
    var syncing = null;
    var $ = function (id) { return document.getElementById(id); };

    // -- the device identity ----------------------------------------------------------------

    function register(name) {
      return ctx.api("POST", "/devices", { name: name }).then(function (r) {
        if (r.status === 201) {
          localStorage.setItem(DEVICE_KEY, JSON.stringify({ id: r.data.id, token: r.data.token, name: r.data.name,
            canteen: r.data.canteen }));
          refresh();
        }
        return r;
      });
    }

    // The server no longer knows this till (revoked, or another database): forget it, so a
    // supervisor can register the tablet again.  Its queued sales stay, marked at sync.
    function deviceRefused(r) {
      var code = r.data && r.data.error && r.data.error.code;
      if (code !== "device_unknown" && code !== "device_revoked") return false;
      localStorage.removeItem(DEVICE_KEY);
      dropKit();
      show();
      return true;
    }

    // -- the kit and the lease --------------------------------------------------------------

    // The canteen's date and time now, "YYYY-MM-DD" and "HH:MM:SS", whatever the tablet's zone.
    function localNow(tz) {
      var parts = {};
      new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" })
        .formatToParts(new Date()).forEach(function (p) { parts[p.type] = p.value; });
      return { date: parts.year + "-" + parts.month + "-" + parts.day,
        time: parts.hour + ":" + parts.minute + ":" + parts.second };
    }

    // The tablet's own time with its offset, as the server wants sold_at and sent_at.
    function tabletTime(d) {
      var pad = function (n, w) { return ("000" + n).slice(-(w || 2)); };
      var off = -d.getTimezoneOffset();
      return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" +
        pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + "." + pad(d.getMilliseconds(), 3) +
        (off >= 0 ? "+" : "-") + pad(Math.floor(Math.abs(off) / 60)) + ":" + pad(Math.abs(off) % 60);
    }

    function useKit(k) {
      kit = k;
      byHash = {};
      (k ? k.entitlements : []).forEach(function (e) { e.match.forEach(function (h) { byHash[h] = e; }); });
      show();
    }

    function kitUsable() {
      return !!(kit && Date.now() < Date.parse(kit.expires_at) && localNow(kit.timezone).date === kit.business_date);
    }

    function dropKit() {
      useKit(null);
      return Q.remove(KIT_KEY).catch(function () {});
    }

    function refresh() {
      if (!device() || ctx.isOffline()) return Promise.resolve();
      return ctx.api("POST", "/devices/lease").then(function (r) {
        if (r.offline || deviceRefused(r)) return null;
        return ctx.api("GET", "/till/offline-kit");
      }).then(function (r) {
        if (!r || !r.ok || !r.data || !r.data.entitlements) {
          if (r) deviceRefused(r);
          return;
        }
        useKit(r.data);
        return Q.set(KIT_KEY, r.data).catch(function () {});
      });
    }

    function loadWords() {
      return fetch(ctx.wordsUrl).then(function (r) { return r.json(); }).then(function (w) { words = w; }, function () {});
    }

    // Whether a sale can be decided here now: a registered till with today's kit.
    function canSell() {
      return !!(device() && words && kitUsable());
    }

    // -- deciding offline -------------------------------------------------------------------

    function hex(buffer) {
      return Array.prototype.map.call(new Uint8Array(buffer), function (b) { return (b + 0x100).toString(16).slice(1); })
        .join("");
    }

    function matchHash(text) {
      var len = kit.entitlements.length ? kit.entitlements[0].match[0].length : 32;
      return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)).then(function (d) {
        return hex(d).slice(0, len);
      });
    }

    // What the scan names, as the server reads it (pos/store/tokens.py): the token of a
    // voucher or ticket URL, a bare token, or a short code (case, spaces and dashes aside).
    function scanKey(text) {
      var m = TOKEN_IN_URL.exec(text);
      if (m) return m[2];
      if (BARE_TOKEN.test(text)) return text;
      return "code:" + text.normalize("NFKC").toUpperCase().replace(/[ \-_\t\r\n]/g, "");
    }

    // `words`: {zh, en}, or one of S's words (already in the till's language).
    function refusal(words) {
      var zh = words.zh || words, en = words.en || words;
      return { ok: false, status: 422, data: { error: { message_zh: zh, message_en: en } } };
    }

    // A typed (or scanned) ID number: its mistake in the server's words, or what offline cannot decide.
    function idNumberRefusal(number) {
      var checked = window.CanteenResidentId.parse(number, localNow(kit.timezone).date);
      return checked.ok ? S.offline_id_menu_price : { zh: checked.message_zh, en: checked.message_en };
    }

    // {ent} for the credential (null: none), or {refused: words}.
    function entitlementOf(credential) {
      if (!credential) return Promise.resolve({ ent: null });
      var text = String(credential.scan || "").trim();
      if (credential.id_number || ID_NUMBER.test(text.replace(/\s+/g, "").toUpperCase())) {
        return Promise.resolve({ refused: idNumberRefusal(credential.id_number || text) });
      }
      return matchHash(scanKey(text)).then(function (h) {
        return byHash[h] ? { ent: byHash[h] } : { refused: S.offline_unknown_voucher };
      });
    }

    function leaseLeft(list) {
      if (!kit || !kit.lease || kit.lease.ended) return 0;
      var used = list.filter(function (s) { return s.body.offline.lease_id === kit.lease.lease_id; }).length;
      return Math.max(kit.lease.outstanding - used, 0);
    }

    // The engine's counters: the kit's, plus this till's own queued subsidised sales of the diner.
    function counters(ent, list, now) {
      var policy = kit.policy, c = ent.counters || {};
      var ticket = ent.kind === "ticket";
      var period = Rules.periodKey(policy, now.time);
      var byDay = ticket || policy.limit_per === "day";
      var mine = list.filter(function (s) {
        return s.diner === ent.diner && s.granted && (ticket || s.business_date === now.date);
      });
      var sameSpan = mine.filter(function (s) { return byDay || s.period === period; });
      return {
        free_meals_used: leaseLeft(list) > 0 ? 0 : policy.free_meals_per_day,
        diner_subsidised: (byDay ? c.today || 0 : (c.periods || {})[period] || 0) + sameSpan.length,
        diner_week: (c.week || 0) + mine.length
      };
    }

    function menuItem(id) {
      return kit.menu.filter(function (m) { return m.id === id; })[0] || null;
    }

    // The order priced and decided here, in the shape of the server's quote (till.js shows it
    // the same way), with what the sale needs to be queued.
    function quote(cart, credential) {
      return entitlementOf(credential).then(function (found) {
        if (found.refused) return refusal(found.refused);
        return Q.all().then(function (list) {
          queue = list;
          var now = localNow(kit.timezone);
          var lines = cart.map(function (l, i) {
            var item = menuItem(l.id);
            return { item_id: i, name: l.label, unit_price_fen: item ? item.price_fen : l.price_fen, qty: l.qty,
              welfare_meal: !!(item && item.welfare_meal) };
          });
          var gross = lines.reduce(function (sum, l) { return sum + l.unit_price_fen * l.qty; }, 0);
          var ent = found.ent;
          var d = ent ? Rules.decide({ policy: kit.policy, diner: ent.facts, order: { lines: lines },
            business_date: now.date, local_time: now.time, counters: counters(ent, list, now) }, words) : null;
          if (d && d.code === "free_meals_gone") { d.reason_zh = S.lease_used_up; d.reason_en = S.lease_used_up; }
          var amount = d && d.granted ? d.amount_fen : 0;
          return { ok: true, status: 200, data: {
            offline: true, gross_fen: gross, subsidy_fen: amount, due_fen: gross - amount,
            lines: cart.map(function (l, i) {
              return { item_id: l.id, subsidy_fen: d && d.granted && d.line_index === i ? amount : 0 };
            }),
            subsidy: { amount_fen: amount, kind: amount ? d.kind : null, reason: d ? d.reason_zh : "",
              reason_en: d ? d.reason_en : "" },
            decision: d, diner: ent ? ent.diner : null, business_date: now.date,
            unit_prices_fen: lines.map(function (l) { return l.unit_price_fen; }),
            names: lines.map(function (l) { return l.name; })
          } };
        });
      });
    }

    // The lookup's answer, offline: who (masked) and the benefit for the order so far.
    function lookup(credential, cart) {
      return entitlementOf(credential).then(function (found) {
        if (found.refused) return refusal(found.refused);
        var ent = found.ent;
        var order = cart.length ? cart : kit.menu.filter(function (m) { return m.welfare_meal; }).slice(0, 1)
          .map(function (m) { return { id: m.id, label: m.name, price_fen: m.price_fen, qty: 1 }; });
        return quote(order, credential).then(function (q) {
          return { ok: true, status: 200, data: {
            credential: { kind: ent.kind, masked_name: ent.masked_name, band_zh: ent.band_zh, band_en: ent.band_en,
              worker_category: ent.facts.worker_category },
            benefit: q.data.subsidy } };
        });
      });
    }

    function newKey() {
      return "off-" + crypto.randomUUID();
    }

    // Queues the sale of quote `q` with `body` (lines, due_fen, tender, credential, as an
    // online sale); resolves with what the receipt shows.
    function sell(q, body) {
      var dev = device(), d = q.decision, granted = !!(d && d.granted);
      var soldAt = tabletTime(new Date());
      body.offline = { device_id: dev.id, sold_at: soldAt, sent_at: soldAt, offline_no: 0,
        lease_id: granted && d.kind === "free_meal" && kit.lease ? kit.lease.lease_id : null,
        decision: { kind: granted ? d.kind : null, amount_fen: granted ? d.amount_fen : 0 },
        unit_prices_fen: q.unit_prices_fen };
      var entry = { key: newKey(), device_id: dev.id, business_date: q.business_date, cashier: ctx.cashier,
        diner: q.diner, granted: granted, period: d ? d.period : "", sold_at: soldAt, problem: null,
        names: q.names, body: body };
      return Q.enqueue(entry).then(function (saved) {
        return Q.all().then(function (list) {
          queue = list;
          show();
          return receiptOf(saved, q);
        });
      });
    }

    function receiptOf(entry, q) {
      var tender = entry.body.tender;
      var paid = tender.method === "cash" ? tender.tendered_fen : q.due_fen;
      return { offline: true, offline_no: entry.offline_no, gross_fen: q.gross_fen, subsidy_fen: q.subsidy_fen,
        due_fen: q.due_fen, change_fen: paid - q.due_fen, tender: { method: tender.method, tendered_fen: paid },
        lines: entry.body.lines.map(function (l, i) {
          var unit = q.unit_prices_fen[i];
          return { name: q.names[i], qty: l.qty, unit_price_fen: unit, line_total_fen: unit * l.qty,
            subsidy_fen: q.lines[i].subsidy_fen };
        }) };
    }

    // -- syncing ------------------------------------------------------------------------------

    // Sends this cashier's queued sales in order, one at a time; stops at the first that gets
    // no answer (the network again) and carries on after a refusal.  One sync at a time, in
    // this tab and (Web Locks) across the tablet's tabs.
    function sync() {
      if (syncing) return syncing;
      if (!device() || ctx.isOffline()) return Promise.resolve();
      var run = function () { return Q.all().then(sendFrom); };
      var locked = navigator.locks ? navigator.locks.request("canteen-till-sync", run) : run();
      syncing = locked.then(finish, finish);
      return syncing;
    }

    function finish() {
      syncing = null;
      return Q.all().then(function (list) {
        queue = list;
        show();
        if (ctx.isOffline()) return;
        ctx.api("POST", "/devices/heartbeat", { queued: list.length });
        if (list.length === 0 && wasOffline && kit && kit.lease && !kit.lease.ended) {
          wasOffline = false;
          return ctx.api("POST", "/devices/lease/return", { lease_id: kit.lease.lease_id }).then(refresh);
        }
      });
    }

    function sendFrom(list) {
      var mine = list.filter(function (s) { return s.cashier === ctx.cashier && !s.problem; });
      var sent = 0;
      function next(i) {
        if (i >= mine.length) return Promise.resolve(sent);
        var s = mine[i];
        s.body.offline.sent_at = tabletTime(new Date());
        return ctx.api("POST", "/sales", s.body, { "Idempotency-Key": s.key }, SYNC_TIMEOUT_MS).then(function (r) {
          if (r.offline || r.status >= 500 || r.status === 401 || r.status === 429) return sent;  // later, same key
          sent += 1;
          if (r.status === 201 || r.status === 202) return Q.done(s.key).then(function () { return next(i + 1); });
          var e = (r.data && r.data.error) || {};
          s.problem = { status: r.status, code: e.code || "", zh: e.message_zh || S.unknown_error,
            en: e.message_en || S.unknown_error };
          return Q.update(s).then(function () { return next(i + 1); });
        });
      }
      return next(0).then(function (n) { if (n) return refresh(); });
    }

    // -- the header and the queue sheet ----------------------------------------------------------

    function show() {
      var registered = !!device();
      var reg = $("register-device");
      if (reg) reg.hidden = registered;
      var meals = $("offline-meals");
      meals.hidden = !(registered && kit && kit.lease);
      meals.textContent = S.offline_meals + " " + leaseLeft(queue);
      var problems = queue.filter(function (s) { return s.problem; }).length;
      var waiting = $("queued-count");
      waiting.hidden = queue.length === 0;
      waiting.textContent = S.queued + " " + queue.length + (problems ? " · " + S.needs_supervisor + " " + problems : "");
      waiting.classList.toggle("problem", problems > 0);
    }

    function showQueue() {
      var tbody = $("queue-rows");
      tbody.textContent = "";
      queue.forEach(function (s) {
        var tr = document.createElement("tr");
        var state = s.problem ? S.needs_supervisor + "：" + (ctx.lang === "en" ? s.problem.en : s.problem.zh)
          : S.queued;
        [["#" + s.offline_no], [s.sold_at.slice(11, 16)], [window.CanteenMoney.yuan(s.body.due_fen), "money"],
          [state]].forEach(function (c) {
          var td = document.createElement("td");
          td.textContent = c[0];
          if (c[1]) td.className = c[1];
          tr.appendChild(td);
        });
        if (s.problem) tr.className = "problem";
        tbody.appendChild(tr);
      });
      ctx.openOverlay("queue-overlay");
    }

    function openRegister() {
      $("device-name").value = "";
      $("device-message").hidden = true;
      ctx.openOverlay("device-overlay");
      $("device-name").focus();
    }

    function confirmRegister() {
      var name = $("device-name").value.trim();
      var msg = $("device-message");
      if (!name) { msg.textContent = S.device_name_required; msg.hidden = false; return; }
      $("confirm-device").disabled = true;
      register(name).then(function (r) {
        $("confirm-device").disabled = false;
        if (r.status === 201) { ctx.closeOverlays(); return; }
        var e = r.data && r.data.error;
        msg.textContent = r.offline ? S.network_down : e ? (ctx.lang === "en" ? e.message_en : e.message_zh)
          : S.unknown_error;
        msg.hidden = false;
      });
    }

    // The till's own click actions; false for one that is not this module's.
    function act(action) {
      if (action === "open-register-device") openRegister();
      else if (action === "confirm-device") confirmRegister();
      else if (action === "open-queue") showQueue();
      else return false;
      return true;
    }

    // -- the connection and sign-out ------------------------------------------------------------

    function connection(offline) {
      if (offline) { wasOffline = wasOffline || !!device(); return; }
      sync();
    }

    // Sign-out: asks first while this cashier's sales wait (they sync only in this cashier's
    // session); then the kit goes, the identity and the queue stay.  Resolves false to stay.
    function beforeSignOut() {
      return Q.all().catch(function () { return []; }).then(function (list) {
        var mine = list.filter(function (s) { return s.cashier === ctx.cashier && !s.problem; }).length;
        if (mine && !window.confirm(S.signout_queued.replace("{n}", mine))) return false;
        return dropKit().then(function () { return true; });
      });
    }

    Q.all().then(function (list) { queue = list; show(); }, function () {});
    Q.get(KIT_KEY).then(function (k) { if (k && !kit) useKit(k); }, function () {});
    loadWords();
    refresh().then(sync);
    setInterval(function () { refresh().then(sync); }, REFRESH_MS);
    show();

    return { canSell: canSell, lookup: lookup, quote: quote, sell: sell, sync: sync,
      refresh: refresh, connection: connection, act: act, beforeSignOut: beforeSignOut };
  }

  window.CanteenTillOffline = { init: init, deviceHeader: deviceHeader };
})();
