"""When the database cannot be written — a full disk, a read-only file or folder, a server
that cannot be reached — sales and sign-in answer 503 with a message a person can act on
(and Retry-After), nothing is half-written, /healthz says so, `canteen serve` refuses to
start in one line, and selling resumes once the disk is mended.

The SQLite cases use a real small disk: a tmpfs of a few MB (mounting needs root; without it
they skip, or fail on CI), filled with a file until the kernel says ENOSPC, and a read-only
bind mount of it (chmod does not stop root).
"""
from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from support import (IN_CI, ROOT, api_token, app_on, cash_sale, cash_sale_body, copy_sqlite, pg_clone, pg_drop,
                     _pg_admin)

STORAGE_ZH = "数据库无法写入：磁盘已满或只读"
STORAGE_EN = "the database cannot be written: the disk is full or read-only"
# What a sale writes, and the ledger's head: the same before and after a refused sale.
WRITTEN = ("sales", "sale_lines", "subsidy_grants", "sale_decisions", "free_meal_counters", "idempotency_keys",
           "audit_log", "api_tokens")


def _mount(*args: str) -> None:
    r = subprocess.run(["mount", *args], capture_output=True, text=True)
    if r.returncode != 0:
        msg = f"cannot mount a small test disk (mount {' '.join(args)}: {r.stderr.strip()}); needs root"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of 8 MB holding a copy of the demo canteen's SQLite database."""
    if os.geteuid() != 0:
        msg = "mounting a small test disk needs root"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    disk = tmp_path / "disk"
    disk.mkdir()
    _mount("-t", "tmpfs", "-o", "size=8m,mode=0755", "tmpfs", str(disk))
    yield disk
    _umount(disk)


@pytest.fixture
def read_only_view(small_disk, tmp_path):
    """The small disk again, mounted read-only at another folder."""
    view = tmp_path / "read-only"
    view.mkdir()
    _mount("--bind", str(small_disk), str(view))
    try:
        _mount("-o", "remount,bind,ro", str(view))
    except BaseException:
        _umount(view)
        raise
    yield view
    _umount(view)


def _demo_on(folder: Path, tmp_path: Path, demo_templates, **config):
    target = folder / "canteen.db"
    if not target.exists():
        copy_sqlite(Path(demo_templates("sqlite")), target)
    return app_on(f"sqlite:///{target}", tmp_path, **config)


