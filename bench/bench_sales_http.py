"""Sales over real HTTP: the till API served by `canteen serve`, on SQLite or PostgreSQL.

    .venv/bin/python bench/bench_sales_http.py [--sales 3000] [--clients 1,8] [--processes 1,2]
                                               [--server granian,waitress] [--threads N]
                                               [--keepalive-requests N]
    .venv/bin/python bench/bench_sales_http.py --engine postgresql [--sales 3000] [--clients 16]

Builds a fresh database with the demo canteen, registers one senior per sale (so every
sale carries a subsidy grant, the heaviest common sale: a resident ID lookup, an age
discount and a grant under the one-a-day constraint), starts `canteen serve` and drives
it with concurrent clients (threads, one keep-alive HTTP connection each, opened again
when the server ends it, as a browser does).  Each sale is a POST /api/v1/sales with two
lines, a credential, cash and its own Idempotency-Key.  Reports sales/s, p50/p99 latency
and the CPU spent per sale, beside a raw baseline measured in the same run.

SQLite (default): the default configuration — the plain recorder (one write transaction
per sale) with the SQLite writer lock — and, beside it, the plain recorder without the
lock (`canteen serve --no-writer-lock`), the one piece of machinery left, so the table
shows whether it earns its place.  Raw baseline: `sqlite3` inserts of the same rows
(sale + lines + grant, one transaction per sale) with the same durability settings (WAL,
synchronous=FULL).  Target: >= 500 sales/s and p99 <= 25 ms at 8 clients.

PostgreSQL (`--engine postgresql`, server from --pg-url): two `canteen serve` on two
ports against one database, as a district runs several stateless app servers, with the
clients split between them; the two share this machine's cores (one process per core
between them, unless --processes says otherwise).  Prints sales/s, p50/p99, the statements and prepares each
sale sends (counted by relaying a short run through a PostgreSQL protocol counter), the
CPU per sale of the app servers and of the database, and the raw psycopg baseline:
inserts of the same rows, one transaction per sale on one connection.  (No machinery is
left on PostgreSQL to print beside the plain recorder.)  Target:
>= 400 sales/s and p99 <= 100 ms at 16 clients.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_URL = os.environ.get("CANTEEN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


REGIONS = ("330211", "330212", "310101", "320102", "340102", "350102", "360102", "370102")


def prepare(tmp: Path, seniors: int, database_url: str | None = None) -> tuple[dict, list[str]]:
    """A fresh database (a SQLite file in ``tmp``, or ``database_url``) with the demo canteen
    and ``seniors`` registered residents aged 70."""
    os.environ.update(CANTEEN_ENV="development", CANTEEN_CONFIG=str(ROOT / "config.toml"),
                      DATABASE_URL=database_url or f"sqlite:///{tmp / 'canteen.db'}",
                      CANTEEN_INSTANCE=str(tmp / "instance"))
    from sqlmodel import select

    from pos import create_app
    from pos.clock import business_date
    from pos.db import init_schema
    from pos.demo import load_demo
    from pos.models import StaffUser
    from pos.store.canteens import sync_canteens
    from pos.store.diners import register_diner
    from subsidies.resident_id import check_character

    app = create_app()
    settings, db = app.config["CANTEEN"], app.extensions["canteen_db"]
    init_schema(db.engine, force=True)
    with db.transaction() as s:
        sync_canteens(session=s, settings=settings)
    load_demo(settings, db)
    today = business_date(settings.default_canteen.timezone)
    numbers = []
    with db.transaction() as s:
        registrar = s.exec(select(StaffUser.id).where(StaffUser.username == "registrar")).one()
        for i in range(seniors):
            birth = date(today.year - 70, 1, 1) + timedelta(days=i % 360)
            # (birthday, sequence) repeats only every 9,000 residents; then the next region
            first17 = f"{REGIONS[i // 9000 % len(REGIONS)]}{birth:%Y%m%d}{i % 1000:03d}"
            number = first17 + check_character(first17)
            register_diner(session=s, id_key=settings.id_key, staff_id=registrar, community="云鹭湾社区",
                           name=f"长者{i}", id_number=number, resident=True, today=today)
            numbers.append(number)
    db.dispose()
    return dict(os.environ), numbers


class Client:
    """One keep-alive HTTP/1.1 connection, kept lean so the measuring side of this 2-core
    machine takes as little CPU as it can from the server (http.client parses every
    response's headers with the email package).  Answers must carry Content-Length, as
    the app's JSON answers do.  After an answer with ``Connection: close`` the next
    request goes out on a new connection (``reconnects`` counts them)."""

    def __init__(self, port: int, token: str):
        self.port, self.sock, self.reconnects = port, None, -1
        self._connect()
        self.headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def _connect(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf, self.closing = b"", False
        self.reconnects += 1

    def _exchange(self, method: str, path: str, body: bytes, headers: dict) -> tuple[int, dict]:
        if self.closing:  # the server ended the keep-alive connection with its last answer
            self._connect()
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self.buf += chunk
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        found = _CONTENT_LENGTH.search(head)
        if found is None:
            raise ValueError(f"answer without Content-Length: {head[:200]!r}")
        length = int(found.group(1))
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            rest += chunk
        self.buf = rest[length:]
        self.closing = _CONNECTION_CLOSE.search(head) is not None
        return int(head[9:12]), json.loads(rest[:length])

    def post(self, path: str, body: dict, headers: dict | None = None) -> tuple[int, dict]:
        return self._exchange("POST", path, json.dumps(body).encode(), {**self.headers, **(headers or {})})

    def get(self, path: str) -> tuple[int, dict]:
        return self._exchange("GET", path, b"", self.headers)


_CONTENT_LENGTH = re.compile(rb"(?im)^content-length:\s*(\d+)")
_CONNECTION_CLOSE = re.compile(rb"(?im)^connection:\s*close")


def wait_up(port: int, proc: subprocess.Popen) -> None:
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"canteen serve exited with {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("canteen serve did not start")


def _process_tree(pid: int) -> list[int]:
    """``pid`` and every process under it (children of any of its threads)."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
        children = [int(c) for t in tasks for c in Path(f"/proc/{pid}/task/{t}/children").read_text().split()]
    except OSError:
        return [pid]
    return [pid] + [p for child in children for p in _process_tree(child)]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and every process under it (Linux
    /proc), or 0 where unavailable."""
    total = 0.0
    for p in _process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def connections_per_process(server_pid: int, port: int, client_ports: set[int]) -> str:
    """How the clients' connections are spread over the server's processes, busiest first
    ("5+3"): each keep-alive connection stays with the worker process that accepted it
    (the kernel picks one per connection), and one process runs Python on one core at a
    time.  Linux /proc; "n/a" elsewhere."""
    owner = {}
    try:
        for pid in _process_tree(server_pid):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if link.startswith("socket:["):
                    owner[int(link[8:-1])] = pid
        counts: dict[int, int] = {}
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            f = line.split()
            local_port, remote_port, inode = int(f[1].split(":")[1], 16), int(f[2].split(":")[1], 16), int(f[9])
            if local_port == port and remote_port in client_ports and inode in owner:
                counts[owner[inode]] = counts.get(owner[inode], 0) + 1
    except OSError:
        return "n/a"
    return "+".join(str(n) for n in sorted(counts.values(), reverse=True)) or "n/a"


def open_till(call, id_number: str) -> tuple[str, list[dict], int]:
    """Sign in the demo cashier, open a shift, and quote the benchmark's sale (set meal +
    rice for a senior: ¥3.00 off); returns (token, lines, due_fen).  ``call(method, path,
    body, token)`` answers the JSON body."""
    token = call("POST", "/api/v1/auth/token", {"username": "cashier", "password": "cashier-demo-pass"}, "")["token"]
    call("POST", "/api/v1/shifts", {"opening_float_fen": 20000}, token)
    by_name = {i["name"]: i for i in call("GET", "/api/v1/menu", None, token)["items"]}
    lines = [{"item_id": by_name["荤素套餐"]["id"], "qty": 1}, {"item_id": by_name["米饭"]["id"], "qty": 1}]
    q = call("POST", "/api/v1/sales/quote", {"lines": lines, "credential": {"id_number": id_number}}, token)
    if q.get("subsidy_fen") != 300:
        raise SystemExit(f"the benchmark's sale is not quoted as expected: {q}")
    return token, lines, q["due_fen"]


def run_level(ports: list[int], token: str, lines: list, due_fen: int, numbers: list[str], clients: int,
              server_pids: list[int] = (), also_cpu=lambda: 0.0) -> dict:
    """Sell one sale per senior in ``numbers`` over ``clients`` concurrent connections,
    client i talking to ``ports[i % len(ports)]``.  ``also_cpu()`` adds CPU seconds spent
    elsewhere (the database server's)."""
    conns = [Client(ports[i % len(ports)], token) for i in range(clients)]
    for c in conns:  # each connection accepted by a server process before the clock starts
        c.get("/healthz")
        if c.closing:
            c._connect()
        c.reconnects = 0
    spread = " / ".join(connections_per_process(pid, port, {c.sock.getsockname()[1] for c in conns if c.port == port})
                        for pid, port in zip(server_pids, ports))
    latencies: list[float] = []
    errors: list[tuple[int, dict]] = []
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def lane(i: int):
        c = conns[i]
        mine = numbers[i::clients]
        local, bad = [], []
        start.wait()
        for number in mine:
            body = {"lines": lines, "credential": {"id_number": number}, "due_fen": due_fen,
                    "tender": {"method": "cash", "tendered_fen": due_fen + 500}}
            t0 = time.perf_counter()
            status, answer = c.post("/api/v1/sales", body, {"Idempotency-Key": uuid.uuid4().hex})
            local.append(time.perf_counter() - t0)
            if status != 201:
                bad.append((status, answer))
        with lock:
            latencies.extend(local)
            errors.extend(bad)

    threads = [threading.Thread(target=lane, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    cpu0 = sum(cpu_seconds(pid) for pid in server_pids)
    other0 = also_cpu()
    client0 = time.process_time()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    server_cpu = sum(cpu_seconds(pid) for pid in server_pids) - cpu0
    other_cpu = also_cpu() - other0
    client_cpu = time.process_time() - client0
    for c in conns:
        c.sock.close()
    latencies.sort()
    n = max(len(latencies), 1)
    return {"clients": clients, "sales": len(latencies), "errors": len(errors), "first_error": errors[:1],
            "per_s": len(latencies) / elapsed, "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
            "server_cpu_ms": server_cpu * 1000 / n, "db_cpu_ms": other_cpu * 1000 / n,
            "client_cpu_ms": client_cpu * 1000 / n, "spread": spread,
            "reconnects": sum(c.reconnects for c in conns)}


def raw_sqlite(tmp: Path, n: int) -> float:
    """Raw sqlite3: the same rows (sale, 2 lines, grant) with the app's durability
    settings, one transaction per sale; returns sales/s."""
    from pos.db import schema_statements

    path = tmp / "raw.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    for stmt in schema_statements():
        conn.execute(stmt)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    ts = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    conn.execute("INSERT INTO canteens (id, name, community, timezone) VALUES ('C', 'c', 'c', 'Asia/Shanghai')")
    conn.execute("INSERT INTO staff_users (id, username, display_name, password_hash, role, canteen_id, created_at, "
                 "updated_at) VALUES ('u', 'u', 'u', 'x', 'cashier', 'C', ?, ?)", (ts, ts))
    conn.execute("INSERT INTO shifts (id, canteen_id, cashier_id, business_date, opened_at, opening_float_fen) "
                 "VALUES ('s', 'C', 'u', '2026-01-01', ?, 0)", (ts,))
    for item in ("m1", "m2"):
        conn.execute("INSERT INTO menu_items (id, canteen_id, name, category, price_fen, created_at, updated_at) "
                     "VALUES (?, 'C', '荤素套餐', '套餐', 1600, ?, ?)", (item, ts, ts))
    h = "0" * 64
    t0 = time.perf_counter()
    seq = 0
    for i in range(n):
        sale = uuid.uuid4().hex[:20]
        conn.execute("BEGIN IMMEDIATE")
        seq += 1
        conn.execute("INSERT INTO sales (id, canteen_id, business_date, sold_at, local_hour, receipt_no, shift_id, "
                     "cashier_id, credential_kind, diner_id, ticket_id, gross_fen, subsidy_fen, due_fen, tender_method, "
                     "tendered_fen, change_fen, tender_reference, status, chain_seq, prev_hash, row_hash) VALUES "
                     "(?, 'C', '2026-01-01', ?, 12, ?, 's', 'u', 'resident_id', NULL, NULL, 1700, 300, 1400, 'cash', "
                     "1900, 500, '', 'completed', ?, ?, ?)", (sale, ts, i + 1, seq, h, h))
        for line_no, item in ((1, "m1"), (2, "m2")):
            seq += 1
            conn.execute("INSERT INTO sale_lines (id, sale_id, canteen_id, line_no, item_id, name, unit_price_fen, qty, "
                         "welfare_meal, line_total_fen, chain_seq, prev_hash, row_hash) VALUES "
                         "(?, ?, 'C', ?, ?, '荤素套餐', 1600, 1, 0, 1600, ?, ?, ?)",
                         (uuid.uuid4().hex[:20], sale, line_no, item, seq, h, h))
        seq += 1
        conn.execute("INSERT INTO subsidy_grants (id, sale_id, canteen_id, business_date, period, diner_key, kind, "
                     "amount_fen, rule_id, policy_version, reason_zh, reason_en, granted_at, voided, chain_seq, "
                     "prev_hash, row_hash) VALUES (?, ?, 'C', '2026-01-01', '', ?, 'age_tier', 300, 'age_tier:60', "
                     "'2026-01', '60周岁以上长者立减 ¥3.00', 'Age 60+ discount ¥3.00', ?, 0, ?, ?, ?)",
                     (uuid.uuid4().hex[:20], sale, uuid.uuid4().hex * 2, ts, seq, h, h))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return n / elapsed


# -- PostgreSQL ------------------------------------------------------------------------------------

def _pg_plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def raw_psycopg(url: str, n: int) -> float:
    """Raw psycopg: the same rows (sale, 2 lines, grant) in a scratch schema, one
    transaction per sale on one connection (statements prepared by psycopg after their
    fifth use, as the app's are); returns sales/s."""
    import psycopg

    from pos.db import schema_statements

    schema = f"raw_{os.getpid()}"
    with psycopg.connect(_pg_plain(url), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"SET search_path TO {schema}")
        for stmt in schema_statements():
            conn.execute(stmt)
        ts = datetime.now(timezone.utc).replace(tzinfo=None)
        conn.execute("INSERT INTO canteens (id, name, community, timezone) VALUES ('C', 'c', 'c', 'Asia/Shanghai')")
        conn.execute("INSERT INTO staff_users (id, username, display_name, password_hash, role, canteen_id, "
                     "created_at, updated_at) VALUES ('u', 'u', 'u', 'x', 'cashier', 'C', %s, %s)", (ts, ts))
        conn.execute("INSERT INTO shifts (id, canteen_id, cashier_id, business_date, opened_at, opening_float_fen) "
                     "VALUES ('s', 'C', 'u', '2026-01-01', %s, 0)", (ts,))
        for item in ("m1", "m2"):
            conn.execute("INSERT INTO menu_items (id, canteen_id, name, category, price_fen, created_at, updated_at) "
                         "VALUES (%s, 'C', '荤素套餐', '套餐', 1600, %s, %s)", (item, ts, ts))
        conn.autocommit = False
        h = "0" * 64
        seq = 0
        t0 = time.perf_counter()
        for i in range(n):
            sale = uuid.uuid4().hex[:20]
            seq += 1
            conn.execute("INSERT INTO sales (id, canteen_id, business_date, sold_at, local_hour, receipt_no, shift_id, "
                         "cashier_id, credential_kind, diner_id, ticket_id, gross_fen, subsidy_fen, due_fen, "
                         "tender_method, tendered_fen, change_fen, tender_reference, status, chain_seq, prev_hash, "
                         "row_hash) VALUES (%s, 'C', '2026-01-01', %s, 12, %s, 's', 'u', 'resident_id', NULL, NULL, "
                         "1700, 300, 1400, 'cash', 1900, 500, '', 'completed', %s, %s, %s)",
                         (sale, ts, i + 1, seq, h, h))
            for line_no, item in ((1, "m1"), (2, "m2")):
                seq += 1
                conn.execute("INSERT INTO sale_lines (id, sale_id, canteen_id, line_no, item_id, name, "
                             "unit_price_fen, qty, welfare_meal, line_total_fen, chain_seq, prev_hash, row_hash) "
                             "VALUES (%s, %s, 'C', %s, %s, '荤素套餐', 1600, 1, FALSE, 1600, %s, %s, %s)",
                             (uuid.uuid4().hex[:20], sale, line_no, item, seq, h, h))
            seq += 1
            conn.execute("INSERT INTO subsidy_grants (id, sale_id, canteen_id, business_date, period, diner_key, kind, "
                         "amount_fen, rule_id, policy_version, reason_zh, reason_en, granted_at, voided, chain_seq, "
                         "prev_hash, row_hash) VALUES (%s, %s, 'C', '2026-01-01', '', %s, 'age_tier', 300, "
                         "'age_tier:60', '2026-01', '60周岁以上长者立减 ¥3.00', 'Age 60+ discount ¥3.00', %s, FALSE, "
                         "%s, %s, %s)", (uuid.uuid4().hex[:20], sale, uuid.uuid4().hex * 2, ts, seq, h, h))
            conn.commit()
        elapsed = time.perf_counter() - t0
        conn.autocommit = True
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
    return n / elapsed


def postgres_cpu_seconds() -> float:
    """CPU seconds so far of every PostgreSQL server process on this machine (Linux /proc)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat.rsplit(")", 1)[1].split()
        if name.startswith("postgres"):
            total += (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")
    return total


class PgCounter:
    """A relay between the app and PostgreSQL that counts what the app sends: simple
    queries ('Q'), executions of a statement ('E'), parses ('P', a statement sent to be
    prepared) and syncs ('S', the end of a batch of extended-protocol messages, answered
    in one go).  One statement is one 'Q' or one 'E'; one round trip is one 'Q' or one 'S'.  Used only for a short counting
    run: relaying adds latency, so the timed runs talk to the server directly."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.counts = {"Q": 0, "E": 0, "P": 0, "S": 0}
        self.queries: dict[str, int] = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            threading.Thread(target=self._frontend, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _frontend(self, src: socket.socket, dst: socket.socket) -> None:
        buf, started = b"", False
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
                buf += chunk
                if not started:  # the startup packet has no type byte
                    if len(buf) < 4:
                        continue
                    size = struct.unpack("!I", buf[:4])[0]
                    if len(buf) < size:
                        continue
                    started = (struct.unpack("!I", buf[4:8])[0] != 80877103)  # not an SSLRequest
                    buf = buf[size:]
                while len(buf) >= 5:
                    kind, size = chr(buf[0]), struct.unpack("!I", buf[1:5])[0]
                    if len(buf) < size + 1:
                        break
                    if kind in self.counts:
                        with self._lock:
                            self.counts[kind] += 1
                            if kind == "Q":
                                text = buf[5:size].split(b"\0")[0].decode(errors="replace").strip()[:40]
                                self.queries[text] = self.queries.get(text, 0) + 1
                    buf = buf[size + 1:]
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.listener.close()


# -- running `canteen serve` ------------------------------------------------------------------------

def _canteen_command() -> list[str]:
    command = [str(Path(sys.executable).with_name("canteen"))]
    return command if Path(command[0]).exists() else [sys.executable, "-c", "from pos.web.cli import main; main()"]


def start_serve(env: dict, port: int, *, processes: int, threads: int, server: str, options: list[str]):
    proc = subprocess.Popen(_canteen_command() + ["serve", "--port", str(port), "--threads", str(threads),
                                                  "--processes", str(processes), "--server", server] + options,
                            env=env, cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_up(port, proc)
    return proc


def stop_serve(proc) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def _call(port: int):
    def call(method: str, path: str, body: dict | None, token: str) -> dict:
        c = Client(port, token)
        if not token:
            c.headers.pop("Authorization")
        try:
            return (c.post(path, body) if method == "POST" else c.get(path))[1]
        finally:
            c.sock.close()
    return call


# -- SQLite -----------------------------------------------------------------------------------------

SQLITE_SETUPS = (
    ("plain recorder + SQLite writer lock (default)", []),
    ("plain recorder, no writer lock", ["--no-writer-lock"]),
)


def measure_sqlite(args, levels: list[int], processes: int, server: str, label: str, options: list[str],
                   threads: int) -> tuple[list[dict], float]:
    with tempfile.TemporaryDirectory(prefix="canteen-bench-") as d:
        tmp = Path(d)
        warmup = 40
        env, numbers = prepare(tmp, warmup + args.sales * len(levels))
        port = free_port()
        if args.keepalive_requests is not None:
            options = options + ["--keepalive-requests", str(args.keepalive_requests)]
        proc = start_serve(env, port, processes=processes, threads=threads, server=server, options=options)
        try:
            token, lines, due = open_till(_call(port), numbers[0])
            run_level([port], token, lines, due, numbers[:warmup], 2)  # warm caches and connections
            pos, results = warmup, []
            for n in levels:
                results.append(run_level([port], token, lines, due, numbers[pos:pos + args.sales], n, [proc.pid]))
                pos += args.sales
        finally:
            stop_serve(proc)
        raw = raw_sqlite(tmp, args.sales)
    return results, raw


def report_sqlite(args) -> None:
    from pos.web.cli.serve_command import default_threads

    levels = [int(x) for x in args.clients.split(",")]
    threads = args.threads or default_threads()
    for server in args.server.split(","):
        for processes in [int(x) for x in args.processes.split(",")]:
            rows = []
            raws = []
            for label, options in SQLITE_SETUPS:
                results, raw = measure_sqlite(args, levels, processes, server, label, options, threads)
                rows += [(label, r) for r in results]
                raws.append(raw)
            load = os.getloadavg()
            print(f"\nsales over HTTP on SQLite (WAL, synchronous=FULL): canteen serve --server {server} "
                  f"--processes {processes} --threads {threads}; each sale: 2 lines + resident-ID credential + "
                  f"age-discount grant; {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
            raw = statistics.median(raws)
            print(f"raw sqlite3 inserts of the same rows (1 transaction per sale): {raw:,.0f} sales/s "
                  f"(runs: {', '.join(f'{r:,.0f}' for r in raws)})")
            print(f"{'setup':<46} {'clients':>7} {'sales':>6} {'errors':>6} {'sales/s':>8} {'p50 ms':>7} "
                  f"{'p99 ms':>7} {'vs raw':>7} {'server CPU ms/sale':>19} {'conns/process':>13} {'reconnects':>10}")
            for label, r in rows:
                print(f"{label:<46} {r['clients']:>7} {r['sales']:>6} {r['errors']:>6} {r['per_s']:>8,.0f} "
                      f"{r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} {r['per_s'] / raw:>6.1%} {r['server_cpu_ms']:>19.2f} "
                      f"{r['spread']:>13} {r['reconnects']:>10}")
                if r["errors"]:
                    print(f"        first error: {r['first_error']}")
            for label, r in rows:
                if r["clients"] == 8:
                    ok = r["per_s"] >= 500 and r["p99_ms"] <= 25 and not r["errors"]
                    print(f"target at 8 clients (>= 500 sales/s, p99 <= 25 ms), {label}: {'met' if ok else 'NOT met'}")


# -- PostgreSQL ---------------------------------------------------------------------------------------

PG_SETUPS = (
    ("plain recorder (default)", []),
)


def _count_statements(env: dict, url: str, threads: int, token: str, lines: list, due: int, numbers: list[str],
                      options: list[str]) -> dict:
    """What one sale sends to PostgreSQL, counted on a third server relayed through PgCounter."""
    host, _, rest = url.split("@", 1)[1].partition(":")
    port = rest.split("/")[0]
    counter = PgCounter(host, int(port))
    counted_env = {**env, "DATABASE_URL": url.replace(f"{host}:{port}", f"127.0.0.1:{counter.port}")}
    counted_port = free_port()
    proc = start_serve(counted_env, counted_port, processes=1, threads=threads, server="granian", options=options)
    try:
        run_level([counted_port], token, lines, due, numbers[:20], 1)  # statements prepared
        before, queries_before = dict(counter.counts), dict(counter.queries)
        run_level([counted_port], token, lines, due, numbers[20:], 1)
        n = len(numbers) - 20
        per_sale = {k: (counter.counts[k] - before[k]) / n for k in counter.counts}
        per_sale["simple"] = {q: (c - queries_before.get(q, 0)) / n for q, c in counter.queries.items()
                              if c - queries_before.get(q, 0)}
    finally:
        stop_serve(proc)
        counter.close()
    return per_sale


def report_postgres(args) -> None:
    import psycopg

    from pos.web.cli.serve_command import default_processes, default_threads

    levels = [int(x) for x in (args.clients if args.clients != "1,8" else "16").split(",")]
    threads = args.threads or default_threads()
    # Two app servers share this machine: one process each per core between them.
    processes = (int(args.processes.split(",")[-1]) if args.processes != "1,2"
                 else max(1, default_processes() // 2))
    admin = _pg_plain(args.pg_url)
    rows, counts = [], []
    for label, options in PG_SETUPS:
        name = f"canteen_bench_{os.getpid()}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"{args.pg_url.rpartition('/')[0]}/{name}"
        procs = []
        try:
            with tempfile.TemporaryDirectory(prefix="canteen-bench-") as d:
                warmup, counted = 40, 200
                env, numbers = prepare(Path(d), warmup + counted + args.sales * len(levels), url)
                with psycopg.connect(_pg_plain(url), autocommit=True) as conn:  # no autovacuum in the timed run
                    conn.execute("VACUUM ANALYZE")
                    conn.execute("CHECKPOINT")
                ports = [free_port(), free_port()]
                procs = [start_serve(env, port, processes=processes, threads=threads, server="granian",
                                     options=options) for port in ports]
                token, lines, due = open_till(_call(ports[0]), numbers[0])
                run_level(ports, token, lines, due, numbers[:warmup], 4)  # warm caches and connections
                counts.append((label, _count_statements(env, url, threads, token, lines, due,
                                                        numbers[warmup:warmup + counted], options)))
                pos = warmup + counted
                for n in levels:
                    rows.append((label, run_level(ports, token, lines, due, numbers[pos:pos + args.sales], n,
                                                  [p.pid for p in procs], also_cpu=postgres_cpu_seconds)))
                    pos += args.sales
        finally:
            for p in procs:
                stop_serve(p)
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    name = f"canteen_bench_{os.getpid()}_raw"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        raw = raw_psycopg(f"{args.pg_url.rpartition('/')[0]}/{name}", args.sales)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    load = os.getloadavg()
    print(f"\nsales over HTTP on PostgreSQL: two `canteen serve --server granian --processes {processes} "
          f"--threads {threads}` on two ports, one database, clients split between them; each sale: 2 lines + "
          f"resident-ID credential + age-discount grant; {os.cpu_count()} CPUs, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"raw psycopg inserts of the same rows (1 transaction per sale, one connection): {raw:,.0f} sales/s")
    for label, c in counts:
        print(f"{label}: per sale (sign-in by token included) {c['Q'] + c['E']:.1f} statements "
              f"({c['E']:.1f} prepared or parameterised, {c['Q']:.1f} simple: "
              + ", ".join(f"{q or '(empty)'} x{n:.1f}" for q, n in sorted(c["simple"].items(), key=lambda x: -x[1]))
              + f"), {c['S'] + c['Q']:.1f} round trips, {c['P']:.2f} statements parsed")
    print(f"{'setup':<54} {'clients':>7} {'sales':>6} {'errors':>6} {'sales/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'vs raw':>7} {'app CPU ms/sale':>16} {'db CPU ms/sale':>15} {'conns/process':>14}")
    for label, r in rows:
        print(f"{label:<54} {r['clients']:>7} {r['sales']:>6} {r['errors']:>6} {r['per_s']:>8,.0f} "
              f"{r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} {r['per_s'] / raw:>6.1%} {r['server_cpu_ms']:>16.2f} "
              f"{r['db_cpu_ms']:>15.2f} {r['spread']:>14}")
        if r["errors"]:
            print(f"        first error: {r['first_error']}")
    for label, r in rows:
        if r["clients"] == 16:
            ok = r["per_s"] >= 400 and r["p99_ms"] <= 100 and not r["errors"]
            print(f"target at 16 clients (>= 400 sales/s, p99 <= 100 ms), {label}: {'met' if ok else 'NOT met'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--sales", type=int, default=3000,
                    help="sales per client level (default 3000: a few seconds of a rush, long enough for "
                         "`canteen serve` to re-place keep-alive connections over its processes)")
    ap.add_argument("--clients", default="1,8", help="comma-separated client counts (default 1,8; PostgreSQL: 16)")
    ap.add_argument("--threads", type=int, default=None,
                    help="request threads per server process (default: as `canteen serve`)")
    ap.add_argument("--server", default="granian",
                    help="comma-separated `canteen serve --server` values to measure (default granian; SQLite)")
    ap.add_argument("--keepalive-requests", type=int, default=None,
                    help="`canteen serve --keepalive-requests` (default: as `canteen serve`; 0: never end a "
                         "keep-alive connection)")
    ap.add_argument("--processes", default="1,2",
                    help="comma-separated `canteen serve --processes` values to measure (default 1,2; PostgreSQL: "
                         "processes per server, default half of `canteen serve`'s, as the two servers share the "
                         "machine's cores)")
    ap.add_argument("--pg-url", default=PG_URL, help="PostgreSQL server to make a scratch database on")
    args = ap.parse_args()
    if args.engine == "postgresql":
        report_postgres(args)
    else:
        report_sqlite(args)


if __name__ == "__main__":
    main()
