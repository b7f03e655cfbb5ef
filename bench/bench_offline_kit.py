"""The offline kit's size and build time for a district of 5,000 diners with vouchers.
A plain script: ``.venv/bin/python bench/bench_offline_kit.py [--diners 5000]``.

Builds a SQLite database with the demo canteen and that many diners (a mix of 60+, 80+,
outdoor workers and others, each with a live voucher), registers a till, and builds the
kit (pos.store.offline_kit) as GET /api/v1/till/offline-kit does.  Prints the raw and
gzip size and the build time.  Target: ≤ 500 KB compressed for 5,000 diners.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CANTEEN_ENV", "development")

TARGET_GZIP = 500 * 1024
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "秀英桂兰玉兰建国志强淑珍凤英金娴阿婆海燕国庆"


def build(db_url: str, tmp: Path, diners: int):
    """The app on a fresh database: the demo canteen plus ``diners`` diners with vouchers."""
    from pos import create_app
    from pos.clock import business_date
    from pos.config import load_settings
    from pos.db import init_schema
    from pos.demo import load_demo
    from pos.ids import new_id
    from pos.store import tokens
    from pos.store.canteens import sync_canteens
    from subsidies.resident_id import pseudonym

    settings = load_settings(ROOT / "config.toml", env={"CANTEEN_ENV": "development", "DATABASE_URL": db_url},
                             instance_path=tmp / "instance")
    app = create_app({"CANTEEN": settings, "TESTING": True})
    db = app.extensions["canteen_db"]
    init_schema(db.engine, force=True)
    with db.transaction() as s:
        sync_canteens(session=s, settings=settings)
    load_demo(settings, db)
    today = business_date(settings.default_canteen.timezone)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    rng = random.Random(17)
    with db.tx(write=True) as tx:
        staff = tx.one("SELECT id FROM staff_users WHERE username = 'registrar'")[0]
        codes = set()
        for i in range(diners):
            diner_id, years = new_id(), rng.choice((35, 45, 62, 68, 75, 83, 88))
            worker = rng.choice((None, None, "cleaner", "delivery_rider")) if years < 60 else None
            tx.execute("INSERT INTO diners (id, name, id_hmac, id_masked, birth_date, resident, community, "
                       "worker_category, worker_verified_by, worker_verified_on, created_by, created_at, updated_at) "
                       "VALUES (:i, :n, :h, :m, :b, :r, '云鹭湾社区', :w, :vb, :von, :s, :at, :at)",
                       {"i": diner_id, "n": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                        "h": pseudonym(settings.id_key, f"bench-{i}"), "m": f"3302**********{i % 10000:04d}",
                        "b": today - timedelta(days=365 * years + rng.randrange(365)), "r": True, "w": worker,
                        "vb": staff if worker else None, "von": today - timedelta(days=30) if worker else None,
                        "s": staff, "at": now})
            code = tokens.new_code(tokens.VOUCHER_CODE_LENGTH)
            while code in codes:
                code = tokens.new_code(tokens.VOUCHER_CODE_LENGTH)
            codes.add(code)
            tx.execute("INSERT INTO vouchers (id, diner_id, version, code, status, valid_until, issued_by, issued_at) "
                       "VALUES (:i, :d, 1, :c, 'active', :u, :s, :at)",
                       {"i": new_id(), "d": diner_id, "c": code, "u": today + timedelta(days=365), "s": staff,
                        "at": now})
        supervisor = tx.one("SELECT id FROM staff_users WHERE username = 'supervisor'")[0]
        device = new_id()
        tx.execute("INSERT INTO till_devices (id, canteen_id, name, token_hash, registered_by, registered_at) "
                   "VALUES (:i, 'YLW01', '1号收银台', :h, :s, :at)", {"i": device, "h": new_id(), "s": supervisor,
                                                                       "at": now})
    return app, settings, device, today


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--diners", type=int, default=5000)
    args = parser.parse_args()
    from pos.store.offline_kit import build_kit

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        app, settings, device, today = build(f"sqlite:///{tmp / 'kit.db'}", tmp, args.diners)
        db = app.extensions["canteen_db"]
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            with db.tx() as tx:
                kit = build_kit(tx, settings=settings, canteen_id="YLW01", business_date=today, device_id=device,
                                now=datetime.now(timezone.utc))
            body = json.dumps(kit, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            times.append(time.perf_counter() - t0)
        db.dispose()
    packed = gzip.compress(body, 6)
    print(f"offline kit, {len(kit['entitlements']):,} entitlements ({args.diners:,} bench diners + the demo's)")
    print(f"  raw  {len(body) / 1024:8.1f} KB")
    print(f"  gzip {len(packed) / 1024:8.1f} KB   target ≤ {TARGET_GZIP // 1024} KB   "
          f"{'OK' if len(packed) <= TARGET_GZIP else 'MISSED'}")
    print(f"  build {min(times) * 1000:7.0f} ms best of 3 (median {sorted(times)[1] * 1000:.0f} ms)")
    return 0 if len(packed) <= TARGET_GZIP else 1


if __name__ == "__main__":
    sys.exit(main())
