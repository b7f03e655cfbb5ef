"""Shared fixtures: an app with the demo canteen on a fresh database per test, on SQLite
and on PostgreSQL (see tests/support.py for how the PostgreSQL database is made)."""
from __future__ import annotations

import pytest

from support import build_app, pg_url_or_skip, _pg_state


def pytest_sessionfinish(session, exitstatus):
    if "name" in _pg_state:
        import psycopg

        try:
            with psycopg.connect(_pg_state["plain"], autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{_pg_state["name"]}" WITH (FORCE)')
        except Exception:  # noqa: BLE001
            pass


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path) -> str:
    """A fresh, empty database URL on each engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'canteen.db'}"
    url = pg_url_or_skip()
    from pos.db import Database, drop_all

    d = Database(url)
    drop_all(d.engine)
    d.dispose()
    return url


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'canteen.db'}"


@pytest.fixture
def app(db_url, tmp_path):
    """The app with the demo canteen loaded, on SQLite and on PostgreSQL."""
    app = build_app(db_url, tmp_path)
    yield app
    app.extensions["canteen_db"].dispose()


@pytest.fixture
def sqlite_app(sqlite_url, tmp_path):
    app = build_app(sqlite_url, tmp_path)
    yield app
    app.extensions["canteen_db"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


