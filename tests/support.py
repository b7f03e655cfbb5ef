"""Test support: database URLs, app builders, sign-in helpers, system tools.

PostgreSQL tests use the server named by CANTEEN_TEST_PG (default
postgresql+psycopg://postgres@127.0.0.1:5432/test); each pytest run creates its own
database there and drops it afterwards.  Without a reachable server they skip with a
message saying so — except when CI=true, where a missing tool fails the run.
"""
from __future__ import annotations

import os
import shutil
import signal
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
PG_ADMIN_URL = os.environ.get("CANTEEN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"

os.environ.setdefault("CANTEEN_ENV", "development")
# Every sign-in verifies a scrypt hash at the cost it was made with: the suite's accounts are
# made at a development cost (pos.config.scrypt_n), so thousands of sign-ins stay cheap; the
# production cost is tested in tests/foundation/test_signin.py.
os.environ.setdefault("CANTEEN_SCRYPT_N", "1024")
os.environ.setdefault("CANTEEN_CONFIG", str(ROOT / "config.toml"))


def need_tool(path_or_name: str, package: str) -> str:
    """The tool's path, or skip (fail on CI) naming what is missing."""
    found = path_or_name if os.path.isabs(path_or_name) and os.path.exists(path_or_name) else shutil.which(path_or_name)
    if not found:
        msg = f"{path_or_name} is missing (Debian package {package}; `make system-deps` installs it)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return found


def artifact_dir(name: str) -> Path:
    d = ARTIFACTS / name
    d.mkdir(parents=True, exist_ok=True)
    return d


_pg_state: dict = {}


def wait_in_page(page, function: str, *, timeout_s: float = 10.0) -> None:
    """Poll ``function`` (the source of a JavaScript function; it may return a promise) in
    ``page`` until it returns something truthy; fails after ``timeout_s``.

    ``page.evaluate`` runs through DevTools, which the pages' Content-Security-Policy (no
    eval) lets through; Playwright's ``wait_for_function`` compiles its predicate inside the
    page, which that policy refuses now and then (when the page reloads as its service worker
    takes over).  A page being replaced between two polls is polled again."""
    import time

    from playwright.sync_api import Error as PlaywrightError

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if page.evaluate(function):
                return
        except PlaywrightError as e:
            if "context was destroyed" not in str(e) and "navigat" not in str(e):
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_s} s in {page.url}: {function}")
        time.sleep(0.1)


def _pg_database_url() -> str:
    """A database of this test run on the PostgreSQL server, created on first use."""
    if "url" in _pg_state:
        return _pg_state["url"]
    if "error" in _pg_state:
        raise RuntimeError(_pg_state["error"])
    import psycopg

    plain = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    name = f"canteen_t_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        with psycopg.connect(plain, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as e:  # noqa: BLE001 - any failure means "no server here"
        _pg_state["error"] = f"PostgreSQL at {PG_ADMIN_URL.split('@')[-1]} is not reachable: {e.__class__.__name__}"
        raise RuntimeError(_pg_state["error"]) from None
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    _pg_state.update(url=f"{base}/{name}", name=name, plain=plain)
    return _pg_state["url"]


def pg_url_or_skip() -> str:
    try:
        return _pg_database_url()
    except RuntimeError as e:
        if IN_CI:
            pytest.fail(str(e))
        pytest.skip(str(e))


def make_settings(db_url: str, tmp_path: Path, **overrides):
    """Settings from the shipped config.toml with this test's database."""
    from dataclasses import replace

    from pos.config import load_settings

    env = {"CANTEEN_ENV": "development", "DATABASE_URL": db_url}
    settings = load_settings(ROOT / "config.toml", env=env, instance_path=tmp_path / "instance")
    return replace(settings, **overrides) if overrides else settings


def build_app(db_url: str, tmp_path: Path, *, demo: bool = True, settings=None, **config):
    from pos import create_app
    from pos.db import init_schema
    from pos.store.canteens import sync_canteens

    settings = settings or make_settings(db_url, tmp_path)
    app = create_app({"CANTEEN": settings, "TESTING": True, **config})
    db = app.extensions["canteen_db"]
    init_schema(db.engine, force=True)
    with db.transaction() as s:
        sync_canteens(session=s, settings=settings)
    if demo:
        from pos.demo import load_demo

        load_demo(settings, db)
    return app


DEMO_PASSWORD_SUFFIX = "-demo-pass"


