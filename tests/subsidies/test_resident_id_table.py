"""One check of typed resident ID numbers in two places: the table of cases answered by
subsidies/resident_id.py (subsidies/resident_id_cases.json) gets the same answers, code and
words, from the till's offline port (pos/web/static/resident_id.js, run under Node), and so do
random numbers and near-misses."""
from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path

import pytest
from decision_table import ID_TABLE_PATH
from hypothesis import HealthCheck, given, settings, strategies as st
from resident_id_cases import IdCase, python_answer

from subsidies.resident_id import ERROR_CODES, check_character
from support import need_tool

RUNNER = Path(__file__).with_name("run_resident_id.mjs")
TABLE = json.loads(ID_TABLE_PATH.read_text(encoding="utf-8"))


def node_answers(cases: list[dict], tmp_path: Path) -> list[dict]:
    """Every case through resident_id.js, in one Node process."""
    node = need_tool("node", "nodejs")
    source = tmp_path / "ids.json"
    source.write_text(json.dumps({"cases": cases}, ensure_ascii=False), encoding="utf-8")
    run = subprocess.run([node, str(RUNNER), str(source)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout)
    assert [r["name"] for r in results] == [c["name"] for c in cases]
    return results


def differences(cases: list[dict], results: list[dict]) -> str:
    wrong = [f"{c['name']} ({c['typed']!r}, today {c['today']})\n  Python:         {c['expected']}"
             f"\n  resident_id.js: {r.get('answer', r)}"
             for c, r in zip(cases, results) if r.get("answer") != c["expected"]]
    return f"{len(wrong)} of {len(cases)} differ:\n" + "\n".join(wrong[:5]) if wrong else ""


def test_the_table_has_valid_numbers_and_every_kind_of_mistake():
    answers = [c["expected"] for c in TABLE["cases"]]
    assert sum(a["ok"] for a in answers) >= 8
    assert {a["code"] for a in answers if not a["ok"]} == set(ERROR_CODES)


@pytest.mark.parametrize("case", TABLE["cases"], ids=[c["name"] for c in TABLE["cases"]])
def test_the_python_check_gives_each_answer_of_the_table(case):
    today = date.fromisoformat(case["today"]) if case["today"] else None
    assert python_answer(IdCase(case["name"], case["typed"], today)) == case["expected"]


def test_the_tills_port_gives_each_answer_of_the_table(tmp_path):
    if differ := differences(TABLE["cases"], node_answers(TABLE["cases"], tmp_path)):
        pytest.fail(differ, pytrace=False)


@st.composite
def typed_numbers(draw):
    """A valid number, then perhaps one slip of the finger, as a cashier types it."""
    province = draw(st.sampled_from(["11", "33", "44", "65", "83", "00", "19", "99"]))
    first17 = (province + draw(st.text("0123456789", min_size=4, max_size=4))
               + draw(st.dates(date(1890, 1, 1), date(2030, 12, 31))).strftime("%Y%m%d")
               + draw(st.text("0123456789", min_size=3, max_size=3)))
    number = first17 + check_character(first17)
    slip = draw(st.sampled_from(["none", "none", "replace", "drop", "add", "lower", "space", "full-width"]))
    at = draw(st.integers(0, 17))
    if slip == "replace":
        number = number[:at] + draw(st.sampled_from("0123456789XxA")) + number[at + 1:]
    elif slip == "drop":
        number = number[:at] + number[at + 1:]
    elif slip == "add":
        number = number[:at] + draw(st.sampled_from("0123456789X")) + number[at:]
    elif slip == "lower":
        number = number.lower()
    elif slip == "space":
        number = number[:at] + draw(st.sampled_from([" ", "\t", "\u3000", "\u00a0"])) + number[at:]
    elif slip == "full-width":
        number = "".join(chr(ord(ch) + 0xFEE0) for ch in number)
    return number


def test_the_tills_port_answers_random_numbers_and_slips_as_python(tmp_path):
    drawn = []

    @settings(max_examples=400, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(typed_numbers() | st.text(max_size=20), st.none() | st.dates(date(1990, 1, 1), date(2030, 12, 31)))
    def draw(typed, today):
        drawn.append(IdCase(f"random {len(drawn)}", typed, today))

    draw()
    cases = [{"name": c.name, "typed": c.typed, "today": c.today.isoformat() if c.today else None,
              "expected": python_answer(c)} for c in drawn]
    assert len({c["expected"].get("code", "ok") for c in cases}) >= 6  # the draw reaches most answers
    if differ := differences(cases, node_answers(cases, tmp_path)):
        pytest.fail(differ, pytrace=False)
