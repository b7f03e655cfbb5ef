"""Benchmark: day close and report rendering at scale, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_reports.py [--engines sqlite,postgresql] [--canteens 50] [--per-day 400]

* day:   one canteen, one business date of 10,000 sales — close_day (queries, canonical
         JSON, SHA-256, insert) and render the daily PDF.  Target ≤ 1 s.
* submit: the same month submitted as the community's claim (pos.store.claims): the claim
         gathered again, its lines and day closes read, the frozen document written with its
         SHA-256.  Target ≤ 10 s and ≤ 300 MB.
* month: 50 canteens × 400 sales a day × 30 days — gather the claim, render the PDF and
         the summary CSV.  Target ≤ 10 s and peak memory ≤ 300 MB.  The per-grant CSV
         (streamed) is timed too.

Each measurement runs in a fresh child process, so its peak RSS (ru_maxrss) is the
report's own, interpreter and libraries included.  The embedded font is loaded before the
clock starts, as in a running server, and its load time is printed.  "bare SQL" is the one
aggregate that answers the totals (GROUP BY over the same rows), timed in the same run;
the ratio says what the full report costs on top of it.

Data is written with bulk inserts (executemany on SQLite, COPY on PostgreSQL), not
through HTTP.  PostgreSQL gets a dedicated temporary database that is dropped at the end.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CANTEEN_ENV", "development")

PG_ADMIN = os.environ.get("CANTEEN_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TZ = ZoneInfo("Asia/Shanghai")
MONTH = date(2026, 4, 1)
BIG_DAY = date(2026, 5, 11)
BIG_CANTEEN = "BIG01"
DAY_SALES = 10_000


def settings_for(db_url: str, canteens: int):
    """The shipped config with this many canteens (and the big one) and this database."""
    from pos.config import CanteenConfig, load_settings

    base = load_settings(ROOT / "config.toml", env={"CANTEEN_ENV": "development", "DATABASE_URL": db_url},
                         instance_path=tempfile.gettempdir())
    rows = [CanteenConfig(BIG_CANTEEN, "大型测试食堂", "基准社区", "江北区", "Asia/Shanghai")]
    rows += [CanteenConfig(f"C{n:03d}", f"第{n}社区食堂", "基准社区", "江北区", "Asia/Shanghai") for n in range(canteens)]
    return replace(base, canteens=tuple(rows), database_url=db_url)


# -- data ---------------------------------------------------------------------------------------

def _utc(day: date, minute_of_day: int) -> datetime:
    local = datetime(day.year, day.month, day.day, minute_of_day // 60, minute_of_day % 60, tzinfo=TZ)
    return local.astimezone(timezone.utc).replace(tzinfo=None)


class Writer:
    """Bulk rows into one engine: executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, engine):
        self.raw = engine.raw_connection()
        self.pg = engine.dialect.name == "postgresql"
        self._begin()

    def _begin(self):
        # The app's SQLite connections run in autocommit mode (pos.db issues BEGIN itself).
        if not self.pg:
            self.raw.cursor().execute("BEGIN")

    def put(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        cur = self.raw.cursor()
        if self.pg:
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            conv = [tuple(v.isoformat(sep=" ") if isinstance(v, datetime) else v.isoformat()
                          if isinstance(v, date) else v for v in row) for row in rows]
            cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", conv)
        cur.close()

    def commit(self):
        self.raw.commit() if self.pg else self.raw.cursor().execute("COMMIT")
        self._begin()

    def close(self):
        self.raw.close()


SALE_COLS = ("id", "canteen_id", "business_date", "sold_at", "local_hour", "receipt_no", "shift_id", "cashier_id",
             "credential_kind", "gross_fen", "subsidy_fen", "due_fen", "tender_method", "tendered_fen", "change_fen",
             "tender_reference", "status", "chain_seq", "prev_hash", "row_hash")
GRANT_COLS = ("id", "sale_id", "canteen_id", "business_date", "period", "diner_key", "diner_id", "kind", "amount_fen",
              "rule_id", "policy_version", "reason_zh", "reason_en", "granted_at", "voided", "chain_seq", "prev_hash",
              "row_hash")
LINE_COLS = ("id", "sale_id", "canteen_id", "line_no", "item_id", "name", "unit_price_fen", "qty", "welfare_meal",
             "line_total_fen", "chain_seq", "prev_hash", "row_hash")
VOID_COLS = ("id", "sale_id", "canteen_id", "business_date", "voided_at", "reason", "requested_by", "approved_by",
             "refund_fen", "reversed_subsidy_fen", "chain_seq", "prev_hash", "row_hash")
SHIFT_COLS = ("id", "canteen_id", "cashier_id", "business_date", "opened_at", "opening_float_fen", "closed_at",
              "counted_cash_fen", "expected_cash_fen")
DINER_COLS = ("id", "name", "id_hmac", "id_masked", "birth_date", "resident", "community", "created_by", "created_at",
              "updated_at")


class Canteen:
    """Generates one canteen's sales day by day, keeping receipt numbers and the chain position."""

    def __init__(self, code: str, diners: list[tuple[str, str]], rng: random.Random):
        self.code, self.diners, self.rng = code, diners, rng
        self.seq = 0
        self.receipt = 0

    def _chain(self):
        self.seq += 1
        return self.seq, "0" * 64, f"{self.seq:064x}"

    def day(self, on: date, sales: int, subsidised: int, free: int, shifts: int, staff: str):
        """Rows for one business date: shifts, sales, grants, voids, the free-meal counter."""
        rng = self.rng
        shift_ids = [uuid.uuid4().hex[:20] for _ in range(shifts)]
        cash = {s: [0, 0, 0] for s in shift_ids}  # taken, change, refunds
        who = rng.sample(self.diners, subsidised)
        sale_rows, line_rows, grant_rows, void_rows = [], [], [], []
        free_live = 0
        for n in range(sales):
            shift = shift_ids[n * shifts // sales]
            minute = 7 * 60 + (n * 12 * 60) // sales
            at = _utc(on, minute)
            gross = rng.choice((1200, 1500, 1600, 1800, 2200))
            kind, amount, diner = None, 0, None
            if n < subsidised:
                diner = who[n]
                kind = "free_meal" if n < free else "age_tier"
                amount = gross if kind == "free_meal" else rng.choice((300, 700))
            due = gross - amount
            method = "free" if due == 0 else rng.choice(("cash", "wechat", "alipay"))
            tendered = -(-due // 1000) * 1000 if method == "cash" else due
            voided = rng.random() < 0.01
            sale_id = uuid.uuid4().hex[:20]
            self.receipt += 1
            sale_rows.append((sale_id, self.code, on, at, minute // 60, self.receipt, shift, staff,
                              "voucher" if kind else "none", gross, amount, due, method, tendered, tendered - due, "",
                              "voided" if voided else "completed", *self._chain()))
            # Every other sale has a side dish of ¥3: the lines add up to the gross (menu revenue).
            prices = (gross,) if n % 2 else (gross - 300, 300)
            for line_no, price in enumerate(prices, start=1):
                line_rows.append((uuid.uuid4().hex[:20], sale_id, self.code, line_no, f"{self.code}-item", "基准套餐",
                                  price, 1, kind == "free_meal", price, *self._chain()))
            if method == "cash":
                cash[shift][0] += tendered
                cash[shift][1] += tendered - due
                if voided:
                    cash[shift][2] += due
            if kind:
                grant_rows.append((uuid.uuid4().hex[:20], sale_id, self.code, on, "", diner[1], diner[0], kind, amount,
                                   "free_meal" if kind == "free_meal" else "age_tier:60", "2026-01", "基准", "bench",
                                   at, voided, *self._chain()))
                free_live += kind == "free_meal" and not voided
            if voided:
                void_rows.append((uuid.uuid4().hex[:20], sale_id, self.code, on, at + timedelta(minutes=3), "顾客退餐",
                                  staff, staff, due, amount, *self._chain()))
        shift_rows = [(s, self.code, staff, on, _utc(on, 6 * 60), 20000, _utc(on, 20 * 60),
                       20000 + t - c - r, 20000 + t - c - r) for s, (t, c, r) in cash.items()]
        counter = [(self.code, on, 40, free_live)]
        return shift_rows, sale_rows, line_rows, grant_rows, void_rows, counter


def build_data(db_url: str, canteens: int, per_day: int) -> dict:
    """Create the schema and fill it: the big day and the month for ``canteens`` canteens."""
    from pos.db import Database, init_schema

    t0 = time.perf_counter()
    database = Database(db_url)
    init_schema(database.engine, force=True)
    settings = settings_for(db_url, canteens)
    w = Writer(database.engine)
    now = datetime(2026, 5, 31, 12, 0)
    staff = "bench-staff"
    w.put("canteens", ("id", "name", "community", "timezone", "chain_seq", "chain_head"),
          [(c.code, c.name, c.community, c.timezone, 0, "") for c in settings.canteens])
    w.put("staff_users", ("id", "username", "display_name", "password_hash", "role", "canteen_id", "created_at",
                          "updated_at"), [(staff, "bench", "基准主管", "x", "admin", None, now, now)])
    w.put("menu_items", ("id", "canteen_id", "name", "category", "price_fen", "created_at", "updated_at"),
          [(f"{c.code}-item", c.code, "基准套餐", "套餐", 1500, now, now) for c in settings.canteens])
    rng = random.Random(7)
    counts = {"sales": 0, "grants": 0}

    def diners_for(code: str, n: int) -> list[tuple[str, str]]:
        rows, out = [], []
        for i in range(n):
            key = hashlib.sha256(f"{code}-{i}".encode()).hexdigest()
            did = key[:20]
            rows.append((did, f"就餐者{i}", key, f"3302**********{i % 10000:04d}", date(1950, 1, 1), True, "基准社区",
                         staff, now, now))
            out.append((did, key))
        w.put("diners", DINER_COLS, rows)
        return out

    def put_day(rows):
        shift_rows, sale_rows, line_rows, grant_rows, void_rows, counter = rows
        w.put("shifts", SHIFT_COLS, shift_rows)
        w.put("sales", SALE_COLS, sale_rows)
        w.put("sale_lines", LINE_COLS, line_rows)
        w.put("subsidy_grants", GRANT_COLS, grant_rows)
        w.put("voids", VOID_COLS, void_rows)
        w.put("free_meal_counters", ("canteen_id", "business_date", "cap", "used"), counter)
        counts["sales"] += len(sale_rows)
        counts["grants"] += len(grant_rows)

    # The big day: 10,000 sales, 3,000 subsidised (40 of them free meals), 10 shifts.
    big = Canteen(BIG_CANTEEN, diners_for(BIG_CANTEEN, 3000), rng)
    put_day(big.day(BIG_DAY, DAY_SALES, 3000, 40, 10, staff))
    chain = [(big.seq, f"{big.seq:064x}", BIG_CANTEEN)]
    # The month: each canteen has 300 regular diners; 40 % of sales are subsidised.
    first_open = MONTH + timedelta(days=25)  # the last five days are still open (provisional)
    for c in settings.canteens[1:]:
        gen = Canteen(c.code, diners_for(c.code, 300), rng)
        closes = []
        for d in range(30):
            on = MONTH + timedelta(days=d)
            put_day(gen.day(on, per_day, per_day * 2 // 5, 40, 2, staff))
            if on < first_open:
                closes.append((c.code, on, now, staff, gen.seq, f"{gen.seq:064x}", "{}", "0" * 64))
        w.put("day_closes", ("canteen_id", "business_date", "closed_at", "closed_by", "chain_seq", "chain_head",
                             "report_json", "report_sha256"), closes)
        chain.append((gen.seq, f"{gen.seq:064x}", c.code))
        w.commit()
    cur = w.raw.cursor()
    ph = "%s" if w.pg else "?"
    cur.executemany(f"UPDATE canteens SET chain_seq = {ph}, chain_head = {ph} WHERE id = {ph}", chain)
    cur.close()
    w.commit()
    cur = w.raw.cursor()
    if not w.pg:
        cur.execute("COMMIT")
    cur.execute("ANALYZE")
    cur.close()
    if w.pg:
        w.raw.commit()
    w.close()
    database.dispose()
    return {**counts, "seconds": time.perf_counter() - t0}


# -- measurements (each in a child process) ----------------------------------------------------------

def measure(kind: str, db_url: str, canteens: int) -> dict:
    from sqlalchemy import and_, func, select

    from pos.db import Database
    from pos.models import Sale, StaffUser, SubsidyGrant
    from reports.fonts import cjk_font

    t = time.perf_counter()
    cjk_font()
    font_s = time.perf_counter() - t
    settings = settings_for(db_url, canteens)
    database = Database(db_url)
    g, s_t = SubsidyGrant.__table__, Sale.__table__
    out: dict = {"font_load_s": font_s}
    if kind == "day":
        from pos.store.day_close import close_day
        from reports.daily import render_daily

        with database.session() as s:
            t = time.perf_counter()
            conn = s.connection()
            conn.execute(select(func.count(), func.sum(s_t.c.gross_fen), func.sum(s_t.c.subsidy_fen),
                                func.sum(s_t.c.due_fen)).where(s_t.c.canteen_id == BIG_CANTEEN,
                                                               s_t.c.business_date == BIG_DAY,
                                                               s_t.c.status == "completed")).one()
            conn.execute(select(g.c.kind, func.count(), func.sum(g.c.amount_fen)).where(
                g.c.canteen_id == BIG_CANTEEN, g.c.business_date == BIG_DAY, g.c.voided.is_(False))
                .group_by(g.c.kind)).all()
            out["bare_sql_s"] = time.perf_counter() - t
            actor = s.execute(select(StaffUser)).scalars().first()
        t = time.perf_counter()
        with database.transaction() as s:
            report = close_day(session=s, settings=settings, canteen_id=BIG_CANTEEN, business_date=BIG_DAY,
                               actor=actor, now=datetime(2026, 5, 12, 1, 0, tzinfo=timezone.utc))
        out["close_s"] = time.perf_counter() - t
        t2 = time.perf_counter()
        _, _, pdf = render_daily(report)
        out["render_s"] = time.perf_counter() - t2
        out["total_s"] = time.perf_counter() - t
        out.update(sales=report.data.summary.sales + report.data.summary.voided_sales, grants=len(report.data.grants),
                   pdf_bytes=len(pdf), checks_ok=report.all_ok)
    elif kind == "submit":
        from sqlalchemy import text

        from pos.store.claims import submit_claim

        with database.transaction() as s:  # close the month's last days (untimed), as the operator would have
            s.connection().execute(text(
                "INSERT INTO day_closes (canteen_id, business_date, closed_at, closed_by, chain_seq, chain_head, "
                "report_json, report_sha256) SELECT DISTINCT s.canteen_id, s.business_date, :at, "
                "'bench-staff', 0, '', '{}', '' FROM sales s WHERE s.business_date BETWEEN :f AND :l "
                "AND NOT EXISTS (SELECT 1 FROM day_closes d WHERE d.canteen_id = s.canteen_id AND "
                "d.business_date = s.business_date)"),
                {"at": datetime(2026, 5, 31, 12, 0), "f": MONTH, "l": MONTH + timedelta(days=29)})
            actor = s.execute(select(StaffUser)).scalars().first()
        # Whatever the edit checks flag on generated data is explained, as an accountant would.
        explain = {code: "基准数据" for code in ("one_per_diner_district", "free_meal_cap", "voided_excluded",
                                                  "sums_agree", "closed_days_intact", "revenue_identity",
                                                  "revenue_by_tender", "void_rate", "same_diner_two_canteens",
                                                  "free_meal_before_opening", "sales_outside_hours", "attendance")}
        t = time.perf_counter()
        with database.transaction() as s:
            claim = submit_claim(session=s, settings=settings, scope_kind="community", scope="基准社区", month=MONTH,
                                 actor=actor, now=datetime(2026, 5, 31, 12, 0, tzinfo=timezone.utc),
                                 explanations=explain)
        out["total_s"] = time.perf_counter() - t
        out.update(net_fen=claim.net_fen, canteens=len(claim.canteens), sha=claim.content_sha256)
    else:
        from reports.claim_grants import grant_rows
        from reports.csvs import iter_grants_csv, summary_csv
        from reports.monthly import render_monthly
        from reports.service import build_claim

        codes = [c.code for c in settings.canteens[1:]]
        last = MONTH + timedelta(days=29)
        with database.session() as s:
            t = time.perf_counter()
            s.connection().execute(select(g.c.canteen_id, g.c.business_date, g.c.kind, func.count(),
                                          func.sum(g.c.amount_fen))
                                   .where(and_(g.c.canteen_id.in_(codes), g.c.business_date.between(MONTH, last),
                                               g.c.voided.is_(False)))
                                   .group_by(g.c.canteen_id, g.c.business_date, g.c.kind)).all()
            out["bare_sql_s"] = time.perf_counter() - t
            t = time.perf_counter()
            claim = build_claim(session=s, settings=settings, canteen_ids=codes, month=MONTH,
                                now=datetime(2026, 5, 1, tzinfo=timezone.utc))
            out["queries_s"] = time.perf_counter() - t
            t2 = time.perf_counter()
            _, _, pdf = render_monthly(claim)
            summary = summary_csv(claim)[2]
            out["render_s"] = time.perf_counter() - t2
            out["total_s"] = time.perf_counter() - t
            t3 = time.perf_counter()
            size = sum(len(chunk) for chunk in iter_grants_csv(
                grant_rows(session=s, canteens=claim.data.canteens, month=MONTH), claim.timezone))
            out["grants_csv_s"] = time.perf_counter() - t3
        out.update(grants=claim.data.age_count + claim.data.free_count, total_fen=claim.data.total_fen,
                   diners=len(claim.data.diners), pdf_bytes=len(pdf), summary_bytes=len(summary),
                   grants_csv_bytes=size, checks_ok=claim.data.all_ok)
    database.dispose()
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def child(kind: str, db_url: str, canteens: int) -> dict:
    r = subprocess.run([sys.executable, __file__, "--measure", kind, "--url", db_url, "--canteens", str(canteens)],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise SystemExit(f"bench_reports: the {kind} measurement failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def pg_database():
    import psycopg

    name = f"canteen_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return name, f"{base}/{name}"


def pg_drop(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(engines: list[str], canteens: int, per_day: int) -> bool:
    ok = True
    for engine in engines:
        tmp = tempfile.TemporaryDirectory()
        pg_name = None
        try:
            if engine == "sqlite":
                url = f"sqlite:///{tmp.name}/bench.db"
            else:
                try:
                    pg_name, url = pg_database()
                except Exception as e:  # noqa: BLE001
                    print(f"[postgresql] skipped: server at {PG_ADMIN.split('@')[-1]} not reachable ({e.__class__.__name__})")
                    continue
            built = build_data(url, canteens, per_day)
            print(f"[{engine}] data: {built['sales']:,} sales, {built['grants']:,} grants written in "
                  f"{built['seconds']:.1f} s (bulk inserts)")
            day = child("day", url, canteens)
            day_ok = day["total_s"] <= 1.0
            print(f"[{engine}] day close + daily PDF, {day['sales']:,} sales / {day['grants']:,} grants: "
                  f"{day['total_s']:.3f} s (close {day['close_s']:.3f} s + render {day['render_s']:.3f} s) "
                  f"{'≤' if day_ok else '>'} 1 s {'OK' if day_ok else 'FAIL'}; bare SQL aggregate "
                  f"{day['bare_sql_s'] * 1000:.1f} ms, ratio {day['total_s'] / day['bare_sql_s']:.0f}×; "
                  f"peak RSS {day['peak_rss_mb']:.0f} MB; font load {day['font_load_s']:.2f} s (once per process)")
            month = child("month", url, canteens)
            month_ok = month["total_s"] <= 10.0 and month["peak_rss_mb"] <= 300
            print(f"[{engine}] monthly claim, {canteens} canteens × {per_day} sales/day × 30 days, "
                  f"{month['grants']:,} grants, {month['diners']:,} diners: {month['total_s']:.2f} s "
                  f"(queries {month['queries_s']:.2f} s + PDF and summary CSV {month['render_s']:.2f} s) "
                  f"{'≤' if month['total_s'] <= 10 else '>'} 10 s; peak RSS {month['peak_rss_mb']:.0f} MB "
                  f"{'≤' if month['peak_rss_mb'] <= 300 else '>'} 300 MB {'OK' if month_ok else 'FAIL'}; "
                  f"bare SQL aggregate {month['bare_sql_s'] * 1000:.0f} ms, ratio "
                  f"{month['total_s'] / month['bare_sql_s']:.1f}×; per-grant CSV streamed in "
                  f"{month['grants_csv_s']:.2f} s ({month['grants_csv_bytes'] / 1e6:.1f} MB); "
                  f"PDF {month['pdf_bytes'] / 1e6:.1f} MB")
            submit = child("submit", url, canteens)
            submit_ok = submit["total_s"] <= 10.0 and submit["peak_rss_mb"] <= 300
            print(f"[{engine}] submit the community's claim ({submit['canteens']} canteens, frozen document with "
                  f"lines, day closes and hashes): {submit['total_s']:.2f} s {'≤' if submit['total_s'] <= 10 else '>'} "
                  f"10 s; peak RSS {submit['peak_rss_mb']:.0f} MB {'≤' if submit['peak_rss_mb'] <= 300 else '>'} "
                  f"300 MB {'OK' if submit_ok else 'FAIL'}; claims {submit['net_fen'] / 100:,.2f} yuan")
            ok = ok and day_ok and month_ok and submit_ok and day["checks_ok"] and month["checks_ok"]
        finally:
            if pg_name:
                pg_drop(pg_name)
            tmp.cleanup()
    return ok


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--engines", default="sqlite,postgresql")
    p.add_argument("--canteens", type=int, default=50)
    p.add_argument("--per-day", type=int, default=400)
    p.add_argument("--measure", choices=("day", "month", "submit"))
    p.add_argument("--url")
    a = p.parse_args()
    if a.measure:
        print(json.dumps(measure(a.measure, a.url, a.canteens)))
        return
    sys.exit(0 if run(a.engines.split(","), a.canteens, a.per_day) else 1)


if __name__ == "__main__":
    main()
