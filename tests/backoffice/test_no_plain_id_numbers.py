"""Resident ID numbers are sensitive personal information: after diners are registered,
edited, searched for and looked up through the API and the pages, no plain ID number is
found in the database files, in any text column, or in the application log (captured at
DEBUG, SQL statements included, their parameters hidden), nor its unkeyed SHA-256.  On
SQLite and PostgreSQL.  tests/security/test_id_never_leaks.py follows the number through
sales, searches by address and a failed registration."""
from __future__ import annotations

import hashlib
import logging
from datetime import date
from pathlib import Path

from sqlalchemy import select as sa_select
from sqlmodel import SQLModel, select

from backoffice.bo_helpers import make_id_number
from pos.models import Diner
from support import api_token, browser_login


def test_no_plain_resident_id_number_is_stored_or_logged(app, tmp_path):
    app.config["WTF_CSRF_ENABLED"] = False
    log_path = tmp_path / "app.log"
    handler = logging.FileHandler(log_path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    root, sql = logging.getLogger(), logging.getLogger("sqlalchemy.engine")
    old_levels = root.level, sql.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    sql.setLevel(logging.INFO)  # every statement with its parameters (SQLAlchemy's own default is WARNING)
    try:
        numbers = _register_edit_search_and_look_up(app)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_levels[0])
        sql.setLevel(old_levels[1])
        handler.close()

    forms = {n for number in numbers for n in (number, number[:17], number.lower())}
    forms |= {hashlib.sha256(f.encode()).hexdigest() for f in forms}  # an unkeyed digest is the number, tried
    # The database: every text value of every table.
    with app.extensions["canteen_db"].session() as s:
        for table in SQLModel.metadata.sorted_tables:
            for row in s.execute(sa_select(table)):
                for value in row:
                    text = str(value)
                    assert not any(f in text for f in forms), f"a plain ID number is stored in {table.name}"
    # The database files themselves (SQLite keeps recent writes in the -wal file).
    url = app.extensions["canteen_db"].url
    if url.startswith("sqlite:///"):
        db_file = Path(url[len("sqlite:///"):])
        files = [p for p in (db_file, Path(f"{db_file}-wal"), Path(f"{db_file}-journal")) if p.exists()]
        assert db_file in files and any(p.name.endswith("-wal") for p in files)
        for p in files:
            data = p.read_bytes()
            for f in forms:
                assert f.encode() not in data, f"a plain ID number is in {p.name}"
                assert f.encode("utf-16-le") not in data
    # The log saw the work (SQL included) but never a number.
    log = log_path.read_text(encoding="utf-8")
    assert "INSERT INTO diners" in log and "diner_changes" in log
    for f in forms:
        assert f not in log, "a plain ID number is in the application log"
    # ... nor the statements' parameters: the names registered are in none of them.
    assert "接口登记" not in log and "页面登记" not in log, "SQL parameters are in the application log"


def _register_edit_search_and_look_up(app) -> list[str]:
    registrar_api = app.test_client()
    headers = api_token(registrar_api, "registrar")
    numbers = [make_id_number(100 + i, date(1940 + i, 3, 1 + i)) for i in range(6)]

    # Through the API: two registrations, one with a voucher; a duplicate; a mistyped number.
    for number, voucher in ((numbers[0], True), (numbers[1], False)):
        r = registrar_api.post("/api/v1/diners", json={"name": "接口登记", "id_number": number, "resident": True,
                                                       "issue_voucher": voucher}, headers=headers)
        assert r.status_code == 201, r.get_json()
        assert number not in r.get_data(as_text=True) and r.get_json()["masked_id"].count("*") == 10
    assert registrar_api.post("/api/v1/diners", json={"name": "重复", "id_number": numbers[0], "resident": True},
                              headers=headers).status_code == 409
    typo = numbers[5][:-1] + ("0" if numbers[5][-1] != "0" else "1")
    r = registrar_api.post("/api/v1/diners", json={"name": "输错", "id_number": typo, "resident": True}, headers=headers)
    assert r.status_code == 422 and typo not in r.get_data(as_text=True)

    # Through the pages: two registrations, one with a worker category; a search; an edit.
    page = app.test_client()
    assert browser_login(page, "registrar").status_code == 302
    for number, category in ((numbers[2], ""), (numbers[3], "delivery_rider")):
        r = page.post("/backoffice/diners/new", data={"name": "页面登记", "id_number": number, "resident": "on",
                                                      "worker_category": category, "worker_proof": "工作证已核验",
                                                      "issue_voucher": "on"})
        assert r.status_code == 302, r.get_data(as_text=True)[:500]
    r = page.post("/backoffice/diners", data={"q": numbers[2]})
    assert r.status_code == 200 and "页面登记" in r.get_data(as_text=True)
    assert numbers[2] not in r.get_data(as_text=True)
    with app.extensions["canteen_db"].session() as s:
        diner_id = s.exec(select(Diner.id).where(Diner.name == "页面登记")).first()
    r = page.post(f"/backoffice/diners/{diner_id}/edit", data={"name": "页面登记", "id_number": numbers[4],
                                                                "resident": "on"})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    history = page.get(f"/backoffice/diners/{diner_id}").get_data(as_text=True)
    assert "**********" in history and numbers[4] not in history

    # At the till: a registered number and a walk-in's number typed in.
    till = app.test_client()
    cashier = api_token(till, "cashier")
    for number in (numbers[1], numbers[5]):
        r = till.post("/api/v1/credentials/lookup", json={"id_number": number}, headers=cashier)
        assert r.status_code == 200, r.get_json()
        assert number not in r.get_data(as_text=True)
    return numbers + [typo]