def _fill(disk: Path) -> Path:
    """Write a file on ``disk`` until the kernel refuses with ENOSPC."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as f:  # unbuffered: nothing left to write at close
        try:
            while True:
                f.write(b"\0" * (64 * 1024))
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
    return filler


def _counts(app) -> dict[str, int]:
    with app.extensions["canteen_db"].session() as s:
        out = {t: s.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar() for t in WRITTEN}
        out["chain_seq"] = s.execute(text("SELECT SUM(chain_seq) FROM canteens")).scalar()
    return out


def _assert_storage_refusal(r, *, code: str = "storage_unavailable") -> None:
    assert r.status_code == 503, r.get_data(as_text=True)
    error = r.get_json()["error"]
    assert error["code"] == code
    if code == "storage_unavailable":
        assert (error["message_zh"], error["message_en"]) == (STORAGE_ZH, STORAGE_EN)
    assert int(r.headers["Retry-After"]) > 0


def _verify(app) -> None:
    from pos.web.cli import cli

    r = app.test_cli_runner().invoke(cli, args=["verify"])
    assert r.exit_code == 0 and "ledger intact" in r.output, r.output


def _sale_count(app, key: str) -> int:
    with app.extensions["canteen_db"].session() as s:
        return s.execute(text("SELECT COUNT(*) FROM idempotency_keys WHERE key = :k"), {"k": key}).scalar()


# -- SQLite: a full disk ----------------------------------------------------------------------------

def test_a_full_disk_refuses_sales_and_sign_in_with_503_and_selling_resumes_when_space_returns(
        small_disk, tmp_path, demo_templates):
    app = _demo_on(small_disk, tmp_path, demo_templates, WTF_CSRF_ENABLED=False)
    client = app.test_client()
    try:
        h = api_token(client, "cashier")
        assert client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=h).status_code == 201
        body = cash_sale_body(client, h)
        assert cash_sale(client, h, str(uuid.uuid4()), body).status_code == 201
        assert client.get("/healthz").status_code == 200
        before = _counts(app)

        filler = _fill(small_disk)
        key = str(uuid.uuid4())
        _assert_storage_refusal(cash_sale(client, h, key, body))
        _assert_storage_refusal(client.post("/api/v1/auth/token",
                                            json={"username": "cashier", "password": "cashier-demo-pass"}))
        page = app.test_client().post("/login", data={"username": "cashier", "password": "cashier-demo-pass"})
        assert page.status_code == 503 and STORAGE_ZH in page.get_data(as_text=True)
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.get_json() == {"ok": False, "code": "storage_unavailable", "reason": STORAGE_EN,
                                     "reason_zh": STORAGE_ZH}
        # Nothing of the refused sale or sign-ins was written, and the ledger still verifies.
        assert _counts(app) == before
        _verify(app)

        filler.unlink()
        again = cash_sale(client, h, key, body)
        assert again.status_code == 201, again.get_json()
        replay = cash_sale(client, h, key, body)
        assert replay.get_json()["id"] == again.get_json()["id"]
        assert _sale_count(app, key) == 1
        assert _counts(app)["sales"] == before["sales"] + 1
        assert client.get("/healthz").status_code == 200
        _verify(app)
    finally:
        app.extensions["canteen_db"].dispose()


# -- SQLite: a read-only database ---------------------------------------------------------------------

def test_a_read_only_database_refuses_sales_and_sign_in_with_503(small_disk, read_only_view, tmp_path,
                                                                 demo_templates):
    writable = _demo_on(small_disk, tmp_path, demo_templates)
    client = writable.test_client()
    h = api_token(client, "cashier")
    assert client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=h).status_code == 201
    body = cash_sale_body(client, h)
    before = _counts(writable)
    writable.extensions["canteen_db"].dispose()

    read_only = app_on(f"sqlite:///{read_only_view / 'canteen.db'}", tmp_path, WTF_CSRF_ENABLED=False)
    ro = read_only.test_client()
    try:
        key = str(uuid.uuid4())
        _assert_storage_refusal(cash_sale(ro, h, key, body))
        _assert_storage_refusal(ro.post("/api/v1/auth/token",
                                        json={"username": "cashier", "password": "cashier-demo-pass"}))
        page = read_only.test_client().post("/login", data={"username": "cashier", "password": "cashier-demo-pass"})
        assert page.status_code == 503 and STORAGE_ZH in page.get_data(as_text=True)
        health = ro.get("/healthz")
        assert health.status_code == 503 and health.get_json()["code"] == "storage_unavailable"
    finally:
        read_only.extensions["canteen_db"].dispose()

    assert _counts(writable) == before
    assert cash_sale(client, h, key, body).status_code == 201
    assert _sale_count(writable, key) == 1
    writable.extensions["canteen_db"].dispose()


def test_canteen_serve_refuses_a_read_only_database_in_one_line(small_disk, read_only_view, tmp_path,
                                                                demo_templates):
    _demo_on(small_disk, tmp_path, demo_templates).extensions["canteen_db"].dispose()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANTEEN_")}
    env.update(CANTEEN_ENV="development", CANTEEN_CONFIG=str(ROOT / "config.toml"),
               CANTEEN_INSTANCE=str(tmp_path / "instance"), DATABASE_URL=f"sqlite:///{read_only_view / 'canteen.db'}")
    r = subprocess.run([sys.executable, "-c", "from pos.web.cli import main; main()", "serve", "--port", str(port),
                        "--processes", "1"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("canteen serve: " + STORAGE_EN), r.stderr
    assert str(read_only_view / "canteen.db") in lines[0]


# -- PostgreSQL: read-only, disk full, unreachable -----------------------------------------------------

@pytest.fixture
def pg_demo(tmp_path, demo_templates):
    """(app, database name): the demo canteen on a fresh PostgreSQL database."""
    url, name = pg_clone(demo_templates("postgres"))
    app = app_on(url, tmp_path, WTF_CSRF_ENABLED=False)
    yield app, name
    app.extensions["canteen_db"].dispose()
    pg_drop(name)


def test_a_read_only_postgresql_database_refuses_sales_and_sign_in_with_503(pg_demo):
    app, name = pg_demo
    client = app.test_client()
    h = api_token(client, "cashier")
    assert client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=h).status_code == 201
    body = cash_sale_body(client, h)
    before = _counts(app)
    db = app.extensions["canteen_db"]
    _pg_admin(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    db.dispose()  # new connections are read-only
    try:
        key = str(uuid.uuid4())
        _assert_storage_refusal(cash_sale(client, h, key, body))
        _assert_storage_refusal(client.post("/api/v1/auth/token",
                                            json={"username": "cashier", "password": "cashier-demo-pass"}))
        page = app.test_client().post("/login", data={"username": "cashier", "password": "cashier-demo-pass"})
        assert page.status_code == 503 and STORAGE_ZH in page.get_data(as_text=True)
        health = client.get("/healthz")
        assert health.status_code == 503 and health.get_json()["code"] == "storage_unavailable"
        assert _counts(app) == before
    finally:
        _pg_admin(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
        db.dispose()
    assert cash_sale(client, h, key, body).status_code == 201
    assert _sale_count(app, key) == 1


def test_a_full_postgresql_disk_in_the_middle_of_a_sale_leaves_nothing_half_written(pg_demo):
    """The server refuses the sale's last row (its audit entry) with disk_full (SQLSTATE
    53100), as PostgreSQL does when it cannot extend a file: the sale, its lines, its
    grant, its key and the ledger head written before it all roll back."""
    app, _ = pg_demo
    client = app.test_client()
    h = api_token(client, "cashier")
    assert client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=h).status_code == 201
    body = cash_sale_body(client, h)
    before = _counts(app)
    db = app.extensions["canteen_db"]
    with db.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$")
        conn.exec_driver_sql("CREATE TRIGGER disk_full BEFORE INSERT ON audit_log FOR EACH ROW "
                             "WHEN (NEW.action = 'sale_recorded') EXECUTE FUNCTION disk_full()")
    key = str(uuid.uuid4())
    _assert_storage_refusal(cash_sale(client, h, key, body))
    assert client.get("/healthz").get_json()["code"] == "storage_unavailable"  # the failed write is remembered
    assert _counts(app) == before
    _verify(app)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER disk_full ON audit_log")
    assert cash_sale(client, h, key, body).status_code == 201
    assert _counts(app)["sales"] == before["sales"] + 1
    assert client.get("/healthz").status_code == 200  # a write committed since
    _verify(app)


def test_a_postgresql_server_that_cannot_be_reached_answers_503(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there
    app = app_on(f"postgresql+psycopg://postgres@127.0.0.1:{port}/canteen", tmp_path)
    client = app.test_client()
    try:
        r = client.post("/api/v1/auth/token", json={"username": "cashier", "password": "cashier-demo-pass"})
        _assert_storage_refusal(r, code="database_unavailable")
        assert r.get_json()["error"]["message_zh"] == "数据库暂时无法连接，请稍后重试"
        health = client.get("/healthz")
        assert health.status_code == 503 and health.get_json()["code"] == "database_unavailable"
        # A page that reads outside a transaction of pos.db (a diner opening a voucher) too.
        from pos.ids import new_id
        from pos.store.tokens import voucher_token

        page = client.get("/v/" + voucher_token(app.config["CANTEEN"].secret_key, new_id(), 1))
        assert page.status_code == 503 and "数据库暂时无法连接" in page.get_data(as_text=True)
        assert page.headers["Retry-After"] == "10"
    finally:
        app.extensions["canteen_db"].dispose()
