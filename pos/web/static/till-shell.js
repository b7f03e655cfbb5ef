/* The till's shell: what keeps the till page usable when the canteen's Wi-Fi goes.
 *
 * - requests with a deadline: a request the network swallowed ends as a failure after a few
 *   seconds instead of leaving the screen at "正在识别……" for ever;
 * - retries with backoff for the requests that only read (lookup, quote, recent sales);
 * - the order and the chosen diner kept in sessionStorage, so a reload does not lose them;
 * - the service worker (till-sw.js) that keeps the page and its files for a reload offline,
 *   and the reason when this browser cannot have one;
 * - forgetting all of it at sign-out: tablets are shared.
 *
 * till.js uses these through window.CanteenTillShell; nothing here knows the till's screen.
 */
(function () {
  "use strict";

  var ORDER_KEY = "till.order";
  var READ_TIMEOUT_MS = 8000;
  var FIRST_WAIT_MS = 1000;
  var LONGEST_WAIT_MS = 15000;

  // fetch and read the JSON answer, all within `ms`: {status, ok, data}, or a rejection when
  // the network failed or the deadline passed (AbortController: navigator.onLine lies, and
  // a half-dead Wi-Fi leaves a request open for minutes).
  function fetchJson(url, init, ms) {
    var ctl = new AbortController();
    var timer = setTimeout(function () { ctl.abort(); }, ms || READ_TIMEOUT_MS);
    var options = {};
    Object.keys(init || {}).forEach(function (k) { options[k] = init[k]; });
    options.signal = ctl.signal;
    return fetch(url, options).then(function (resp) {
      return resp.json().catch(function (e) {
        if (e && e.name === "AbortError") throw e;  // the answer stopped half-way
        return null;                                // an answer without JSON (a proxy's page)
      }).then(function (data) {
        return { status: resp.status, ok: resp.ok, data: data };
      });
    }).then(function (r) {
      clearTimeout(timer);
      return r;
    }, function (e) {
      clearTimeout(timer);
      throw e;
    });
  }

  // Runs `attempt` (a function returning a promise of true when done, false when the network
  // failed) now and again after 1, 2, 4, 8, 15, 15 … seconds until it is done or cancelled;
  // `waiting` says whether it is between failed tries, and `changed` is called when that changes.
  // `now()` tries again at once (the 重试 button, the network coming back).
  function retrying(attempt, changed) {
    var wait = FIRST_WAIT_MS, timer = null, running = false, over = false;
    var self = { waiting: false, cancel: cancel, now: now };
    function setWaiting(w) {
      if (self.waiting === w) return;
      self.waiting = w;
      if (changed) changed();
    }
    function run() {
      timer = null;
      running = true;
      attempt().then(function (done) {
        running = false;
        if (over) return;
        if (done) { over = true; setWaiting(false); return; }
        timer = setTimeout(run, wait);
        wait = Math.min(wait * 2, LONGEST_WAIT_MS);
        setWaiting(true);
      });
    }
    function cancel() {
      over = true;
      clearTimeout(timer);
      setWaiting(false);
    }
    function now() {
      if (over || running) return;
      clearTimeout(timer);
      wait = FIRST_WAIT_MS;
      run();
    }
    run();
    return self;
  }

  // -- the order across a reload ------------------------------------------------------------
  // sessionStorage: one tab's, gone when the tab closes.  What is kept is what the screen
  // shows (dishes, the diner's masked name and band) and, for a voucher, the scanned text so
  // the quote can be redone; never a resident ID number (till.js decides, holdsIdNumber).

  function saveOrder(order) {
    try {
      if (!order.cart.length && !order.diner) sessionStorage.removeItem(ORDER_KEY);
      else sessionStorage.setItem(ORDER_KEY, JSON.stringify(order));
    } catch (e) { /* private mode or full: the order lives in memory only */ }
  }

  function loadOrder() {
    try {
      var order = JSON.parse(sessionStorage.getItem(ORDER_KEY) || "null");
      return order && Array.isArray(order.cart) ? order : null;
    } catch (e) {
      return null;
    }
  }

  function clearOrder() {
    try { sessionStorage.removeItem(ORDER_KEY); } catch (e) { /* ignore */ }
  }

  // -- offline use: the service worker --------------------------------------------------------

  // Why this browser cannot keep the till for a reload offline, or "" when it can.  Browsers
  // give service workers only to secure contexts: https, or 127.0.0.1 / localhost; a till
  // opened at http://192.168.x.y gets none.
  function offlineUnavailable(win) {
    if (!win.isSecureContext) return "insecure";
    if (!win.navigator || !("serviceWorker" in win.navigator)) return "no_worker";
    return "";
  }

  // Registers the worker and, once it runs, has it keep a copy of this page (which was
  // loaded before the worker could see it).
  function registerWorker(url, scope) {
    if (offlineUnavailable(window)) return Promise.resolve(null);
    return navigator.serviceWorker.register(url, { scope: scope }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      if (registration.active) registration.active.postMessage("keep-page");
      return registration;
    }).catch(function () { return null; });
  }

  // The kept page carries what the server rendered (the open shift above all): after a
  // change to it the worker keeps a fresh copy, so a reload offline does not ask the
  // cashier to open a shift that is open.
  function keepPage() {
    var sw = navigator.serviceWorker;
    if (sw && sw.controller) sw.controller.postMessage("keep-page");
  }

  // Sign-out on a shared tablet: the kept order, the cached till page (it carries the
  // cashier's name) and every cache of this origin but the release's own files (till-sw.js
  // "till-shell-<version>": scripts and icons, nobody's data — without them the next cashier's
  // till would not come back on a reload offline) go before the sign-out is sent.  The
  // server's answer also says Clear-Site-Data, for browsers that honour it.
  function forgetDevice(keys) {
    try {
      (keys || []).concat([ORDER_KEY]).forEach(function (k) { sessionStorage.removeItem(k); });
    } catch (e) { /* ignore */ }
    if (!window.caches) return Promise.resolve();
    return caches.keys().then(function (names) {
      return Promise.all(names.filter(function (n) { return n.indexOf("till-shell-") !== 0; })
        .map(function (n) { return caches.delete(n); }));
    }).catch(function () { /* nothing kept, nothing to forget */ });
  }

  window.CanteenTillShell = {
    fetchJson: fetchJson,
    retrying: retrying,
    saveOrder: saveOrder,
    loadOrder: loadOrder,
    clearOrder: clearOrder,
    offlineUnavailable: offlineUnavailable,
    registerWorker: registerWorker,
    keepPage: keepPage,
    forgetDevice: forgetDevice
  };
})();
