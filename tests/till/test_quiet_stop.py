"""Stopping `canteen serve` in the lunch rush: SIGTERM (what systemd, Docker and `kill` send)
and Ctrl-C end every server process quietly, after the sales in flight are answered.

Four tills sell as fast as they can over keep-alive connections; the server is told to stop
in the middle.  Every sale a till got an answer for is in the database, and every sale in the
database was answered to its till (none recorded and left unanswered).  The server's output
holds no traceback and no restart message, and it exits with status 0.
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from support import ServedProcesses, api_token

TILLS = 4


#: How often the signal reaches every process of the server in the ``group`` cases, and the gap.
GROUP_SIGNALS, GROUP_GAP_S = 40, 0.0005


@pytest.mark.parametrize("server,processes,stop_signal,to", [
    ("granian", 2, signal.SIGTERM, "first"),
    ("granian", 1, signal.SIGINT, "first"),
    ("granian", 2, signal.SIGTERM, "group"),
    ("granian", 2, signal.SIGINT, "group"),
    ("waitress", 1, signal.SIGTERM, "first"),
    ("waitress", 2, signal.SIGTERM, "first"),
    ("waitress", 1, signal.SIGINT, "first"),
    ("waitress", 2, signal.SIGINT, "group"),
])
def test_stop_during_a_burst_of_sales(sqlite_app, tmp_path, server, processes, stop_signal, to):
    app = sqlite_app
    client = app.test_client()
    headers = api_token(client, "cashier")
    assert client.post("/api/v1/shifts", json={"opening_float_fen": 0}, headers=headers).status_code == 201
    menu = client.get("/api/v1/menu", headers=headers).get_json()["items"]
    item = next(i for i in menu if not i["welfare_meal"])
    lines = [{"item_id": item["id"], "qty": 1}]

    served = ServedProcesses(app.config["CANTEEN"].database_url, tmp_path, processes=processes, server=server)
    answered: dict[str, str] = {}  # tender reference -> sale id, for every 201
    errors: list[str] = []
    lock = threading.Lock()
    go, enough = threading.Event(), threading.Event()

    def till(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
        go.wait()
        i = 0
        while True:
            ref = f"till{n}-{i}"
            i += 1
            body = {"lines": lines, "due_fen": item["price_fen"], "tender": {"method": "wechat", "reference": ref}}
            try:
                conn.request("POST", "/api/v1/sales", body=json.dumps(body),
                             headers={**headers, "Content-Type": "application/json",
                                      "Idempotency-Key": str(uuid.uuid4())})
                r = conn.getresponse()
                raw = r.read()
            except (OSError, http.client.HTTPException):
                return  # the server has gone: this till stops (its last sale had no answer)
            with lock:
                if r.status == 201:
                    answered[ref] = json.loads(raw)["id"]
                    if len(answered) >= 40:
                        enough.set()
                else:
                    errors.append(f"{r.status} {raw[:200]!r}")
            if r.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)

    threads = [threading.Thread(target=till, args=(n,)) for n in range(TILLS)]
    for t in threads:
        t.start()
    go.set()
    assert enough.wait(60), f"the tills sold {len(answered)} meals in 60 s: {errors[:3]}"
    if to == "first":
        served.proc.send_signal(stop_signal)
    else:
        for _ in range(GROUP_SIGNALS):
            try:
                os.killpg(served.proc.pid, stop_signal)
            except ProcessLookupError:
                break  # every process has already gone
            time.sleep(GROUP_GAP_S)
    try:
        rc = served.proc.wait(30)
        stderr = served.proc.stderr.read().decode("utf-8", "replace")
    finally:
        served.stop()
    for t in threads:
        t.join(30)
        assert not t.is_alive(), "a till still waits for an answer after the server stopped"

    assert rc == 0, f"canteen serve exited with {rc}: {stderr[-2000:]}"
    assert "Traceback" not in stderr and "Error" not in stderr, stderr[-3000:]
    assert "starting it again" not in stderr, stderr[-2000:]
    assert not errors, errors[:5]

    engine = create_engine(app.config["CANTEEN"].database_url, poolclass=NullPool)
    with engine.connect() as c:
        recorded = dict(c.execute(text("SELECT tender_reference, id FROM sales WHERE tender_reference LIKE 'till%'")).all())
    engine.dispose()
    assert set(answered) <= set(recorded), "an answered sale is missing from the database"
    assert all(recorded[ref] == sale_id for ref, sale_id in answered.items())
    unanswered = set(recorded) - set(answered)
    assert not unanswered, f"sales recorded but never answered to their till: {sorted(unanswered)}"
    assert len(recorded) >= 40


@pytest.mark.parametrize("server", ["granian", "waitress"])
def test_a_second_server_on_a_busy_port_stops_with_one_line(sqlite_app, tmp_path, server):
    """A second `canteen serve` on the port the first listens on exits with status 2 and one
    line saying so, instead of starting and taking a share of the tills."""
    import subprocess
    import sys

    from support import ROOT

    first = ServedProcesses(sqlite_app.config["CANTEEN"].database_url, tmp_path, processes=2, server="granian")
    try:
        env = {**os.environ, "CANTEEN_ENV": "development", "CANTEEN_CONFIG": str(ROOT / "config.toml"),
               "DATABASE_URL": sqlite_app.config["CANTEEN"].database_url}
        second = subprocess.run([sys.executable, "-c", "from pos.web.cli import main; main()", "serve", "--port",
                                 str(first.port), "--server", server], env=env, cwd=ROOT, capture_output=True,
                                text=True, timeout=60)
        assert second.returncode == 2, second.stdout + second.stderr
        assert second.stderr.strip().splitlines() == [
            f"canteen serve: 127.0.0.1 port {first.port} is already in use (another canteen serve, or another "
            "program, listens there); stop that one or choose another --port"]
        assert "serving the till" not in second.stdout
        assert first.proc.poll() is None  # the first one goes on serving
    finally:
        first.stop()


@pytest.mark.parametrize("server", ["granian", "waitress"])
def test_a_till_gone_quiet_in_the_middle_of_a_request_does_not_hold_the_stop(sqlite_app, tmp_path, server):
    """Tills whose Wi-Fi dropped half-way through sending a sale keep their connections open
    with half a request: the stop answers what it can for at most DRAIN_SECONDS, then every
    process ends with status 0 (granian alone would wait for those connections for ever)."""
    import socket

    from pos.web.serving import DRAIN_SECONDS

    served = ServedProcesses(sqlite_app.config["CANTEEN"].database_url, tmp_path, processes=2, server=server)
    quiet = []
    try:
        for _ in range(4):
            conn = socket.create_connection(("127.0.0.1", served.port))
            conn.sendall(b"POST /api/v1/sales HTTP/1.1\r\nHost: till\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 200\r\n\r\n{\"lines\": [")
            quiet.append(conn)
        time.sleep(0.5)  # the server has read what was sent
        began = time.monotonic()
        served.proc.send_signal(signal.SIGTERM)
        rc = served.proc.wait(DRAIN_SECONDS + 20)
        took = time.monotonic() - began
        stderr = served.proc.stderr.read().decode("utf-8", "replace")
    finally:
        served.stop()
        for conn in quiet:
            conn.close()
    assert rc == 0, stderr[-2000:]
    assert took < DRAIN_SECONDS + 5, f"the stop took {took:.1f} s"
    assert "Traceback" not in stderr, stderr[-2000:]
