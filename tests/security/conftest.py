"""Fixtures for the security tests: apps with CSRF on or off, signed-in clients per role.

Loading the demo canteen (staff, diners, a week of sales history, closed days) takes a few
seconds, so on SQLite it is loaded once per run into a template file and each test gets
a copy (sqlite3's backup API).  PostgreSQL apps are built as tests/conftest.py does.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from security.helpers import app_from_template
from support import build_app


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """A SQLite file holding the schema and the demo canteen, made once per run."""
    tmp = tmp_path_factory.mktemp("demo-template")
    app = build_app(f"sqlite:///{tmp / 'template.db'}", tmp)
    app.extensions["canteen_db"].dispose()
    return tmp / "template.db"


@pytest.fixture
def app(db_url, tmp_path, demo_template):
    """As tests/conftest.py's ``app`` (demo canteen, SQLite and PostgreSQL), faster on SQLite."""
    app = app_from_template(demo_template, tmp_path) if db_url.startswith("sqlite") else build_app(db_url, tmp_path)
    yield app
    app.extensions["canteen_db"].dispose()


@pytest.fixture
def sqlite_app(demo_template, tmp_path):
    app = app_from_template(demo_template, tmp_path)
    yield app
    app.extensions["canteen_db"].dispose()


@pytest.fixture
def nocsrf_app(demo_template, tmp_path):
    """The demo app on SQLite with CSRF checks off (for walking forms without tokens)."""
    app = app_from_template(demo_template, tmp_path, WTF_CSRF_ENABLED=False)
    yield app
    app.extensions["canteen_db"].dispose()


@pytest.fixture
def csrf_app(demo_template, tmp_path):
    """The demo app on SQLite with CSRF protection on, as in production."""
    app = app_from_template(demo_template, tmp_path)
    yield app
    app.extensions["canteen_db"].dispose()


@pytest.fixture
def sqlite_client(sqlite_app):
    """A test client of the demo app on SQLite (for checks that do not depend on the engine)."""
    return sqlite_app.test_client()
