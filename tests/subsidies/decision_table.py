"""Writes the one source of the rules for a port of the engine, from Python:

* subsidies/decision_cases.json — every case of the tables in decision_cases.py and
  decision_cases_limits.py in its plain JSON form (subsidies.wire), with the decision the
  Python engine makes, once that decision is checked against the table's own expectations;
* pos/web/static/rules_words.json — the reasons' words as templates (subsidies.reason_words);
* subsidies/resident_id_cases.json — typed resident ID numbers (resident_id_cases.py) with the
  answer of subsidies/resident_id.py, for the till's port resident_id.js.

    .venv/bin/python tests/subsidies/decision_table.py --write    # after changing a table or the rules
    .venv/bin/python tests/subsidies/decision_table.py --check    # exit 1 when a file is stale

test_decision_table.py fails when a committed file differs from what this makes now.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from decision_cases import BENEFIT_TABLES, POLICIES, Case
from decision_cases_limits import LIMIT_TABLES
from resident_id_cases import id_table
from subsidies import wire
from subsidies.reason_words import rules_words

ROOT = Path(__file__).resolve().parents[2]
TABLE_PATH = ROOT / "subsidies" / "decision_cases.json"
WORDS_PATH = ROOT / "pos" / "web" / "static" / "rules_words.json"
ID_TABLE_PATH = ROOT / "subsidies" / "resident_id_cases.json"
REGENERATE = ".venv/bin/python tests/subsidies/decision_table.py --write"

CASES: tuple[Case, ...] = tuple(c for t in BENEFIT_TABLES + LIMIT_TABLES for c in t)
_ABOUT = ("Generated from the tables of tests/subsidies/decision_cases*.py by the Python engine; do not edit. "
          f"Regenerate with: {REGENERATE}")


class TableError(Exception):
    """A case whose decision is not what its table says, or a table that cannot be written."""


def _policy_name(case: Case) -> str:
    for name, policy in POLICIES.items():
        if policy == case.policy:
            return name
    raise TableError(f"{case.name}: its policy is not in decision_cases.POLICIES; add it there with a name")


def case_inputs(case: Case) -> dict:
    """A case's inputs in their plain JSON form, the policy by its name in ``policies``."""
    return {
        "name": case.name,
        "policy": _policy_name(case),
        "diner": wire.diner_to_json(case.diner),
        "order": wire.order_to_json(case.order),
        "business_date": wire.date_to_json(case.business_date),
        "local_time": wire.time_to_json(case.local_time),
        "counters": wire.counters_to_json(case.counters),
    }


def build_table() -> dict:
    """The table as JSON-ready data; raises TableError naming every case the engine answers
    otherwise than its table expects (or two cases of one name)."""
    names = [c.name for c in CASES]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise TableError(f"case names must be unique: {repeated}")
    wrong, rows = [], []
    for case in CASES:
        decision = case.decide()
        if case.observed(decision) != case.expect:
            wrong.append(f"{case.name}: expected {case.expect}, the engine says {case.observed(decision)}")
        rows.append({**case_inputs(case), "expected": wire.decision_to_json(decision)})
    if wrong:
        raise TableError("\n".join(wrong))
    used = {row["policy"] for row in rows}
    return {
        "about": _ABOUT,
        "policies": {name: wire.policy_to_json(p) for name, p in POLICIES.items() if name in used},
        "cases": rows,
    }


def _one_line(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def as_text(data: dict) -> str:
    """JSON with one line per policy, per word and per field of a case, so a change to the rules
    shows in a diff as the lines of the cases it changes."""
    parts = []
    for key, value in data.items():
        if isinstance(value, dict):
            inner = ",\n".join(f"  {_one_line(k)}: {_one_line(v)}" for k, v in value.items())
            parts.append(f" {_one_line(key)}: {{\n{inner}\n }}")
        elif isinstance(value, list):
            rows = [",\n".join(f"   {_one_line(k)}: {_one_line(v)}" for k, v in row.items()) for row in value]
            inner = ",\n".join("  {\n" + row + "\n  }" for row in rows)
            parts.append(f" {_one_line(key)}: [\n{inner}\n ]")
        else:
            parts.append(f" {_one_line(key)}: {_one_line(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def expected_files() -> dict[Path, str]:
    """Each generated file and the text it must hold."""
    words = {"about": _ABOUT.replace("the tables of tests/subsidies/decision_cases*.py by the Python engine",
                                     "subsidies/reasons.py (subsidies.reason_words)"), **rules_words()}
    ids = id_table(_ABOUT.replace("the tables of tests/subsidies/decision_cases*.py by the Python engine",
                                  "tests/subsidies/resident_id_cases.py by subsidies/resident_id.py"))
    return {TABLE_PATH: as_text(build_table()), WORDS_PATH: as_text(words), ID_TABLE_PATH: as_text(ids)}


def stale_files() -> list[Path]:
    return [path for path, text in expected_files().items()
            if not path.exists() or path.read_text(encoding="utf-8") != text]


def main(argv: list[str]) -> int:
    if argv not in (["--write"], ["--check"]):
        print(__doc__)
        return 2
    try:
        files = expected_files()
    except TableError as e:
        print(f"the tables and the engine disagree:\n{e}", file=sys.stderr)
        return 1
    if argv == ["--check"]:
        stale = stale_files()
        for path in stale:
            print(f"{path.relative_to(ROOT)} is stale: run {REGENERATE}", file=sys.stderr)
        return 1 if stale else 0
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
