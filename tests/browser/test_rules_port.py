"""The till's port of the rules in Debian's Chromium: decide.js and rules_words.json as the app
serves them, on one of its own pages (under its Content-Security-Policy), decide every case of
subsidies/decision_cases.json as the Python engine did."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

pytestmark = pytest.mark.browser

TABLE = json.loads((Path(__file__).resolve().parents[2] / "subsidies" / "decision_cases.json").read_text("utf-8"))
DECIDE_ALL = """async (table) => {
  const words = await (await fetch("/static/rules_words.json")).json();
  return table.cases.map((c) => CanteenRules.decide({ ...c, policy: table.policies[c.policy] }, words));
}"""


def test_the_served_port_decides_every_case_of_the_table_in_the_browser(served, chromium):
    _, base = served
    with sync_playwright() as p:
        browser = chromium(p)
        page = browser.new_page()
        page.goto(f"{base}/login")
        page.add_script_tag(url=f"{base}/static/money.js")
        page.add_script_tag(url=f"{base}/static/decide.js")
        decisions = page.evaluate(DECIDE_ALL, TABLE)
        browser.close()
    differ = [c["name"] for c, d in zip(TABLE["cases"], decisions) if d != c["expected"]]
    assert len(decisions) == len(TABLE["cases"]) and differ == []
