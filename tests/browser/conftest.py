"""Browser fixtures: the demo app (SQLite) served by waitress on a free localhost port, and
Debian's Chromium launched through Playwright."""
from __future__ import annotations


import pytest

from support import LiveServer, build_app, need_tool

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture
def served(tmp_path):
    """(app, base URL): the demo canteen on SQLite, served over real HTTP."""
    app = build_app(f"sqlite:///{tmp_path / 'canteen.db'}", tmp_path)
    server = LiveServer(app, threads=4)
    yield app, server.url
    server.stop()
    app.extensions["canteen_db"].dispose()


@pytest.fixture
def chromium():
    """``chromium(playwright)`` launches Debian's Chromium (skips, or fails on CI, without it)."""
    need_tool(CHROMIUM, "chromium")
    return lambda p: p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
