"""`canteen audit --since …`: the audit log on the server's console, newest first, with
the page's filters; text or one JSON object a line; bad dates are one line and exit 2."""
from __future__ import annotations

import json
from datetime import datetime

import pytest

from pos.web.cli import cli
from security.test_audit_log_page import put


def run(app, *args):
    return app.test_cli_runner().invoke(cli, ["audit", *args])


@pytest.fixture
def logged(app):
    put(app, at=datetime(2026, 4, 1, 15, 30), action="sale_voided", canteen="YLW01", actor="cashier",
        target="sale-1", detail='{"refund_fen": 1250}')  # 23:30 on 1 April in Shanghai
    put(app, at=datetime(2026, 4, 1, 16, 30), action="day_closed", canteen="YLW01", actor="supervisor",
        target="2026-04-01")  # 00:30 on 2 April
    put(app, at=datetime(2026, 4, 2, 1, 0), action="login", canteen=None, actor="admin")
    put(app, at=datetime(2026, 4, 2, 2, 0), action="sale_voided", canteen="JM01", actor="jm-cashier", target="sale-2")
    return app


def test_text_lines_newest_first_in_local_time(logged):
    r = run(logged, "--since", "2026-04-01", "--until", "2026-04-02")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert [line.split("  ")[4] for line in lines] == ["sale-2", "-", "2026-04-01", "sale-1"]
    assert lines[-1].startswith("2026-04-01 23:30:00  YLW01  cashier  sale_voided  sale-1  {\"refund_fen\": 1250}")
    assert lines[1].startswith("2026-04-02 09:00:00  -  admin  login")


# (The demo's own entries are dated today: every window here ends in April 2026.)
@pytest.mark.parametrize("args, targets", [
    (["--since", "2026-04-02", "--until", "2026-04-30"], ["sale-2", "", "2026-04-01"]),
    (["--since", "2026-04-01", "--until", "2026-04-01"], ["sale-1"]),
    (["--since", "2026-04-01", "--until", "2026-04-30", "--action", "sale_voided"], ["sale-2", "sale-1"]),
    (["--since", "2026-04-01", "--until", "2026-04-30", "--actor", "supervisor"], ["2026-04-01"]),
    (["--since", "2026-04-01", "--until", "2026-04-30", "--canteen", "JM01"], ["sale-2"]),
    (["--since", "2026-04-03", "--until", "2026-04-30"], []),
])
def test_filters_and_jsonl(logged, args, targets):
    r = run(logged, *args, "--format", "jsonl")
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["target"] for row in rows] == targets
    for row in rows:
        assert set(row) == {"id", "at", "local_time", "canteen", "actor", "action", "target", "detail", "address"}
        assert row["at"].endswith("Z") and row["local_time"].endswith("+08:00")


@pytest.mark.parametrize("args, words", [
    (["--since", "2026-4-1x"], "--since must be YYYY-MM-DD, got '2026-4-1x'"),
    (["--since", "2026-04-01", "--until", "soon"], "--until must be YYYY-MM-DD, got 'soon'"),
    (["--since", "2026-04-05", "--until", "2026-04-01"], "the start date 2026-04-05 is after the end date 2026-04-01"),
    (["--since", "2026-04-01", "--canteen", "NOPE"], "unknown canteen 'NOPE'"),
])
def test_bad_input_is_one_line_and_exit_2(logged, args, words):
    r = run(logged, *args)
    assert r.exit_code == 2
    assert r.stderr.strip() == f"canteen audit: {words}" or r.stderr.strip().startswith(f"canteen audit: {words}")
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.output
    assert r.stdout == ""