def api_token(client, username: str) -> dict:
    """Authorization headers for a demo user (bearer token)."""
    r = client.post("/api/v1/auth/token", json={"username": username, "password": username + DEMO_PASSWORD_SUFFIX})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def cash_sale_body(client, headers: dict) -> dict:
    """The body of a sale of one paid dish (not the welfare meal) for cash at the quoted price."""
    items = client.get("/api/v1/menu", headers=headers).get_json()["items"]
    lines = [{"item_id": next(i for i in items if not i["welfare_meal"])["id"], "qty": 1}]
    quote = client.post("/api/v1/sales/quote", json={"lines": lines}, headers=headers)
    assert quote.status_code == 200, quote.get_json()
    due = quote.get_json()["due_fen"]
    return {"lines": lines, "due_fen": due, "tender": {"method": "cash", "tendered_fen": due}}


def cash_sale(client, headers: dict, key: str, body: dict | None = None):
    """POST a sale (``body``, or :func:`cash_sale_body`'s) with ``key`` as its Idempotency-Key;
    the cashier's shift must be open.  Returns the answer."""
    body = body or cash_sale_body(client, headers)
    return client.post("/api/v1/sales", json=body, headers={**headers, "Idempotency-Key": key})


def browser_login(client, username: str):
    """Sign a test client in through the login form (CSRF disabled in that app)."""
    return client.post("/login", data={"username": username, "password": username + DEMO_PASSWORD_SUFFIX})


# -- demo templates: build the demo canteen once per run and engine, copy it per test ------------

def copy_sqlite(template: Path, target: Path) -> None:
    """A consistent copy of a SQLite database (the backup API, WAL included)."""
    import sqlite3

    src, dst = sqlite3.connect(template), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def app_on(db_url: str, tmp_path: Path, **config):
    """The app on an existing database (no init, no demo)."""
    from pos import create_app

    return create_app({"CANTEEN": make_settings(db_url, tmp_path), "TESTING": True, **config})


@contextmanager
def demo_app(engine: str, demo_templates, tmp_path: Path, **config):
    """The app on a fresh copy of the demo canteen on ``engine`` ("sqlite" or "postgres";
    ``demo_templates`` is the session fixture of tests/conftest.py), its connections closed
    and its PostgreSQL copy dropped afterwards."""
    name = None
    if engine == "sqlite":
        target = tmp_path / "canteen.db"
        copy_sqlite(Path(demo_templates("sqlite")), target)
        app = app_on(f"sqlite:///{target}", tmp_path, **config)
    else:
        url, name = pg_clone(demo_templates("postgres"))
        app = app_on(url, tmp_path, **config)
    try:
        yield app
    finally:
        app.extensions["canteen_db"].dispose()
        if name is not None:
            pg_drop(name)


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(sql)


class _PgCopies:
    """Copies of template databases made ahead and dropped behind, by one background
    thread.  CREATE DATABASE … TEMPLATE and DROP DATABASE each take the server about a
    second (mostly waiting on the disk); made ahead, a PostgreSQL test takes a copy that is
    ready and leaves its drop behind, instead of waiting for both."""

    AHEAD = 2  # copies kept ready for each template in use

    def __init__(self) -> None:
        self.cv = threading.Condition()
        self.ready: dict[str, list[str]] = {}
        self.drops: list[str] = []
        self.count = 0
        self.error: str | None = None
        self.stopping = False
        self.thread: threading.Thread | None = None

    def take(self, template: str) -> str:
        with self.cv:
            self.ready.setdefault(template, [])
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="pg-copies", daemon=True)
                self.thread.start()
            self.cv.notify_all()
            while not self.ready[template]:
                if self.error:
                    raise RuntimeError(self.error)
                self.cv.wait()
            return self.ready[template].pop(0)

    def drop(self, name: str) -> None:
        with self.cv:
            self.drops.append(name)
            self.cv.notify_all()

    def finish(self) -> None:
        """Drop every copy, ready or left behind, and stop the thread (end of the run)."""
        with self.cv:
            self.stopping = True
            for names in self.ready.values():
                self.drops += names
                names.clear()
            self.cv.notify_all()
        if self.thread is not None:
            self.thread.join(120)

    def _short(self) -> str | None:
        return next((t for t, names in self.ready.items() if len(names) < self.AHEAD), None)

    def _run(self) -> None:
        while True:
            with self.cv:
                while not self.drops and (self.stopping or self.error or self._short() is None):
                    if self.stopping:
                        return
                    self.cv.wait()
                template = None if self.stopping or self.error else self._short()
                if template is not None:  # a test may be waiting for it: before the drops
                    self.count += 1
                    name = f"{template}_{self.count}"
                else:
                    name = self.drops.pop(0)
            try:
                if template is not None:
                    _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                else:
                    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as e:  # noqa: BLE001 - handed to the waiting test
                with self.cv:
                    self.error = f"PostgreSQL copy of {template or name} failed: {e}"
                    self.cv.notify_all()
                continue
            with self.cv:
                if template is not None:
                    self.ready[template].append(name)
                    self.cv.notify_all()


