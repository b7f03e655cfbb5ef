"""Browser fixtures: the demo app (SQLite) served by waitress on a free localhost port, and
Debian's Chromium launched through Playwright."""
from __future__ import annotations

import threading

import pytest

from support import build_app, need_tool

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


class _Server:
    def __init__(self, app):
        from waitress.server import create_server

        self.server = create_server(app, host="127.0.0.1", port=0, threads=4, ident="canteen-browser-test")
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            self.server.run()
        except OSError:
            pass  # the listening socket was closed by stop()

    def stop(self):
        self.server.task_dispatcher.shutdown()
        self.server.close()
        self.thread.join(5)


@pytest.fixture
def served(tmp_path):
    """(app, base URL): the demo canteen on SQLite, served over real HTTP."""
    app = build_app(f"sqlite:///{tmp_path / 'canteen.db'}", tmp_path)
    server = _Server(app)
    yield app, server.url
    server.stop()
    app.extensions["canteen_db"].dispose()


@pytest.fixture
def chromium():
    """``chromium(playwright)`` launches Debian's Chromium (skips, or fails on CI, without it)."""
    need_tool(CHROMIUM, "chromium")
    return lambda p: p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
