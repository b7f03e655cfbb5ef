"""schema.sql is the source of truth: the SQLModel classes must agree with it, on SQLite
and on PostgreSQL, table by table and column by column."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy import types as sat
from sqlmodel import SQLModel

import pos.models  # noqa: F401
from pos.db import Database, init_schema, schema_statements


def family(t) -> str:
    """The kind of value a column holds, comparable across engines."""
    if isinstance(t, sat.TypeDecorator):
        t = t.impl
    if isinstance(t, sat.Boolean):
        return "bool"
    if isinstance(t, sat.Integer):
        return "int"
    if isinstance(t, (sat.Float, sat.Numeric)):
        return "float"
    if isinstance(t, sat.DateTime):
        return "timestamp"
    if isinstance(t, sat.Date):
        return "date"
    if isinstance(t, (sat.String, sat.Text)):
        return "text"
    return type(t).__name__


@pytest.fixture
def live(db_url):
    d = Database(db_url)
    init_schema(d.engine)
    yield d
    d.dispose()


def test_models_and_live_schema_agree(live):
    insp = inspect(live.engine)
    live_tables = set(insp.get_table_names())
    model_tables = set(SQLModel.metadata.tables)
    assert live_tables == model_tables
    for name, table in SQLModel.metadata.tables.items():
        cols = {c["name"]: c for c in insp.get_columns(name)}
        assert set(cols) == {c.name for c in table.columns}, name
        pk = set(insp.get_pk_constraint(name)["constrained_columns"])
        assert pk == {c.name for c in table.primary_key.columns}, name
        for c in table.columns:
            got = cols[c.name]
            assert family(got["type"]) == family(c.type), f"{name}.{c.name}: {got['type']} vs {c.type}"
            if not c.primary_key:
                assert got["nullable"] == c.nullable, f"{name}.{c.name} nullable {got['nullable']} vs {c.nullable}"
        live_fks = {(fk["constrained_columns"][0], fk["referred_table"]) for fk in insp.get_foreign_keys(name)}
        model_fks = {(fk.parent.name, fk.column.table.name) for fk in table.foreign_keys}
        assert live_fks == model_fks, name


def test_no_money_column_is_floating_point(live):
    insp = inspect(live.engine)
    money = [(t, c) for t in insp.get_table_names() for c in insp.get_columns(t) if c["name"].endswith("_fen")]
    assert len(money) >= 15
    for table, col in money:
        assert family(col["type"]) == "int", f"{table}.{col['name']} is {col['type']}"


def test_money_columns_refuse_negative_amounts(live):
    with pytest.raises(Exception):
        with live.engine.begin() as conn:
            conn.execute(text("INSERT INTO canteens (id, name, community, timezone) VALUES ('C1', 'n', 'c', 'Asia/Shanghai')"))
            conn.execute(text("INSERT INTO menu_items (id, canteen_id, name, category, price_fen, created_at, updated_at) "
                              "VALUES ('m1', 'C1', 'x', 'y', -1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))


def test_one_counter_row_per_canteen_and_date_and_cap_holds(live):
    with live.engine.begin() as conn:
        conn.execute(text("INSERT INTO canteens (id, name, community, timezone) VALUES ('C1', 'n', 'c', 'Asia/Shanghai')"))
        conn.execute(text("INSERT INTO free_meal_counters (canteen_id, business_date, cap, used) VALUES ('C1', '2026-03-01', 40, 40)"))
    with pytest.raises(Exception):
        with live.engine.begin() as conn:
            conn.execute(text("INSERT INTO free_meal_counters (canteen_id, business_date, cap, used) VALUES ('C1', '2026-03-01', 40, 0)"))
    with live.engine.begin() as conn:
        n = conn.execute(text("UPDATE free_meal_counters SET used = used + 1 WHERE canteen_id = 'C1' "
                              "AND business_date = '2026-03-01' AND used < cap")).rowcount
    assert n == 0


def test_schema_has_no_engine_specific_words():
    import re

    sql = " ".join(schema_statements()).upper()
    for word in ("AUTOINCREMENT", "SERIAL", "IDENTITY", "PRAGMA", "BYTEA", "BLOB", "JSONB", "REAL", "DOUBLE",
                 "FLOAT", "NUMERIC", "DECIMAL", "MONEY"):
        assert not re.search(rf"\b{word}\b", sql), word


def test_sqlite_pragmas_are_set(sqlite_url):
    d = Database(sqlite_url)
    with d.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    d.dispose()


def _check_list(table: str, column: str) -> set[str]:
    """The values a CHECK (column IN (...)) of schema.sql allows in ``table.column``."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "schema.sql").read_text(encoding="utf-8")
    body = re.search(rf"CREATE TABLE {table} \((.*?)\n\);", text, re.S).group(1)
    values = re.search(rf"CHECK \({column} IN \(([^)]*)\)\)", body).group(1)
    return set(re.findall(r"'([^']*)'", values))


def test_the_schemas_check_lists_are_the_word_lists_of_the_code():
    """Each word list lives once in the code; the database's CHECK lists must name the same codes."""
    from pos.access import ROLES
    from pos.store import credentials
    from pos.store.redactions import DOCUMENTS
    from pos.store.neighbourhood_reports import CATEGORIES, STATUSES
    from pos.store.notices import NOTICE_PLACES, NOTICE_TOPICS
    from subsidies.vocabulary import SUBSIDY_KINDS, TENDERS, WORKER_CATEGORIES

    assert _check_list("sales", "tender_method") == set(TENDERS)
    assert _check_list("subsidy_grants", "kind") == set(SUBSIDY_KINDS)
    assert _check_list("diners", "worker_category") == set(WORKER_CATEGORIES)
    assert _check_list("staff_users", "role") == set(ROLES)
    assert _check_list("sales", "credential_kind") == {credentials.NO_CREDENTIAL} | {k.NAME for k in credentials.KINDS}
    assert _check_list("document_redactions", "document") == set(DOCUMENTS)
    assert _check_list("notices", "place") == set(NOTICE_PLACES)
    assert _check_list("notices", "topic") == set(NOTICE_TOPICS)
    assert _check_list("neighbourhood_reports", "category") == set(CATEGORIES)
    assert _check_list("neighbourhood_reports", "status") == set(STATUSES)
    assert _check_list("neighbourhood_report_updates", "status") == set(STATUSES)
    assert _check_list("serving_exceptions", "kind") == set(SUBSIDY_KINDS)
