/* The subsidy decision for a till deciding while the network is down: a port of decide() in
 * subsidies/engine.py that must answer exactly as the server does.  CI runs every case of
 * subsidies/decision_cases.json (made from the Python engine's own tables) and a few hundred
 * random inputs through both (tests/subsidies/test_decision_table.py), so the two cannot drift.
 *
 * Inputs and the answer are the plain JSON of subsidies/wire.py: the policy in force as the server
 * sends it, the diner's facts, the order, business_date "YYYY-MM-DD", local_time "HH:MM:SS" and
 * today's counters; the decision comes back as the API's (Decision.as_dict()).  The words are
 * rules_words.json (made from subsidies/reasons.py), amounts are worded by money.js.  Dates and
 * times stay strings, compared as such or as whole numbers: no Date object, so no time zone can
 * move a business date.
 *
 *   browser: money.js, then this file → CanteenRules.decide(input, words)
 *   Node:    require("./decide.js").decide(input, words)
 */
(function (root, factory) {
  "use strict";
  if (typeof module === "object" && module.exports) module.exports = factory(require("./money.js"));
  else root.CanteenRules = factory(root.CanteenMoney);
})(typeof self !== "undefined" ? self : this, function (money) {
  "use strict";
  if (!money || typeof money.yuan !== "function") throw new Error("decide.js needs money.js loaded first");

  var DINER_KINDS = ["registered", "walk_in", "ticket", "anonymous"];
  var LEFT_CODES = ["deceased", "moved_away"];
  // When no benefit applies, the refusal closest to succeeding is told (engine._REFUSAL_ORDER).
  var REFUSAL_ORDER = ["free_meals_gone", "no_welfare_item", "ticket_wrong_date", "worker_proof_expired",
    "worker_not_verified", "residency_proof_expired", "not_resident", "too_young", "no_birth_date", "not_a_worker"];

  // -- the input, checked as subsidies/wire.py reads it ------------------------------------------

  function refuse(where, what, value) {
    throw new TypeError(where + " must be " + what + ", got " + JSON.stringify(value));
  }

  function isLeap(year) { return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0); }

  function checkDate(value, where, nullable) {
    if (value === null && nullable) return;
    var m = typeof value === "string" ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(value) : null;
    if (m) {
      var y = +m[1], mo = +m[2], d = +m[3];
      var days = [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
      if (y >= 1 && days && d >= 1 && d <= days) return;
    }
    refuse(where, "a date YYYY-MM-DD", value);
  }

  function checkTime(value, where) {
    var m = typeof value === "string" ? /^(\d{2}):(\d{2}):(\d{2})$/.exec(value) : null;
    if (!m || +m[1] > 23 || +m[2] > 59 || +m[3] > 59) refuse(where, "a time HH:MM:SS", value);
  }

  function checkWhole(value, where, minimum) {
    if (!Number.isSafeInteger(value) || value < minimum) refuse(where, "a whole number >= " + minimum, value);
  }

  function checkKind(value, where, type, nullable) {
    if (!(typeof value === type || (nullable && value === null))) refuse(where, type, value);
  }

  // An object with exactly these keys (those with a default may be left out): [key, check, default].
  function fields(data, where, spec) {
    if (data === null || typeof data !== "object" || Array.isArray(data)) refuse(where, "an object", data);
    var known = spec.map(function (f) { return f[0]; });
    Object.keys(data).forEach(function (key) {
      if (known.indexOf(key) < 0) throw new TypeError(where + " has unknown keys: " + key);
    });
    var out = {};
    spec.forEach(function (f) {
      if (!(f[0] in data) && f.length < 3) throw new TypeError(where + "." + f[0] + " is missing");
      out[f[0]] = f[0] in data ? data[f[0]] : f[2];
      f[1](out[f[0]], where + "." + f[0]);
    });
    return out;
  }

  function bool(v, w) { checkKind(v, w, "boolean", false); }
  function optDate(v, w) { checkDate(v, w, true); }
  function optText(v, w) { checkKind(v, w, "string", true); }

  function readDiner(data) {
    var d = fields(data, "diner", [
      ["kind", function (v, w) { if (DINER_KINDS.indexOf(v) < 0) refuse(w, "one of " + DINER_KINDS, v); }],
      ["birth_date", optDate, null], ["resident", bool, false], ["worker_category", optText, null],
      ["worker_verified", bool, false], ["suspended", bool, false], ["ticket_date", optDate, null],
      ["worker_verified_until", optDate, null], ["residency_verified_until", optDate, null],
      ["left", optText, null], ["left_on", optDate, null]]);
    if ((d.left !== null && LEFT_CODES.indexOf(d.left) < 0) || (d.left === null) !== (d.left_on === null)) {
      throw new TypeError("diner.left must be one of " + LEFT_CODES + " with its date");
    }
    return d;
  }

  function readOrder(data) {
    var order = fields(data, "order", [["lines", function (v, w) { if (!Array.isArray(v)) refuse(w, "a list", v); }]]);
    return order.lines.map(function (line, i) {
      return fields(line, "order.lines[" + i + "]", [
        ["item_id", function (v, w) { checkWhole(v, w, -Infinity); }],
        ["name", function (v, w) { checkKind(v, w, "string"); }],
        ["unit_price_fen", function (v, w) { checkWhole(v, w, 0); }], ["qty", function (v, w) { checkWhole(v, w, 1); }],
        ["welfare_meal", bool, false]]);
    });
  }

  function readCounters(data) {
    function count(v, w) { checkWhole(v, w, 0); }
    return fields(data, "counters",
      [["free_meals_used", count, 0], ["diner_subsidised", count, 0], ["diner_week", count, 0]]);
  }

  // -- the calendar, on strings and whole numbers ------------------------------------------------

  /* Full years (周岁) reached on `on`; a birthday on `on` counts.  Comparing (month, day) makes
   * 29 February fall between 28 February and 1 March, so in a common year that birthday is
   * reached on 1 March (subsidies/age.py). */
  function ageOn(birthDate, on) {
    var b = birthDate.split("-").map(Number), o = on.split("-").map(Number);
    var years = o[0] - b[0];
    if (o[1] < b[1] || (o[1] === b[1] && o[2] < b[2])) years -= 1;
    return years;
  }

  // ISO dates and HH:MM:SS times of fixed width order as their strings do.
  function expired(until, on) { return until !== null && on > until; }

  function periodAt(policy, localTime) {
    for (var i = 0; i < policy.meal_periods.length; i++) {
      var p = policy.meal_periods[i];
      if (p.start <= localTime && localTime < p.end) return p;
    }
    return null;
  }

  /* The span a diner's limit counts over: "" per day, the meal period's name per period, null
   * outside every period. */
  function periodKey(policy, localTime) {
    if (policy.limit_per === "day") return "";
    var period = periodAt(policy, localTime);
    return period !== null ? period.name : null;
  }

  function tierFor(policy, age) {
    var reached = null;
    policy.age_tiers.forEach(function (tier) { if (tier.min_age <= age) reached = tier; });
    return reached;
  }

  // -- the words ---------------------------------------------------------------------------------

  function Words(words) {
    function periodName(code, lang) {
      if (!code) return "";
      var names = words.meal_period_names[code];
      return names ? names[lang] : code;
    }
    // blanks: a value for both languages, or a function of the language (0 zh, 1 en)
    function say(key, blanks) {
      var template = words.reasons[key];
      if (!template) throw new Error("rules_words.json has no reason " + key);
      return [0, 1].map(function (lang) {
        return template[lang].replace(/\{(\w+)\}/g, function (_, name) {
          if (!blanks || !(name in blanks)) throw new Error("reason " + key + " needs {" + name + "}");
          var value = blanks[name];
          return String(typeof value === "function" ? value(lang) : value);
        });
      });
    }
    function periods(policy) {
      return function (lang) {
        return policy.meal_periods.map(function (p) {
          return words.reasons.meal_period[lang].replace(/\{(\w+)\}/g, function (_, name) {
            return { name: periodName(p.name, lang), start: p.start.slice(0, 5), end: p.end.slice(0, 5) }[name];
          });
        }).join(words.reasons.meal_period_separator[lang]);
      };
    }
    return { say: say, periods: periods, periodName: periodName };
  }

  // -- the decision (subsidies/engine.py: decide) ---------------------------------------------------

  function notEligible(kind, code, reason, ruleId) {
    return { kind: kind, eligible: false, amount_fen: 0, rule_id: ruleId === undefined ? null : ruleId, code: code,
      reason_zh: reason[0], reason_en: reason[1] };
  }

  function considerAge(w, policy, diner, gross, businessDate) {
    if (diner.birth_date === null) return notEligible("age_tier", "no_birth_date", w.say("no_birth_date"));
    if (diner.birth_date > businessDate) {
      return notEligible("age_tier", "no_birth_date",
        w.say("birth_date_after", { birth_date: diner.birth_date, business_date: businessDate }));
    }
    var age = ageOn(diner.birth_date, businessDate);
    var tier = tierFor(policy, age);
    if (tier === null) {
      return notEligible("age_tier", "too_young", policy.age_tiers.length
        ? w.say("too_young", { age: age, youngest: policy.age_tiers[0].min_age }) : w.say("no_age_tiers"));
    }
    var ruleId = "age_tier:" + tier.min_age;
    if (policy.residency_required) {
      var walkIn = diner.kind === "walk_in";
      if (!(walkIn ? policy.walk_in_id_counts_as_resident : diner.resident)) {
        return notEligible("age_tier", "not_resident", w.say(walkIn ? "not_resident_walk_in" : "not_resident"), ruleId);
      }
      if (!walkIn && expired(diner.residency_verified_until, businessDate)) {
        return notEligible("age_tier", "residency_proof_expired",
          w.say("residency_proof_expired", { until: diner.residency_verified_until }), ruleId);
      }
    }
    var amount = Math.min(tier.discount_fen, gross);
    var reason = w.say(amount < tier.discount_fen ? "age_tier_granted_capped" : "age_tier_granted",
      { min_age: tier.min_age, amount: money.yuan(amount) });
    return { kind: "age_tier", eligible: true, amount_fen: amount, rule_id: ruleId, code: "age_tier",
      reason_zh: reason[0], reason_en: reason[1] };
  }

  // [consideration, line index]: one unit of the most expensive welfare set meal (first on a tie)
  function considerFreeMeal(w, policy, diner, lines, businessDate, counters) {
    var rule = "free_meal";
    if (diner.kind === "ticket") {
      if (diner.ticket_date !== businessDate) {
        return [notEligible(rule, "ticket_wrong_date", diner.ticket_date === null ? w.say("ticket_undated")
          : w.say("ticket_wrong_date", { ticket_date: diner.ticket_date }), rule), null];
      }
    } else if (diner.kind !== "registered" || policy.welfare_categories.indexOf(diner.worker_category) < 0) {
      var notAWorker = diner.kind === "walk_in" ? "not_a_worker_walk_in" : "not_a_worker";
      return [notEligible(rule, "not_a_worker", w.say(notAWorker), rule), null];
    } else if (!diner.worker_verified) {
      return [notEligible(rule, "worker_not_verified", w.say("worker_not_verified"), rule), null];
    } else if (expired(diner.worker_verified_until, businessDate)) {
      return [notEligible(rule, "worker_proof_expired",
        w.say("worker_proof_expired", { until: diner.worker_verified_until }), rule), null];
    }
    if (counters.free_meals_used >= policy.free_meals_per_day) {
      return [notEligible(rule, "free_meals_gone",
        w.say("free_meals_gone", { used: counters.free_meals_used, per_day: policy.free_meals_per_day }), rule), null];
    }
    var lineIndex = null, price = 0;
    lines.forEach(function (line, i) {
      if (line.welfare_meal && line.unit_price_fen > price) { lineIndex = i; price = line.unit_price_fen; }
    });
    if (lineIndex === null) return [notEligible(rule, "no_welfare_item", w.say("no_welfare_item"), rule), null];
    var reason = w.say("free_meal_granted", { amount: money.yuan(price) });
    return [{ kind: rule, eligible: true, amount_fen: price, rule_id: rule, code: rule,
      reason_zh: reason[0], reason_en: reason[1] }, lineIndex];
  }

  /* The decision for one order: input = {policy, diner, order, business_date, local_time,
   * counters} in their wire form, words = rules_words.json.  Throws a TypeError naming the field
   * on input the server would refuse. */
  function decide(input, words) {
    var policy = input.policy;
    var diner = readDiner(input.diner);
    var lines = readOrder(input.order);
    var counters = readCounters(input.counters);
    var businessDate = input.business_date, localTime = input.local_time;
    checkDate(businessDate, "business_date", false);
    checkTime(localTime, "local_time");
    var w = Words(words);
    var key = periodKey(policy, localTime);
    var period = key || "";

    function decision(best, lineIndex, code, reason, considered) {
      return { kind: best ? best.kind : null, amount_fen: best ? best.amount_fen : 0,
        applies_to: best ? (best.kind === "free_meal" ? "line" : "total") : "none",
        line_index: best && best.kind === "free_meal" ? lineIndex : null, rule_id: best ? best.rule_id : null,
        policy_version: policy.version, period: period, code: code, reason_zh: reason[0], reason_en: reason[1],
        considered: considered || [], granted: best !== null && best.amount_fen > 0 };
    }
    function refused(code, reason, considered) { return decision(null, null, code, reason, considered); }

    if (diner.kind === "anonymous") return refused("no_credential", w.say("no_credential"));
    if (diner.suspended) return refused("suspended", w.say("suspended"));
    if (diner.left_on !== null && businessDate >= diner.left_on) {
      return refused(diner.left, w.say(diner.left === "deceased" ? "deceased" : "moved_away", { on: diner.left_on }));
    }
    if (key === null) {
      return refused("outside_meal_period", w.say("outside_meal_period", { periods: w.periods(policy) }));
    }
    var isTicket = diner.kind === "ticket";
    var limit = isTicket ? 1 : policy.meals_per_limit;
    if (counters.diner_subsidised >= limit) {
      var periodName = function (lang) { return w.periodName(period, lang); };
      return refused("limit_reached", isTicket ? w.say("ticket_used") : policy.limit_per === "period"
        ? w.say("limit_reached_period", { limit: limit, period: periodName })
        : w.say("limit_reached_day", { limit: limit }));
    }
    if (!isTicket && policy.per_week !== null && counters.diner_week >= policy.per_week) {
      return refused("weekly_limit_reached", w.say("weekly_limit_reached", { per_week: policy.per_week }));
    }
    var gross = lines.reduce(function (sum, line) { return sum + line.unit_price_fen * line.qty; }, 0);
    if (gross === 0) return refused("empty_order", w.say("empty_order"));

    var considered = [];
    if (!isTicket) considered.push(considerAge(w, policy, diner, gross, businessDate));
    var freeMeal = considerFreeMeal(w, policy, diner, lines, businessDate, counters);
    considered.push(freeMeal[0]);

    var best = null;
    considered.forEach(function (c) {
      if (!c.eligible || c.amount_fen <= 0) return;
      // the largest amount; a tie goes to the free meal, which leaves the cash total simplest
      if (best === null || c.amount_fen > best.amount_fen ||
          (c.amount_fen === best.amount_fen && c.kind === "free_meal" && best.kind !== "free_meal")) best = c;
    });
    if (best === null) {
      var closest = null;
      considered.forEach(function (c) {
        var rank = REFUSAL_ORDER.indexOf(c.code);
        if (rank < 0) throw new Error("no refusal order for " + c.code);
        if (closest === null || rank < REFUSAL_ORDER.indexOf(closest.code)) closest = c;
      });
      return refused(closest.code, [closest.reason_zh, closest.reason_en], considered);
    }
    return decision(best, freeMeal[1], best.code, [best.reason_zh, best.reason_en], considered);
  }

  return { decide: decide, ageOn: ageOn, periodKey: periodKey };
});
