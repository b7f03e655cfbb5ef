"""Till fixtures: a cashier with an open shift, registered workers and seniors, and the
app served over real HTTP by waitress (the production WSGI server) in a thread."""
from __future__ import annotations

import json
import uuid
from contextlib import contextmanager
from datetime import date, timedelta

import pytest

from support import LiveServer, api_token


class Till:
    """A scripted cashier talking to the API through the Flask test client."""

    def __init__(self, app, client, username: str = "cashier"):
        self.app, self.client, self.username = app, client, username
        self.headers = api_token(client, username)
        self.menu = client.get("/api/v1/menu", headers=self.headers).get_json()["items"]

    def item(self, *, welfare: bool | None = None, name: str | None = None) -> dict:
        for item in self.menu:
            if (welfare is None or item["welfare_meal"] == welfare) and (name is None or item["name"] == name):
                return item
        raise LookupError(name or welfare)

    @property
    def welfare(self) -> dict:
        return self.item(welfare=True)

    def open_shift(self, float_fen: int = 20000) -> dict:
        r = self.client.post("/api/v1/shifts", json={"opening_float_fen": float_fen}, headers=self.headers)
        assert r.status_code == 201, r.get_json()
        return r.get_json()

    def quote(self, lines, credential=None):
        body = {"lines": lines}
        if credential is not None:
            body["credential"] = credential
        return self.client.post("/api/v1/sales/quote", json=body, headers=self.headers)

    def sell(self, lines, credential=None, *, due_fen=None, tender=None, key=None):
        if due_fen is None:
            q = self.quote(lines, credential)
            assert q.status_code == 200, q.get_json()
            due_fen = q.get_json()["due_fen"]
        if tender is None:
            tender = {"method": "free"} if due_fen == 0 else {"method": "cash", "tendered_fen": due_fen}
        body = {"lines": lines, "due_fen": due_fen, "tender": tender}
        if credential is not None:
            body["credential"] = credential
        return self.client.post("/api/v1/sales", json=body,
                                headers={**self.headers, "Idempotency-Key": key or str(uuid.uuid4())})


@pytest.fixture
def till(app, client):
    """The demo cashier of YLW01, signed in with a bearer token, shift open."""
    t = Till(app, client)
    t.open_shift()
    return t


def resident_id(region: str, birth: date, seq: int) -> str:
    """A valid resident ID number (correct check character) for tests."""
    from subsidies.resident_id import check_character

    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)


def register(app, *, n: int, years: int, worker_category: str | None, resident: bool = True,
             seq_base: int = 500) -> list[str]:
    """Register ``n`` diners ``years`` old today; returns their resident ID numbers."""
    from pos.clock import business_date
    from pos.models import StaffUser
    from pos.store.diners import register_diner
    from sqlmodel import select

    settings = app.config["CANTEEN"]
    db = app.extensions["canteen_db"]
    today = business_date(settings.default_canteen.timezone)
    numbers = []
    with db.transaction() as s:
        staff_id = s.exec(select(StaffUser.id).where(StaffUser.username == "registrar")).one()
        for i in range(n):
            birth = date(today.year - years, 1, 1) + timedelta(days=i)
            number = resident_id("330211", birth, seq_base + i)
            register_diner(session=s, id_key=settings.id_key, staff_id=staff_id, community="云鹭湾社区",
                           name=f"测试{i}", id_number=number, resident=resident, today=today,
                           worker_category=worker_category, worker_proof="工作证" if worker_category else "")
            numbers.append(number)
    return numbers


@pytest.fixture
def workers(app):
    """60 verified outdoor workers (delivery riders), by resident ID number."""
    return register(app, n=60, years=35, worker_category="delivery_rider")


@pytest.fixture
def seniors(app):
    """10 registered residents aged 70 (the 60+ tier: ¥3.00 off)."""
    return register(app, n=10, years=70, worker_category=None, seq_base=800)


@pytest.fixture
def live(app):
    server = LiveServer(app)
    yield server
    server.stop()


class Http:
    """A tiny HTTP/1.1 JSON client (one keep-alive connection per thread)."""

    def __init__(self, port: int, headers: dict):
        import http.client

        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Content-Type": "application/json", **headers}

    def call(self, method: str, path: str, body=None, headers=None) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        self.conn.request(method, path, body=data, headers={**self.headers, **(headers or {})})
        r = self.conn.getresponse()
        return r.status, r.read()

    def close(self):
        self.conn.close()


@contextmanager
def _clients(port: int):
    """``make(headers)`` opens a keep-alive client to ``port``; all are closed after."""
    made: list[Http] = []

    def make(headers: dict) -> Http:
        made.append(Http(port, headers))
        return made[-1]

    try:
        yield make
    finally:
        for h in made:
            h.close()


@pytest.fixture
def http(live):
    """Make a keep-alive HTTP client to the live server: ``http(headers)``."""
    with _clients(live.port) as make:
        yield make


@pytest.fixture(params=["granian", "waitress"])
def served_http(request, app, tmp_path):
    """Like ``http``, against `canteen serve --processes 2` (child processes) on this
    test's database, with each of the two servers it offers."""
    from support import ServedProcesses

    served = ServedProcesses(app.config["CANTEEN"].database_url, tmp_path, processes=2, server=request.param)
    try:
        with _clients(served.port) as make:
            yield make
    finally:
        served.stop()


def issue_voucher(app, number: str) -> str:
    """Issue a voucher to the registered diner with this resident ID; returns its URL (what a scan types)."""
    from pos.clock import business_date
    from pos.models import Diner, StaffUser
    from pos.store import vouchers
    from sqlmodel import select
    from subsidies.resident_id import pseudonym

    settings = app.config["CANTEEN"]
    with app.extensions["canteen_db"].transaction() as s:
        diner_id = s.exec(select(Diner.id).where(Diner.id_hmac == pseudonym(settings.id_key, number))).one()
        staff_id = s.exec(select(StaffUser.id).where(StaffUser.username == "registrar")).one()
        issued = vouchers.issue_voucher(session=s, settings=settings, diner_id=diner_id, staff_id=staff_id,
                                        today=business_date(settings.default_canteen.timezone))
        return issued.url


@pytest.fixture
def voucher_for(app):
    return lambda number: issue_voucher(app, number)
