"""The `canteen` CLI: init refuses to touch an existing database; user add; demo."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def canteen(tmp_path, *args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANTEEN_")}
    env.update({"CANTEEN_ENV": "development", "CANTEEN_CONFIG": str(ROOT / "config.toml"),
                "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"}, **(env_extra or {}))
    return subprocess.run([sys.executable, "-c", "from pos.web.cli import main; main()", *args],
                          capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)


def test_init_twice_refuses_and_keeps_the_data(tmp_path):
    assert canteen(tmp_path, "init").returncode == 0
    r = canteen(tmp_path, "user", "add", "wang", "--role", "cashier", "--canteen", "YLW01",
                env_extra={"CANTEEN_PASSWORD": "a-long-password"})
    assert r.returncode == 0, r.stderr
    second = canteen(tmp_path, "init")
    assert second.returncode == 1
    assert "already holds the canteen schema" in second.stderr
    import sqlite3

    with sqlite3.connect(tmp_path / "c.db") as conn:
        assert conn.execute("SELECT username FROM staff_users").fetchall() == [("wang",)]


def test_init_force_starts_again(tmp_path):
    assert canteen(tmp_path, "init", "--with-demo").returncode == 0
    assert canteen(tmp_path, "init", "--force").returncode == 0
    import sqlite3

    with sqlite3.connect(tmp_path / "c.db") as conn:
        assert conn.execute("SELECT count(*) FROM staff_users").fetchone() == (0,)


def test_init_if_missing_leaves_existing_database(tmp_path):
    assert canteen(tmp_path, "init", "--if-missing", "--with-demo").returncode == 0
    r = canteen(tmp_path, "init", "--if-missing", "--with-demo")
    assert r.returncode == 0 and "left as it is" in r.stdout


def test_user_add_refuses_short_password_and_unknown_canteen(tmp_path):
    canteen(tmp_path, "init")
    r = canteen(tmp_path, "user", "add", "li", "--role", "cashier", env_extra={"CANTEEN_PASSWORD": "short"})
    assert r.returncode == 1 and "at least 8" in r.stderr
    r = canteen(tmp_path, "user", "add", "li", "--role", "cashier", "--canteen", "NOPE",
                env_extra={"CANTEEN_PASSWORD": "long-enough-pw"})
    assert r.returncode == 1 and "unknown canteen" in r.stderr


def test_demo_loads_menu_staff_and_diners(app):
    from sqlalchemy import func
    from sqlmodel import select

    from pos.access import ROLES
    from pos.models import Diner, MenuItem, StaffUser

    with app.extensions["canteen_db"].session() as s:
        roles = set(s.exec(select(StaffUser.role)).all())
        assert roles == set(ROLES)  # one demo user per role
        assert s.exec(select(func.count()).select_from(Diner)).one() >= 20
        welfare = s.exec(select(MenuItem).where(MenuItem.welfare_meal == True)).all()  # noqa: E712
        assert welfare and all(w.price_fen > 0 for w in welfare)
        categories = set(s.exec(select(Diner.worker_category)).all())
        assert {"cleaner", "sanitation_worker", "delivery_rider", None} <= categories
