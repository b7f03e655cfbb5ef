/* What the till keeps on the tablet for selling offline, in IndexedDB ("canteen-till"):
 *
 * - "queue": the sales made offline and not yet recorded by the server, one record per sale,
 *   keyed by its Idempotency-Key (made once, sent on every try), in the order they were made
 *   (`seq`).  It survives a reload, a restart of the tablet and a sign-out: a sale taken is
 *   money in the drawer and must reach the books.
 * - "kv": the offline kit (today's menu, policy, entitlements, lease) and the counters that
 *   number the sales: `seq` and one `offline_no:<device>:<business date>` per device and day.
 *
 * A sale and its numbers are written in one transaction, so two quick taps or two tabs never
 * give two sales one number.  Nothing here knows the screen or the network.
 */
(function () {
  "use strict";

  var NAME = "canteen-till";
  var VERSION = 1;
  var opening = null;

  function open() {
    if (!opening) {
      opening = new Promise(function (resolve, reject) {
        var req = indexedDB.open(NAME, VERSION);
        req.onupgradeneeded = function () {
          var db = req.result;
          if (!db.objectStoreNames.contains("kv")) db.createObjectStore("kv");
          if (!db.objectStoreNames.contains("queue")) db.createObjectStore("queue", { keyPath: "key" });
        };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { opening = null; reject(req.error); };
      });
    }
    return opening;
  }

  // Runs `work(stores)` in one transaction over `names`; resolves with what `work` set as
  // `out.value` once the transaction has committed (not before: a sale is queued when durable).
  function transaction(names, mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(names, mode);
        var out = { value: undefined };
        var stores = {};
        names.forEach(function (n) { stores[n] = tx.objectStore(n); });
        work(stores, out);
        tx.oncomplete = function () { resolve(out.value); };
        tx.onerror = tx.onabort = function () { reject(tx.error); };
      });
    });
  }

  function read(request, out, map) {
    request.onsuccess = function () { out.value = map ? map(request.result) : request.result; };
  }

  function get(key) {
    return transaction(["kv"], "readonly", function (s, out) { read(s.kv.get(key), out); });
  }

  function set(key, value) {
    return transaction(["kv"], "readwrite", function (s) { s.kv.put(value, key); });
  }

  function remove(key) {
    return transaction(["kv"], "readwrite", function (s) { s.kv.delete(key); });
  }

  // Queues `sale` (which has `key`, `device_id` and `business_date`) with the next `seq` and
  // the next offline_no of its device and day; resolves with the sale as stored.
  function enqueue(sale) {
    var dayKey = "offline_no:" + sale.device_id + ":" + sale.business_date;
    return transaction(["kv", "queue"], "readwrite", function (s, out) {
      var seqReq = s.kv.get("seq");
      seqReq.onsuccess = function () {
        var noReq = s.kv.get(dayKey);
        noReq.onsuccess = function () {
          sale.seq = (seqReq.result || 0) + 1;
          sale.offline_no = (noReq.result || 0) + 1;
          sale.body.offline.offline_no = sale.offline_no;
          s.kv.put(sale.seq, "seq");
          s.kv.put(sale.offline_no, dayKey);
          s.queue.add(sale);
          out.value = sale;
        };
      };
    });
  }

  // Every queued sale, oldest first.
  function all() {
    return transaction(["queue"], "readonly", function (s, out) {
      read(s.queue.getAll(), out, function (rows) { return rows.sort(function (a, b) { return a.seq - b.seq; }); });
    });
  }

  function update(sale) {
    return transaction(["queue"], "readwrite", function (s) { s.queue.put(sale); });
  }

  function done(key) {
    return transaction(["queue"], "readwrite", function (s) { s.queue.delete(key); });
  }

  window.CanteenTillQueue = { get: get, set: set, remove: remove, enqueue: enqueue, all: all, update: update,
    done: done };
})();
