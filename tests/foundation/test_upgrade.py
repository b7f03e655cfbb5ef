"""Upgrading a first-release database (schema version 1) to this release, on SQLite and on
PostgreSQL, through the real `canteen` command.

The rules: `canteen upgrade` (and `canteen init --if-missing`) bring a version-1 database
up to date and keep every row it held; the ledger still verifies and the till sells on it;
a second upgrade does nothing and says so; `canteen serve` refuses a database older than
the code (naming `canteen upgrade`) and both refuse one newer than the code — each refusal
one line, exit status 1, no traceback.

The version-1 database is made from tests/foundation/schema_v1.sql (the first release's
schema.sql, verbatim) and filled with the demo canteen's rows: staff, menus, diners,
vouchers, a week of shifts, sales with lines and grants, voids, day closes and the audit
log.  They are copied table by table, and column by column, from a database this code
built, leaving out the tables and columns the first release did not have (sale_decisions
and every later one); the upgraded ledger must still verify, so the chained rows and the
day closes' recorded chain heads are what the first release wrote.
"""
from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import column, create_engine, inspect, insert, table, text
from sqlalchemy.pool import NullPool

from pos.db import code_schema_version, init_schema, schema_statements
from pos.web.cli.ledger_commands import verify_all
from support import assert_one_line_refusal, run_canteen as canteen, api_token, app_on, pg_url_or_skip

ROOT = Path(__file__).resolve().parents[2]
V1_SCHEMA = (Path(__file__).with_name("schema_v1.sql")).read_text(encoding="utf-8")
# The first release's tables in the order it creates them: a table's parents come first,
# so rows copied in this order satisfy every foreign key as they arrive.
V1_TABLES = re.findall(r"^CREATE TABLE (\w+)", V1_SCHEMA, flags=re.MULTILINE)
# Each first-release table's columns: later releases add columns, and what the first
# release held is compared (and copied) column for column.
V1_COLUMNS = {name: ", ".join(cols) for name, cols in (
    (m.group(1), re.findall(r"^    (\w+)\s+(?:TEXT|INTEGER|DATE|TIMESTAMP|BOOLEAN)\b", m.group(2), flags=re.MULTILINE))
    for m in re.finditer(r"^CREATE TABLE (\w+) \((.*?)^\);", V1_SCHEMA, flags=re.MULTILINE | re.DOTALL))}
V1_STAFF_REFS = {"staff_users": "id", "api_tokens": "user_id", "audit_log": "actor_id"}
CURRENT = code_schema_version()
ALL_VERSIONS = list(range(1, CURRENT + 1))
# The kinds of rows a canteen that has been trading for a while holds; the copy must have them all.
TRADING_TABLES = ("staff_users", "menu_items", "diners", "vouchers", "shifts", "sales", "sale_lines",
                  "subsidy_grants", "free_meal_counters", "voids", "day_closes", "audit_log")


# -- helpers --------------------------------------------------------------------------------------

def _engine(url: str):
    """A plain engine that holds no connection once a block ends (a PostgreSQL database with
    an open connection cannot be a template for another, nor be dropped)."""
    return create_engine(url, poolclass=NullPool)


def snapshot(url: str) -> dict[str, list[tuple]]:
    """Every row of every first-release table, by table, in a stable order."""
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return {t: sorted((tuple(r) for r in conn.exec_driver_sql(f"SELECT {V1_COLUMNS[t]} FROM {t}")), key=repr)
                    for t in V1_TABLES}
    finally:
        engine.dispose()


