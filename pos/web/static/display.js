/* The diner-facing screen at the till, both ends of it.
 *
 * The till (till.js) publishes what the diner may see through CanteenDisplay.publisher:
 * each new state goes out on a BroadcastChannel named for the canteen and the signed-in
 * cashier, and is kept in sessionStorage.  The screen (/till/display, same browser, same
 * sign-in) shows the last state it knows — from sessionStorage, which a window opened by
 * the till's button inherits, then from the till, which answers a "hello" at once — and
 * follows every state after it.  Nothing here reaches the server: the till already priced
 * the order, and the screen shows the till's own figures.
 *
 * A state: {phase: "idle"|"order"|"paid", lines: [{name, qty, amount_fen}], gross_fen,
 * subsidy_fen, due_fen, paid_fen, change_fen, at}.  Amounts are integer fen (null when not
 * known yet); it never says who the diner is or why a subsidy applies.
 */
(function () {
  "use strict";

  var STORE_KEY = "till.display";
  var PAID_MS = 6000;  // how long "paid, thank you" stays before the welcome screen

  function channelOf(name) {
    return "BroadcastChannel" in window && name ? new BroadcastChannel(name) : null;
  }

  function remember(shown) {
    try { sessionStorage.setItem(STORE_KEY, JSON.stringify(shown)); } catch (e) { /* private mode */ }
  }

  function recalled() {
    try { return JSON.parse(sessionStorage.getItem(STORE_KEY) || "null"); } catch (e) { return null; }
  }

  // -- the till's end ---------------------------------------------------------------------------

  function publisher(name) {
    var channel = channelOf(name);
    var last = { text: null, state: null };
    if (channel) {
      channel.onmessage = function (ev) {
        // A screen opened or reloaded asks for what is on the till now.
        if (ev.data && ev.data.type === "hello" && last.state) {
          channel.postMessage({ type: "state", state: last.state });
        }
      };
    }
    return {
      publish: function (shown) {
        var text = JSON.stringify(shown);
        if (text === last.text) return;  // the till redraws often; the screen needs changes only
        shown.at = Date.now();
        last = { text: text, state: shown };
        remember(shown);
        if (channel) channel.postMessage({ type: "state", state: shown });
      }
    };
  }

  window.CanteenDisplay = { publisher: publisher };

  // -- the screen ---------------------------------------------------------------------------------

  var root = document.getElementById("display");
  if (!root) return;
  var yuan = window.CanteenMoney.yuan;
  var $ = function (id) { return document.getElementById(id); };
  var latest = null, paid = null, timer = null;

  function isState(s) {
    return !!s && typeof s === "object" && ["idle", "order", "paid"].indexOf(s.phase) >= 0 &&
      Array.isArray(s.lines) && typeof s.at === "number";
  }

  function receive(s) {
    if (!isState(s)) return;
    latest = s;
    if (s.phase === "paid") paid = s;
    remember(s);
    render();
  }

  function money(el, fen) {
    el.textContent = typeof fen === "number" ? yuan(fen) : "…";
  }

  function render() {
    clearTimeout(timer);
    var now = Date.now();
    // A new diner's order replaces "thank you" at once; an empty till waits for it to end.
    var view = latest && latest.phase === "order" && latest.lines.length ? "order"
      : paid && now - paid.at < PAID_MS ? "paid" : "idle";
    $("idle").hidden = view !== "idle";
    $("order").hidden = view !== "order";
    $("paid").hidden = view !== "paid";
    if (view === "order") renderOrder(latest);
    if (view === "paid") {
      $("paid-text").textContent = root.dataset.paid.replace("{amount}", yuan(paid.paid_fen));
      $("change-text").textContent = paid.change_fen > 0 ? root.dataset.change + " " + yuan(paid.change_fen) : "";
      $("change-text").hidden = !(paid.change_fen > 0);
      timer = setTimeout(render, PAID_MS - (now - paid.at) + 50);
    }
  }

  function renderOrder(s) {
    var ul = $("lines");
    ul.textContent = "";
    s.lines.forEach(function (l) {
      var li = document.createElement("li");
      var name = document.createElement("span");
      name.className = "line-name";
      name.textContent = l.name + " × " + l.qty;
      var amount = document.createElement("span");
      amount.className = "money";
      amount.textContent = yuan(l.amount_fen);
      li.appendChild(name);
      li.appendChild(amount);
      ul.appendChild(li);
    });
    ul.scrollTop = ul.scrollHeight;  // the dish just rung up stays in sight
    money($("gross"), s.gross_fen);
    $("subsidy-row").hidden = !(s.subsidy_fen > 0);
    if (s.subsidy_fen > 0) money($("subsidy"), s.subsidy_fen);
    money($("due"), s.due_fen);
  }

  receive(recalled());
  if (!latest) render();
  var channel = channelOf(root.dataset.channel);
  if (channel) {
    channel.onmessage = function (ev) { if (ev.data && ev.data.type === "state") receive(ev.data.state); };
    channel.postMessage({ type: "hello" });
  }
})();
