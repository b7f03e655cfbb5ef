"""Shared fixtures: an app with the demo canteen on a fresh database per test, on SQLite
and on PostgreSQL (see tests/support.py for how the PostgreSQL database is made)."""
from __future__ import annotations


import pytest
from hypothesis import settings as hypothesis_settings

# Property tests check what holds, not how fast: on a loaded two-core machine one example
# of a property can take longer than Hypothesis's default 200 ms deadline, which would
# fail a correct test.  Speed is measured by the scripts under bench/.
hypothesis_settings.register_profile("canteen", deadline=None)
hypothesis_settings.load_profile("canteen")

from support import _pg_state, build_app, demo_app, pg_finish, pg_url_or_skip, stop_served


def pytest_sessionfinish(session, exitstatus):
    import psycopg

    stop_served()
    pg_finish()

    names = list(_pg_state.get("extra", [])) + [_pg_state[k] for k in ("template", "name") if k in _pg_state]
    for name in names:
        try:
            with psycopg.connect(_pg_state["plain"], autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
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


@pytest.fixture(scope="session")
def demo_templates(tmp_path_factory):
    """The demo canteen (staff, menu, diners, vouchers, a week of history), built once per
    run and engine; each test gets its own copy, so loading it costs a copy, not seconds."""
    made: dict[str, str] = {}

    def template(engine: str) -> str:
        if engine in made:
            return made[engine]
        tmp = tmp_path_factory.mktemp(f"demo-{engine}")
        if engine == "sqlite":
            url = f"sqlite:///{tmp / 'demo.db'}"
        else:
            base = pg_url_or_skip()
            name = f"{_pg_state['name']}_demo"
            from support import _pg_admin

            _pg_admin(f'CREATE DATABASE "{name}"')
            _pg_state["template"] = name
            url = f"{base.rpartition('/')[0]}/{name}"
        app = build_app(url, tmp)
        app.extensions["canteen_db"].dispose()
        made[engine] = str(tmp / "demo.db") if engine == "sqlite" else _pg_state["template"]
        return made[engine]

    return template


@pytest.fixture(params=["sqlite", "postgres"])
def app(request, tmp_path, demo_templates):
    """The app with the demo canteen loaded, on SQLite and on PostgreSQL (a fresh copy)."""
    with demo_app(request.param, demo_templates, tmp_path) as app:
        yield app


@pytest.fixture
def sqlite_app(tmp_path, demo_templates):
    with demo_app("sqlite", demo_templates, tmp_path) as app:
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


