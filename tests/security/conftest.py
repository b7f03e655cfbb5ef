"""Fixtures for the security tests: apps with CSRF on or off, signed-in clients per role.

The demo canteen is built once per run (tests/conftest.py's ``demo_templates``); each
test gets its own copy.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from security.helpers import app_from_template
from support import demo_app


@pytest.fixture(scope="session")
def demo_template(demo_templates) -> Path:
    """The SQLite file holding the schema and the demo canteen, made once per run."""
    return Path(demo_templates("sqlite"))


@pytest.fixture
def nocsrf_app(demo_template, tmp_path):
    """The demo app on SQLite with CSRF checks off (for walking forms without tokens)."""
    app = app_from_template(demo_template, tmp_path, WTF_CSRF_ENABLED=False)
    yield app
    app.extensions["canteen_db"].dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def nocsrf_app_on_both(request, demo_templates, tmp_path):
    """The demo app with CSRF checks off, on SQLite and on PostgreSQL (a fresh copy each)."""
    with demo_app(request.param, demo_templates, tmp_path, WTF_CSRF_ENABLED=False) as app:
        yield app


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
