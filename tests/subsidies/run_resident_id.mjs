// Runs typed resident ID numbers through the till's port (pos/web/static/resident_id.js) in one
// Node process: `node run_resident_id.mjs FILE` (or `-` for standard input) reads
// {"cases": [{name, typed, today}]} and prints [{"name", "answer"} or {"name", "error"}] as JSON.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const residentId = require("../../pos/web/static/resident_id.js");

const source = process.argv[2];
if (!source) {
  console.error("usage: node run_resident_id.mjs FILE|-");
  process.exit(2);
}
const table = JSON.parse(readFileSync(source === "-" ? 0 : source, "utf8"));
const results = table.cases.map((c) => {
  try {
    return { name: c.name, answer: residentId.parse(c.typed, c.today) };
  } catch (e) {
    return { name: c.name, error: `${e.name}: ${e.message}` };
  }
});
process.stdout.write(JSON.stringify(results));
