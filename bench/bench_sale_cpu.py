"""CPU per sale inside the app, without HTTP: where the till server's time goes.

    .venv/bin/python bench/bench_sale_cpu.py [--sales 1000] [--profile 25]

Builds the same database as bench_sales_http.py (demo canteen, one registered senior per
sale), signs in the demo cashier, opens a shift, and records sales one after another by
calling the Flask app's WSGI entry directly (the full request path: sign-in check,
validation, the recorder's write transaction, response; no socket, no server).  Prints
the CPU per sale, the part of it spent in the write transaction (which holds the SQLite
writer, and so caps throughput however many processes serve), and the sequential
ceilings those imply.  Run it before and after a change to the sale path.  With
``--profile N`` the measured sales also run under cProfile, and the N functions with the
most time of their own are printed (the CPU figures then include the profiler's cost).
"""
from __future__ import annotations

import argparse
import os
import io
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sales", type=int, default=1000)
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="profile the measured sales and print the N functions with the most own time")
    args = ap.parse_args()
    import bench_sales_http

    warmup = 50
    with tempfile.TemporaryDirectory(prefix="canteen-bench-") as d:
        _, numbers = bench_sales_http.prepare(Path(d), warmup + args.sales)
        from pos import create_app

        app = create_app()
        client = app.test_client()

        def call(method: str, path: str, body: dict | None, token: str) -> dict:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return client.open(path, method=method, json=body, headers=headers).get_json()

        token, lines, due = bench_sales_http.open_till(call, numbers[0])
        auth = {"Authorization": f"Bearer {token}"}

        def environ(number: str) -> dict:
            body = json.dumps({"lines": lines, "credential": {"id_number": number}, "due_fen": due,
                               "tender": {"method": "cash", "tendered_fen": due + 500}}).encode()
            return {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/sales", "QUERY_STRING": "",
                    "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "5000", "SERVER_PROTOCOL": "HTTP/1.1",
                    "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
                    "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json",
                    "HTTP_AUTHORIZATION": auth["Authorization"], "HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex,
                    "REMOTE_ADDR": "127.0.0.1"}

        def sell(number: str) -> None:
            status: list[str] = []
            body = b"".join(app.wsgi_app(environ(number), lambda s, h, e=None: status.append(s)))
            if not status[0].startswith("201"):
                raise SystemExit(f"sale refused: {status[0]} {body[:300]!r}")

        held = [0.0]
        recorder = app.extensions["canteen_recorder"]
        record = recorder.record_sale

        def timed_record(order, *, answer):
            t = time.thread_time()
            try:
                return record(order, answer=answer)
            finally:
                held[0] += time.thread_time() - t

        recorder.record_sale = timed_record
        for number in numbers[:warmup]:
            sell(number)
        held[0] = 0.0
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for number in numbers[warmup:]:
            sell(number)
        cpu = (time.process_time() - cpu0) / args.sales
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler).sort_stats(os.environ.get("CANTEEN_PROFILE_SORT", "tottime")).print_stats(args.profile)
        wall = (time.perf_counter() - wall0) / args.sales
        writer = held[0] / args.sales
        app.extensions["canteen_db"].dispose()
    print(f"\nsale path in-process (no HTTP), {args.sales} sales one after another, SQLite WAL synchronous=FULL")
    print(f"CPU per sale: {cpu * 1000:.2f} ms (wall {wall * 1000:.2f} ms) -> one core's ceiling {1 / cpu:,.0f} sales/s")
    print(f"  of which in the write transaction (holding the writer): {writer * 1000:.2f} ms "
          f"-> writer ceiling {1 / writer:,.0f} sales/s")
    print(f"  outside the writer (sign-in, validation, prices and diner lookup, response): "
          f"{(cpu - writer) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