def data(snap: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """A snapshot's canteen data: every table but the version table (which an upgrade adds to)."""
    return {t: found for t, found in snap.items() if t != "schema_version"}


def rows(url: str, sql: str, **params) -> list[tuple]:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def scalar(url: str, sql: str, **params):
    found = rows(url, sql, **params)
    return found[0][0] if found else None


def versions(url: str) -> list[int]:
    return [v for (v,) in rows(url, "SELECT version FROM schema_version ORDER BY version")]


def has_table(url: str, name: str) -> bool:
    engine = _engine(url)
    try:
        return inspect(engine).has_table(name)
    finally:
        engine.dispose()




def serve(url: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """`canteen serve`, which must refuse before it serves.  One waitress process on a free
    port, so that if it wrongly started serving, the timeout ends it (and the test fails)
    with no worker processes left behind; the schema check comes before the server choice."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    try:
        return canteen(url, tmp_path, "serve", "--server", "waitress", "--processes", "1", "--port", str(port),
                       timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("canteen serve started serving a database it must refuse")




# -- the first release's database -----------------------------------------------------------------

def _demo_url(engine_name: str, demo_templates) -> str:
    template = demo_templates(engine_name)
    if engine_name == "sqlite":
        return f"sqlite:///{template}"
    return f"{pg_url_or_skip().rpartition('/')[0]}/{template}"


@pytest.fixture
def v1_url(db_url, demo_templates) -> str:
    """A schema version 1 database holding the demo canteen's rows, as the first release
    made them (see the module docstring), on each engine."""
    source_url = _demo_url("sqlite" if db_url.startswith("sqlite") else "postgres", demo_templates)
    source, target = _engine(source_url), _engine(db_url)
    try:
        with target.begin() as out:
            for stmt in schema_statements(V1_SCHEMA):
                out.exec_driver_sql(stmt)
            with source.connect() as src:
                for name in V1_TABLES:
                    if name == "schema_version":  # schema_v1.sql wrote the first release's row
                        continue
                    # Staff of roles a later release added (and what they did) were not in the first release.
                    later = ("" if name not in V1_STAFF_REFS else
                             f" WHERE {V1_STAFF_REFS[name]} IS NULL OR {V1_STAFF_REFS[name]} NOT IN "
                             f"(SELECT id FROM staff_users WHERE role IN ('approver', 'platform'))")
                    result = src.exec_driver_sql(f"SELECT {V1_COLUMNS[name]} FROM {name}{later}")
                    names = list(result.keys())
                    copied = [dict(zip(names, r)) for r in result]
                    if copied:
                        out.execute(insert(table(name, *(column(n) for n in names))), copied)
    finally:
        source.dispose()
        target.dispose()
    assert versions(db_url) == [1] and not has_table(db_url, "sale_decisions")
    held = snapshot(db_url)
    empty = [t for t in TRADING_TABLES if not held[t]]
    assert not empty, f"the first release's database should hold rows of every kind; none in {empty}"
    return db_url


# -- the rules ------------------------------------------------------------------------------------

def test_upgrade_keeps_every_row_and_the_till_sells_on_the_upgraded_database(v1_url, tmp_path):
    before = snapshot(v1_url)

    r = canteen(v1_url, tmp_path, "upgrade")
    assert r.returncode == 0, r.stderr
    assert f"upgraded the database from schema version 1 to {CURRENT}" in r.stdout

    # Nothing of the first release's data is lost or changed: same rows, table by table.
    after = snapshot(v1_url)
    for name, kept in data(before).items():
        assert len(after[name]) == len(kept), name
        assert after[name] == kept, name
    # The version table keeps its history and records the upgrade.
    assert after["schema_version"][: len(before["schema_version"])] == before["schema_version"]
    assert versions(v1_url) == ALL_VERSIONS
    assert scalar(v1_url, "SELECT description FROM schema_version WHERE version = 2") == "sale decisions"
    # The new table is there, and empty: old sales have no decision row.
    assert has_table(v1_url, "sale_decisions")
    assert scalar(v1_url, "SELECT COUNT(*) FROM sale_decisions") == 0

    # The ledger written by the first release still verifies (hash chains and day-close heads).
    r = canteen(v1_url, tmp_path, "verify")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ledger intact" in r.stdout

    app = app_on(v1_url, tmp_path)
    try:
        client = app.test_client()
        headers = api_token(client, "cashier")
        cashier_canteen = scalar(v1_url, "SELECT canteen_id FROM staff_users WHERE username = 'cashier'")

        # An old sale reads back: one without a grant has no decision row, so no code or reason.
        plain_id = scalar(v1_url, "SELECT s.id FROM sales s LEFT JOIN subsidy_grants g ON g.sale_id = s.id "
                                  "WHERE g.id IS NULL AND s.canteen_id = :c ORDER BY s.id", c=cashier_canteen)
        r = client.get(f"/api/v1/sales/{plain_id}", headers=headers)
        assert r.status_code == 200, r.get_json()
        old = r.get_json()
        assert old["id"] == plain_id and old["lines"]
        assert old["subsidy"]["kind"] is None and old["subsidy"]["code"] is None and old["subsidy"]["reason"] is None
        # A subsidised old sale keeps its grant's reason; a voided one its void.
        granted_id, kind = rows(v1_url, "SELECT s.id, g.kind FROM sales s JOIN subsidy_grants g ON g.sale_id = s.id "
                                        "WHERE s.canteen_id = :c ORDER BY s.id", c=cashier_canteen)[0]
        r = client.get(f"/api/v1/sales/{granted_id}", headers=headers)
        assert r.status_code == 200, r.get_json()
        assert r.get_json()["subsidy"]["code"] == kind and r.get_json()["subsidy"]["reason"]
        voided_id = scalar(v1_url, "SELECT sale_id FROM voids WHERE canteen_id = :c ORDER BY sale_id",
                           c=cashier_canteen)
        r = client.get(f"/api/v1/sales/{voided_id}", headers=headers)
        assert r.status_code == 200 and r.get_json()["status"] == "voided" and r.get_json()["void"], r.get_json()

        before_receipt = scalar(v1_url, "SELECT MAX(receipt_no) FROM sales WHERE canteen_id = :c", c=cashier_canteen)
        # A new sale: open a shift, quote, pay cash.  Unsubsidised, so it keeps its decision
        # in the new table.
        r = client.post("/api/v1/shifts", json={"opening_float_fen": 20000}, headers=headers)
        assert r.status_code == 201, r.get_json()
        menu = client.get("/api/v1/menu", headers=headers).get_json()["items"]
        lines = [{"item_id": next(i for i in menu if not i["welfare_meal"])["id"], "qty": 1}]
        q = client.post("/api/v1/sales/quote", json={"lines": lines}, headers=headers)
        assert q.status_code == 200, q.get_json()
        due = q.get_json()["due_fen"]
        r = client.post("/api/v1/sales", json={"lines": lines, "due_fen": due,
                                                "tender": {"method": "cash", "tendered_fen": due}},
                        headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
        assert r.status_code == 201, r.get_json()
        new = r.get_json()
        # Receipt numbers go on from the first release's.
        assert new["receipt_no"] == 1 + before_receipt
        assert new["subsidy"]["code"]
        assert client.get(f"/api/v1/sales/{new['id']}", headers=headers).get_json()["subsidy"]["code"] \
            == new["subsidy"]["code"]
        assert scalar(v1_url, "SELECT COUNT(*) FROM sale_decisions WHERE sale_id = :i", i=new["id"]) == 1

        # The new sale extends the first release's chain: the whole ledger still verifies.
        db = app.extensions["canteen_db"]
        with db.session() as s:
            ok, report = verify_all(session=s, canteen_ids=[c for (c,) in rows(v1_url, "SELECT id FROM canteens")])
        assert ok, report
    finally:
        app.extensions["canteen_db"].dispose()


def test_a_second_upgrade_does_nothing_and_says_so(v1_url, tmp_path):
    assert canteen(v1_url, tmp_path, "upgrade").returncode == 0
    upgraded = snapshot(v1_url)

    r = canteen(v1_url, tmp_path, "upgrade")
    assert r.returncode == 0, r.stderr
    assert "nothing to do" in r.stdout and f"schema version {CURRENT}" in r.stdout
    assert versions(v1_url) == ALL_VERSIONS
    assert snapshot(v1_url) == upgraded


def test_serve_refuses_a_first_release_database_and_names_canteen_upgrade(v1_url, tmp_path):
    before = snapshot(v1_url)

    r = serve(v1_url, tmp_path)
    assert_one_line_refusal(r, "canteen upgrade", "schema version 1")
    # Refusing changes nothing: an upgrade is the operator's step, after a backup.
    assert versions(v1_url) == [1] and not has_table(v1_url, "sale_decisions")
    assert snapshot(v1_url) == before


@pytest.fixture
def newer_url(db_url) -> str:
    """A database a later release wrote: this release's schema, its version table at 99."""
    engine = _engine(db_url)
    try:
        init_schema(engine)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO schema_version (version, applied_at, description) "
                              "VALUES (99, CURRENT_TIMESTAMP, 'from the future')"))
    finally:
        engine.dispose()
    return db_url