_pg_copies = _PgCopies()


def pg_clone(template: str) -> tuple[str, str]:
    """A new PostgreSQL database copied from ``template`` (made ahead: see _PgCopies);
    returns (url, name).  Give it back with :func:`pg_drop`."""
    name = _pg_copies.take(template)
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{name}", name


def pg_drop(name: str) -> None:
    """Drop a database of this run (in the background for copies made by pg_clone)."""
    if name.startswith(_pg_state.get("name", "\0")):
        _pg_copies.drop(name)
    else:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in _pg_state.get("extra", []):
            _pg_state["extra"].remove(name)


def pg_finish() -> None:
    """End of the run: drop the copies (before the templates they were made from)."""
    _pg_copies.finish()


class LiveServer:
    """The app served over real HTTP by waitress (the production server) on a free
    localhost port, in a background thread."""

    def __init__(self, app, threads: int = 8):
        from waitress.server import create_server

        self.server = create_server(app, host="127.0.0.1", port=0, threads=threads, ident="canteen-test")
        self.port = self.server.effective_port
        self.url = f"http://127.0.0.1:{self.port}"
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


class ServedProcesses:
    """``canteen serve --processes N --server S`` in a child process, against an existing
    database: several app server processes on one database, as a district runs them.

    The server and its worker processes run in a process group of their own, and
    :meth:`stop` ends the whole group: stopping only the parent could leave a worker
    serving.  A server a test left running is stopped at the end of the session
    (:func:`stop_served`)."""

    running: set["ServedProcesses"] = set()

    def __init__(self, db_url: str, tmp_path: Path, processes: int = 2, threads: int = 4, server: str = "granian",
                 extra_args: tuple[str, ...] = ()):
        import socket
        import subprocess
        import sys
        import time
        import urllib.request

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = {**os.environ, "CANTEEN_ENV": "development", "DATABASE_URL": db_url,
               "CANTEEN_CONFIG": str(ROOT / "config.toml"), "CANTEEN_INSTANCE": str(tmp_path / "instance")}
        for key in ("CANTEEN_SECRET_KEY", "CANTEEN_ID_KEY", "CANTEEN_NOW"):
            env.pop(key, None)  # the development keys, as the test app uses
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from pos.web.cli import main; main()", "serve", "--port", str(self.port),
             "--processes", str(processes), "--threads", str(threads), "--server", server, *extra_args],
            env=env, cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        ServedProcesses.running.add(self)
        deadline = time.time() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"canteen serve exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.time() > deadline:
                    self.stop()
                    raise RuntimeError("canteen serve did not answer /healthz within 30 s") from None
                time.sleep(0.1)

    def stop(self) -> None:
        ServedProcesses.running.discard(self)
        self._signal_group(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except Exception:  # noqa: BLE001
            self._signal_group(signal.SIGKILL)
            self.proc.wait(10)
        self._signal_group(signal.SIGKILL)  # a worker the server did not take down with it
        if self.proc.stderr is not None:
            self.proc.stderr.close()

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass


def stop_served() -> None:
    """Stop every ``canteen serve`` a test started and did not stop."""
    for served in list(ServedProcesses.running):
        served.stop()


def run_canteen(url: str, tmp_path: Path, *args: str, timeout: float = 60):
    """The real `canteen` command in a child process, on the database at ``url``."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("CANTEEN_") and k != "DATABASE_URL"}
    env.update({"CANTEEN_ENV": "development", "CANTEEN_CONFIG": str(ROOT / "config.toml"), "DATABASE_URL": url,
                "CANTEEN_INSTANCE": str(tmp_path / "instance")})
    return subprocess.run([sys.executable, "-c", "from pos.web.cli import main; main()", *args],
                          capture_output=True, text=True, env=env, timeout=timeout, cwd=tmp_path)


def assert_one_line_refusal(r, *words: str) -> None:
    """Exit status 1 and one line on stderr, saying ``words``, without a traceback."""
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    for word in words:
        assert word in lines[0], lines[0]
