"""Tamper evidence: an amount edited directly in the database file (SQLite) or server
(PostgreSQL) makes `canteen verify` fail naming that row; untouched data verifies."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid

import pytest

from pos.web.cli import cli
from support import ROOT, api_token


def sell(client, headers: dict, n: int) -> list[dict]:
    items = client.get("/api/v1/menu", headers=headers).get_json()["items"]
    dish = next(i for i in items if not i["welfare_meal"])
    out = []
    for _ in range(n):
        r = client.post("/api/v1/sales", headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
                        json={"lines": [{"item_id": dish["id"], "qty": 2}], "due_fen": 2 * dish["price_fen"],
                              "tender": {"method": "cash", "tendered_fen": 2 * dish["price_fen"]}})
        assert r.status_code == 201, r.get_json()
        out.append(r.get_json())
    return out


@pytest.fixture
def sales(client):
    """Three paid sales made through the API today, the last one voided by a supervisor."""
    headers = api_token(client, "cashier")
    assert client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=headers).status_code == 201
    made = sell(client, headers, 3)
    r = client.post(f"/api/v1/sales/{made[-1]['id']}/void", json={"reason": "顾客取消"},
                    headers=api_token(client, "supervisor"))
    assert r.status_code == 200, r.get_json()
    return made


def raw_sql(app, sql: str, *params) -> None:
    """Run one statement straight on the database, behind the application's back:
    the sqlite3 module on the SQLite file, psycopg on the PostgreSQL server."""
    url = app.extensions["canteen_db"].url
    app.extensions["canteen_db"].dispose()
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split("///", 1)[1]) as conn:
            assert conn.execute(sql.replace("%s", "?"), params).rowcount == 1
        return
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        assert conn.execute(sql, params).rowcount == 1


def canteen_verify(app, *args: str) -> subprocess.CompletedProcess:
    """`canteen verify` in its own process against the test database."""
    env = dict(os.environ, DATABASE_URL=app.extensions["canteen_db"].url, CANTEEN_ENV="development",
               CANTEEN_CONFIG=str(ROOT / "config.toml"))
    return subprocess.run([sys.executable, "-c", "from pos.web.cli import main; main()", "verify", *args],
                          env=env, capture_output=True, text=True, timeout=120)


def test_untouched_ledger_verifies(app, sales):
    done = canteen_verify(app)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ledger intact" in done.stdout and "YLW01: intact" in done.stdout and "JM01: intact" in done.stdout


def test_edited_sale_amount_is_named(app, sales):
    target = sales[1]["id"]
    raw_sql(app, "UPDATE sales SET gross_fen = gross_fen + 100, due_fen = due_fen + 100, "
                 "tendered_fen = tendered_fen + 100 WHERE id = %s", target)
    done = canteen_verify(app)
    assert done.returncode == 1, done.stdout + done.stderr
    broken = [line for line in done.stdout.splitlines() if "BROKEN —" in line]
    assert len(broken) == 1 and broken[0].startswith("YLW01:")
    assert f"sales id={target}" in broken[0] and "row_hash does not match" in broken[0]
    assert "JM01: intact" in done.stdout, "the other canteen's chain is unaffected"


def test_inflated_subsidy_is_named(app, sales):
    """The fraud an audit looks for: more subsidy claimed, less paid, totals still adding up."""
    target = sales[0]["id"]
    raw_sql(app, "UPDATE sales SET subsidy_fen = subsidy_fen + 300, due_fen = due_fen - 300, "
                 "tendered_fen = tendered_fen - 300 WHERE id = %s", target)
    done = canteen_verify(app, "--canteen", "YLW01")
    assert done.returncode == 1
    assert f"sales id={target}" in done.stdout


@pytest.mark.parametrize("table, sql, problem", [
    ("sale_lines", "UPDATE sale_lines SET qty = 1, line_total_fen = unit_price_fen WHERE sale_id = %s",
     "row_hash does not match"),
    ("sales", "UPDATE sales SET status = 'voided' WHERE id = %s", "disagrees with the voids table"),
])
def test_other_edits_are_named(sqlite_app, table, sql, problem):
    client = sqlite_app.test_client()
    headers = api_token(client, "cashier")
    client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=headers)
    target = sell(client, headers, 2)[0]["id"]
    raw_sql(sqlite_app, sql, target)
    done = canteen_verify(sqlite_app)
    assert done.returncode == 1, done.stdout
    line = next(line for line in done.stdout.splitlines() if "BROKEN —" in line)
    assert f"{table} id=" in line or f"sales id={target}" in line, line
    assert problem in line, line


def test_a_deleted_row_leaves_a_gap_at_its_position(sqlite_app):
    client = sqlite_app.test_client()
    headers = api_token(client, "cashier")
    client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=headers)
    target = sell(client, headers, 2)[0]["id"]
    with sqlite3.connect(sqlite_app.extensions["canteen_db"].url.split("///", 1)[1]) as conn:
        seq = conn.execute("SELECT chain_seq FROM sale_lines WHERE sale_id = ?", (target,)).fetchone()[0]
    raw_sql(sqlite_app, "DELETE FROM sale_lines WHERE sale_id = %s", target)
    done = canteen_verify(sqlite_app)
    assert done.returncode == 1
    assert f"gap: expected position {seq}" in done.stdout


def test_edited_grant_is_named(sqlite_app):
    """A subsidy grant from the demo history, its amount raised in the file."""
    with sqlite3.connect(sqlite_app.extensions["canteen_db"].url.split("///", 1)[1]) as conn:
        grant_id = conn.execute("SELECT id FROM subsidy_grants WHERE canteen_id = 'YLW01' "
                                "ORDER BY chain_seq LIMIT 1").fetchone()[0]
    raw_sql(sqlite_app, "UPDATE subsidy_grants SET amount_fen = amount_fen + 500 WHERE id = %s", grant_id)
    done = canteen_verify(sqlite_app)
    assert done.returncode == 1
    assert f"subsidy_grants id={grant_id}" in done.stdout


def test_a_rewritten_chain_is_caught_by_the_day_close_head(sqlite_app):
    """A careful forger edits a closed day's sale and recomputes every hash after it; the
    chain is consistent again, but the head recorded at day close (and printed on that
    day's report) no longer matches."""
    from pos.store.ledger import CHAINED, row_hash

    path = sqlite_app.extensions["canteen_db"].url.split("///", 1)[1]
    sqlite_app.extensions["canteen_db"].dispose()
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        closed_seq = conn.execute("SELECT min(chain_seq) FROM day_closes WHERE canteen_id = 'YLW01' "
                                  "AND chain_seq > 0").fetchone()[0]
        assert closed_seq, "the demo closes past days"
        target = conn.execute("SELECT id, chain_seq FROM sales WHERE canteen_id = 'YLW01' AND chain_seq <= ? "
                              "ORDER BY chain_seq DESC LIMIT 1", (closed_seq,)).fetchone()
        conn.execute("UPDATE sales SET gross_fen = gross_fen + 100, due_fen = due_fen + 100, "
                     "tendered_fen = tendered_fen + 100 WHERE id = ?", (target["id"],))
        rows = []
        for table in CHAINED:
            for r in conn.execute(f"SELECT * FROM {table} WHERE canteen_id = 'YLW01' AND chain_seq >= ?",
                                  (target["chain_seq"],)):
                rows.append((r["chain_seq"], table, dict(r)))
        prev = conn.execute("SELECT row_hash FROM (SELECT row_hash, chain_seq FROM sales UNION ALL "
                            "SELECT row_hash, chain_seq FROM sale_lines UNION ALL SELECT row_hash, chain_seq "
                            "FROM subsidy_grants UNION ALL SELECT row_hash, chain_seq FROM voids UNION ALL "
                            "SELECT row_hash, chain_seq FROM corrections) WHERE chain_seq = ?",
                            (target["chain_seq"] - 1,)).fetchone()
        prev = prev[0] if prev else "0" * 64
        for seq, table, row in sorted(rows, key=lambda x: x[0]):
            new = row_hash(table, prev, _as_read_by_sqlalchemy(table, row))
            conn.execute(f"UPDATE {table} SET prev_hash = ?, row_hash = ? WHERE id = ?", (prev, new, row["id"]))
            prev = new
        conn.execute("UPDATE canteens SET chain_head = ? WHERE id = 'YLW01'", (prev,))
    done = canteen_verify(sqlite_app, "--canteen", "YLW01")
    assert done.returncode == 1, done.stdout
    assert "day close of" in done.stdout and f"position {closed_seq}" in done.stdout


def _as_read_by_sqlalchemy(table: str, row: dict) -> dict:
    """Raw sqlite3 gives dates and times as text and booleans as 0/1; the ledger hashes
    the values SQLAlchemy gives back, so convert them the same way."""
    from pos.store.ledger import CHAINED

    out = dict(row)
    for column in CHAINED[table].columns:
        value = out.get(column.name)
        if value is None:
            continue
        python_type = column.type.python_type
        if python_type.__name__ == "bool":
            out[column.name] = bool(value)
        elif python_type.__name__ == "datetime":
            from datetime import datetime

            out[column.name] = datetime.fromisoformat(value)
        elif python_type.__name__ == "date":
            from datetime import date

            out[column.name] = date.fromisoformat(value)
    return out


def test_cli_runner_and_unknown_canteen(sqlite_app):
    runner = sqlite_app.test_cli_runner()
    result = runner.invoke(cli, ["verify"])
    assert result.exit_code == 0, result.output
    assert "ledger intact" in result.output
    result = runner.invoke(cli, ["verify", "--canteen", "NOPE"])
    assert result.exit_code == 2 and "unknown canteen 'NOPE'" in result.output