@pytest.mark.parametrize("command", [("serve",), ("upgrade",), ("init", "--if-missing")],
                         ids=["serve", "upgrade", "init-if-missing"])
def test_a_database_newer_than_the_code_is_refused(newer_url, tmp_path, command):
    # Older code must neither serve a newer schema nor "upgrade" it with its own files.
    r = serve(newer_url, tmp_path) if command == ("serve",) else canteen(newer_url, tmp_path, *command)
    assert_one_line_refusal(r, "newer", "99")
    assert versions(newer_url) == [*ALL_VERSIONS, 99]


def test_init_if_missing_upgrades_a_first_release_database(v1_url, tmp_path):
    before = snapshot(v1_url)

    r = canteen(v1_url, tmp_path, "init", "--if-missing")
    assert r.returncode == 0, r.stderr
    assert f"upgraded to schema version {CURRENT}" in r.stdout
    assert versions(v1_url) == ALL_VERSIONS and has_table(v1_url, "sale_decisions")
    assert data(snapshot(v1_url)) == data(before)



def _shape(url: str) -> dict[str, tuple]:
    """Every table's columns (name, type, nullable), indexes and foreign keys, order aside."""
    engine = _engine(url)
    try:
        insp = inspect(engine)
        return {name: (sorted((c["name"], str(c["type"]).upper(), c["nullable"]) for c in insp.get_columns(name)),
                       sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(name)),
                       sorted((tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                              for f in insp.get_foreign_keys(name)))
                for name in insp.get_table_names()}
    finally:
        engine.dispose()


def test_an_upgraded_database_has_the_shape_schema_sql_gives_a_new_one(v1_url, demo_templates, tmp_path):
    """The migrations and schema.sql (the reviewed whole) describe the same database: after
    `canteen upgrade`, a first-release database has the tables, columns, indexes and foreign
    keys of one made new from schema.sql."""
    assert canteen(v1_url, tmp_path, "upgrade").returncode == 0
    fresh = _shape(_demo_url("sqlite" if v1_url.startswith("sqlite") else "postgres", demo_templates))
    upgraded = _shape(v1_url)
    assert sorted(upgraded) == sorted(fresh)
    differ = {name: (upgraded[name], fresh[name]) for name in fresh if upgraded[name] != fresh[name]}
    assert not differ, differ
