"""Voucher printing and token size.  A plain script: ``python bench/bench_vouchers.py [--cards 1000]``.

Prints how long 1,000 voucher cards (100 A4 pages, QR codes drawn as vectors) take to
render — the target is at most 2 s — and the token length, the full voucher URL length
and the QR version it needs at error correction M (the target is version 7 or less), for
the configured base URL and for a long public address.  Also times token checking.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pos.config import load_settings  # noqa: E402
from pos.ids import new_id  # noqa: E402
from pos.store import tokens  # noqa: E402
from reports.printables import VoucherCard, qr_version, render_voucher_cards  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LONG_BASE = "https://canteen.cicheng.jiangbei.ningbo.gov.cn"
NAMES = ["张*娴", "王*婆", "李*伯", "陈*奶", "周*爷", "冯*傅", "许*姨", "施*哥"]
BENEFITS = ["80岁以上长者 每餐立减¥7.00", "60岁以上长者 每餐立减¥3.00", "环卫工公益套餐 每日一份（限量）"]


def cards(n: int, secret: str, base_url: str) -> list[VoucherCard]:
    out = []
    for i in range(n):
        token = tokens.seal(secret_key=secret, kind=tokens.KIND_VOUCHER, row_id=new_id(), number=1 + i % 3)
        code = tokens.new_code(tokens.VOUCHER_CODE_LENGTH)
        out.append(VoucherCard(url=f"{base_url}/v/{token}", code=tokens.display_code(code),
                               masked_name=NAMES[i % len(NAMES)], benefit=BENEFITS[i % len(BENEFITS)],
                               valid_until=date(2027, 3, 1), canteen="云鹭湾社区"))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="render runs; the best and median are shown")
    args = parser.parse_args()

    settings = load_settings(ROOT / "config.toml", env={"CANTEEN_ENV": "development"},
                             instance_path=ROOT / "instance")
    secret = settings.secret_key

    deck = cards(args.cards, secret, settings.base_url)
    render_voucher_cards(deck[:10])  # font registration and imports are not part of the run
    times, size = [], 0
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        pdf = render_voucher_cards(deck)
        times.append(time.perf_counter() - t0)
        size = len(pdf)
    pages = -(-args.cards // 10)
    best, median = min(times), statistics.median(times)
    verdict = "OK" if best <= 2.0 else "OVER TARGET"
    print(f"voucher cards: {args.cards} cards on {pages} A4 pages in {best:.2f} s best, {median:.2f} s median "
          f"of {args.repeat} (target <= 2 s: {verdict}); {size / 1024:.0f} KiB PDF, "
          f"{best / args.cards * 1000:.2f} ms a card")

    token = deck[0].url.rsplit("/", 1)[1]
    print(f"token: {len(token)} characters (payload 15 bytes + HMAC-SHA256 truncated to 15 bytes, base64url)")
    worst = 1
    for base in (settings.base_url, LONG_BASE):
        url = f"{base}/v/{token}"
        version = qr_version(url)
        worst = max(worst, version)
        print(f"url: {len(url)} characters -> QR version {version} at error correction M "
              f"({17 + 4 * version}x{17 + 4 * version} modules)  [{base}/v/...]")
    print(f"qr version target <= 7: {'OK' if worst <= 7 else 'OVER TARGET'}")

    minted = [c.url.rsplit("/", 1)[1] for c in deck]
    t0 = time.perf_counter()
    for tok in minted:
        tokens.open_token(secret_key=secret, token=tok)
    per = (time.perf_counter() - t0) / len(minted) * 1e6
    print(f"token check (shape, key id, signature): {per:.1f} us each over {len(minted)} tokens")
    # Timing depends on the machine and its load, so only the QR size fails the run.
    return 0 if worst <= 7 else 1


if __name__ == "__main__":
    raise SystemExit(main())
