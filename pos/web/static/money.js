/* Money on screen: integer fen in, a yuan string out ("¥1,234.50", "-¥0.50").  The one
 * formatter of the till's scripts (till.js, display.js), so the cashier and the diner read
 * the same figures the same way; the server's helper is subsidies/money.py. */
(function () {
  "use strict";

  function yuan(fen) {
    var sign = fen < 0 ? "-" : "";
    var abs = Math.abs(fen);
    var cents = abs % 100;
    return sign + "¥" + Math.floor(abs / 100).toLocaleString("en-US") + "." + (cents < 10 ? "0" : "") + cents;
  }

  var api = { yuan: yuan };
  // Node too: the rules' port (decide.js) words its reasons with this formatter, and CI runs it there.
  if (typeof module === "object" && module.exports) module.exports = api;
  else window.CanteenMoney = api;
})();
