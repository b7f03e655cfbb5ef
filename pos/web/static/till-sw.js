/* The till's service worker: a reload, or a tablet restarted, with the network gone comes
 * back to a working till page.
 *
 * Served by GET /till/sw.js (pos/web/till), which puts one line before this text:
 *   var TILL_SHELL = {"version": "<hash of the files>", "page": "/till", "assets": ["/static/…", …]};
 * A new release changes the hash, so the browser installs the new worker, which fills a new
 * cache and drops the old one.
 *
 * - The till's CSS, JS and icons: from the cache (filled at install).
 * - The till page itself: from the network; its latest copy is kept and answered only when
 *   the network fails.  It carries the signed-in cashier's name and CSRF token, so sign-out
 *   deletes it (till-shell.js forgetDevice, and the server's Clear-Site-Data).  It has a cache
 *   of its own, kept across releases: the page that fetched a new worker is the new page.
 *   The page that registers the worker was loaded before the worker ran, so it asks for
 *   its copy to be made ("keep-page").
 * - Everything else, the API first of all, goes to the network untouched: a sale, a lookup
 *   or a quote answered from a cache would be a lie, and its failure is the page's to show.
 */
/* global TILL_SHELL */
"use strict";

var CACHE = "till-shell-" + TILL_SHELL.version;
var PAGE_CACHE = "till-page";
// A Wi-Fi that is connected but goes nowhere leaves a request open for a minute; the kept
// page is better than a white screen after this long.
var PAGE_WAIT_MS = 4000;

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    // "reload": the files themselves, not the browser's HTTP cache of an older release.
    return cache.addAll(TILL_SHELL.assets.map(function (url) { return new Request(url, { cache: "reload" }); }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n.indexOf("till-shell-") === 0 && n !== CACHE; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname === TILL_SHELL.page) {
    event.respondWith(pageFromNetworkFirst(request));
  } else if (TILL_SHELL.assets.indexOf(url.pathname) >= 0) {
    event.respondWith(caches.match(request, { ignoreSearch: true, ignoreVary: true }).then(function (hit) {
      return hit || fetch(request);
    }));
  }
});

self.addEventListener("message", function (event) {
  if (event.data === "keep-page") event.waitUntil(fetch(TILL_SHELL.page, { credentials: "same-origin" }).then(keep, function () {}));
});

// Only the till itself is kept: not the sign-in page a lapsed session is redirected to.
function keep(resp) {
  if (resp.ok && !resp.redirected && resp.type === "basic") {
    var copy = resp.clone();
    caches.open(PAGE_CACHE).then(function (cache) { return cache.put(TILL_SHELL.page, copy); });
  }
  return resp;
}

function pageFromNetworkFirst(request) {
  var fromNetwork = fetch(request).then(keep);
  var late = new Promise(function (resolve) { setTimeout(resolve, PAGE_WAIT_MS); });
  return Promise.race([fromNetwork.catch(function () { return null; }), late]).then(function (resp) {
    if (resp) return resp;
    return caches.match(TILL_SHELL.page, { cacheName: PAGE_CACHE, ignoreVary: true }).then(function (kept) {
      return kept || fromNetwork.catch(function () { return notKept(); });
    });
  });
}

function notKept() {
  return new Response(
    "<!doctype html><meta charset=utf-8><title>离线</title><p>网络中断，本机没有保存收银页面：请联网后再打开。</p>" +
    "<p lang=en>Offline, and this tablet has no copy of the till yet: connect and open it again.</p>",
    { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}
