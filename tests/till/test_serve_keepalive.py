"""`canteen serve` with several granian processes ends each process's every N-th
keep-alive connection, so tills pinned to a busy process spread out again; with one
process (or ``--keepalive-requests 0``) connections stay open."""
from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from support import ServedProcesses, copy_sqlite

_CONTENT_LENGTH = re.compile(rb"(?im)^content-length:\s*(\d+)")
_CLOSE = re.compile(rb"(?im)^connection:\s*close")


def _get(sock: socket.socket, path: str = "/healthz") -> tuple[int, bool]:
    """One GET on an open keep-alive connection: (status, whether the answer ends the connection)."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection before answering"
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = int(_CONTENT_LENGTH.search(head).group(1))
    while len(rest) < length:
        rest += sock.recv(65536)
    return int(head[9:12]), _CLOSE.search(head) is not None


@pytest.fixture
def sqlite_url(tmp_path, demo_templates) -> str:
    target = tmp_path / "canteen.db"
    copy_sqlite(Path(demo_templates("sqlite")), target)
    return f"sqlite:///{target}"


def test_every_nth_answer_of_a_process_ends_its_connection():
    from pos.web.serving import EndKeepAlive

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    wrapped = EndKeepAlive(app, 3)
    seen = []
    for _ in range(7):
        wrapped({}, lambda status, headers, exc_info=None: seen.append(("Connection", "close") in headers))
    assert seen == [False, False, True, False, False, True, False]
    with pytest.raises(ValueError):
        EndKeepAlive(app, -1)


def test_once_the_server_is_stopping_every_answer_ends_its_connection():
    """A stopping granian worker keeps answering on a keep-alive connection that keeps
    sending; once told to stop, each answer ends its connection, so the tills move to the
    server that takes over and the worker can exit."""
    import threading

    from pos.web.serving import EndKeepAlive

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    stopping = threading.Event()
    wrapped = EndKeepAlive(app, 0, stopping)
    seen = []
    for n in range(6):
        if n == 3:
            stopping.set()
        wrapped({}, lambda status, headers, exc_info=None: seen.append(("Connection", "close") in headers))
    assert seen == [False, False, False, True, True, True]


def test_two_processes_end_a_keep_alive_connection_after_its_share_of_answers(sqlite_url, tmp_path):
    served = ServedProcesses(sqlite_url, tmp_path, processes=2, server="granian",
                             extra_args=("--keepalive-requests", "3"))
    try:
        with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
            # Only this connection talks to its process now, so one of any three answers in
            # a row ends it (the process may have answered a start-up check already).
            answers = []
            while not answers or not answers[-1][1]:
                answers.append(_get(sock))
                assert len(answers) <= 3, "no answer ended the connection"
            assert all(status == 200 for status, _ in answers)
            assert sock.recv(1) == b"", "the server kept the connection open after Connection: close"
        with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
            assert _get(sock)[0] == 200  # the till's next request, on a new connection
    finally:
        served.stop()


@pytest.mark.parametrize("processes, extra", [(1, ()), (2, ("--keepalive-requests", "0"))])
def test_connections_stay_open_with_one_process_or_no_limit(sqlite_url, tmp_path, processes, extra):
    served = ServedProcesses(sqlite_url, tmp_path, processes=processes, server="granian", extra_args=extra)
    try:
        with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
            answers = [_get(sock) for _ in range(120)]  # past the default limit of 100
        assert all(status == 200 and not closes for status, closes in answers)
    finally:
        served.stop()
