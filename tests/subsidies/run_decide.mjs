// Runs a table of decision cases through the till's port of the rules (pos/web/static/decide.js)
// in one Node process: `node run_decide.mjs FILE` (or `-` for standard input) reads
// {"policies": {name: policy}, "cases": [{name, policy: name, diner, order, business_date,
// local_time, counters, ...}]} and prints [{"name", "decision"} or {"name", "error"}] as JSON.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const rules = require("../../pos/web/static/decide.js");
const words = JSON.parse(readFileSync(new URL("../../pos/web/static/rules_words.json", import.meta.url), "utf8"));

const source = process.argv[2];
if (!source) {
  console.error("usage: node run_decide.mjs FILE|-");
  process.exit(2);
}
const table = JSON.parse(readFileSync(source === "-" ? 0 : source, "utf8"));
const results = table.cases.map((c) => {
  try {
    return { name: c.name, decision: rules.decide({ ...c, policy: table.policies[c.policy] }, words) };
  } catch (e) {
    return { name: c.name, error: `${e.name}: ${e.message}` };
  }
});
process.stdout.write(JSON.stringify(results));
