"""Fixtures for the back office and voucher tests (helpers live in bo_helpers.py)."""
from __future__ import annotations

import pytest

from backoffice.bo_helpers import Ctx, ctx_for
from support import build_app


@pytest.fixture
def bo_app(sqlite_url, tmp_path):
    """The demo canteen on SQLite, with form CSRF checks off so tests can post forms."""
    app = build_app(sqlite_url, tmp_path, WTF_CSRF_ENABLED=False)
    yield app
    app.extensions["canteen_db"].dispose()


@pytest.fixture
def ctx(bo_app) -> Ctx:
    return ctx_for(bo_app)
