"""Fixtures for the security tests: apps with CSRF on or off, signed-in clients per role."""
from __future__ import annotations

import pytest

from support import build_app


@pytest.fixture
def nocsrf_app(sqlite_url, tmp_path):
    """The demo app on SQLite with CSRF checks off (for walking forms without tokens)."""
    app = build_app(sqlite_url, tmp_path, WTF_CSRF_ENABLED=False)
    yield app
    app.extensions["canteen_db"].dispose()


@pytest.fixture
def csrf_app(sqlite_url, tmp_path):
    """The demo app on SQLite with CSRF protection on, as in production."""
    app = build_app(sqlite_url, tmp_path)
    yield app
    app.extensions["canteen_db"].dispose()


@pytest.fixture
def sqlite_client(sqlite_app):
    """A test client of the demo app on SQLite (for checks that do not depend on the engine)."""
    return sqlite_app.test_client()
