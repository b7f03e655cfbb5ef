"""The public "today" page in a browser.  A plain script:
``python bench/bench_public_page.py [--loads 10] [--code YLW01]``.

Serves the demo canteen (a fresh SQLite database) with waitress in this process, opens
/today/<code> in Debian's Chromium (Playwright, /usr/bin/chromium) at phone size (390×844)
``--loads`` times, each in a new browser context (an empty cache: everything is fetched, as
on a phone seeing the page for the first time), and measures

* the bytes transferred: the sum over every response of what came over the wire, headers
  included (the Chrome DevTools Protocol's ``Network.loadingFinished`` encodedDataLength);
* the time from the start of the navigation until the dishes and the free-meal count are
  laid out on screen (the first animation frame that has them, noted in the page), and
  until the load event.

Prints the median and the largest of each beside the targets — at most 100 KB transferred
on every load, and the dishes and count visible within 1 s (median) — and exits with
status 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}
MAX_BYTES = 100 * 1024
MAX_VISIBLE_S = 1.0


def serve_demo(tmp: Path):
    """The demo canteen served over HTTP on a free localhost port: (base URL, stop)."""
    os.environ.update(CANTEEN_ENV="development", CANTEEN_CONFIG=str(ROOT / "config.toml"),
                      DATABASE_URL=f"sqlite:///{tmp / 'canteen.db'}", CANTEEN_INSTANCE=str(tmp / "instance"))
    from waitress.server import create_server

    from pos import create_app
    from pos.db import init_schema
    from pos.demo import load_demo
    from pos.store.canteens import sync_canteens

    app = create_app()
    settings, db = app.config["CANTEEN"], app.extensions["canteen_db"]
    init_schema(db.engine, force=True)
    with db.transaction() as s:
        sync_canteens(session=s, settings=settings)
    load_demo(settings, db)
    server = create_server(app, host="127.0.0.1", port=0, threads=4, ident="canteen-bench")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    def stop():
        server.task_dispatcher.shutdown()
        server.close()
        db.dispose()

    return f"http://127.0.0.1:{server.effective_port}", stop


# Runs in the page before its own scripts: notes the first frame in which a dish and the
# count are laid out (the page's CSP does not apply to a script the browser is given this way).
VISIBLE_PROBE = """
(function () {
  function check() {
    var dish = document.querySelector('.dish'), count = document.getElementById('free-meals-left');
    if (dish && count && dish.getBoundingClientRect().height > 0 && count.getBoundingClientRect().height > 0) {
      window.__visibleAt = performance.now();
      return;
    }
    requestAnimationFrame(check);
  }
  requestAnimationFrame(check);
})();
"""


def one_load(browser, url: str) -> dict:
    """Open the page in a fresh context; bytes over the wire and the times, in seconds."""
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    page.add_init_script(VISIBLE_PROBE)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    received: list[int] = []
    requests: list[str] = []
    cdp.on("Network.requestWillBeSent", lambda e: requests.append(e["request"]["url"]))
    cdp.on("Network.loadingFinished", lambda e: received.append(int(e["encodedDataLength"])))
    page.goto(url, wait_until="commit")
    page.locator(".dish").first.wait_for(state="visible")
    page.locator("#free-meals-left").wait_for(state="visible")
    page.wait_for_function("() => window.__visibleAt !== undefined")
    visible_ms = page.evaluate("window.__visibleAt")
    page.wait_for_load_state("load")
    load_ms = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
    page.wait_for_timeout(100)  # the last loadingFinished events arrive after the load event
    out = {"bytes": sum(received), "requests": len(requests), "visible_s": visible_ms / 1000, "load_s": load_ms / 1000}
    context.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--code", default="YLW01", help="the canteen whose page to open")
    args = parser.parse_args()
    if not os.path.exists(CHROMIUM):
        print(f"{CHROMIUM} is missing (Debian package chromium; `make system-deps` installs it)")
        return 2
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        base, stop = serve_demo(Path(tmp))
        url = f"{base}/today/{args.code}"
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
                one_load(browser, url)  # Chromium's own start-up is not the page's
                runs = [one_load(browser, url) for _ in range(args.loads)]
                browser.close()
        finally:
            stop()

    def figures(key: str) -> tuple[float, float]:
        values = [r[key] for r in runs]
        return statistics.median(values), max(values)

    kb_median, kb_max = (v / 1024 for v in figures("bytes"))
    vis_median, vis_max = figures("visible_s")
    load_median, load_max = figures("load_s")
    bytes_ok = kb_max * 1024 <= MAX_BYTES
    time_ok = vis_median <= MAX_VISIBLE_S
    print(f"public page /today/{args.code} at {PHONE['width']}x{PHONE['height']}, {args.loads} loads with an empty cache, "
          f"{runs[0]['requests']} requests each")
    print(f"transferred: median {kb_median:.1f} KB, max {kb_max:.1f} KB (target <= {MAX_BYTES // 1024} KB: "
          f"{'OK' if bytes_ok else 'OVER TARGET'})")
    print(f"dishes and free-meal count visible: median {vis_median * 1000:.0f} ms, max {vis_max * 1000:.0f} ms "
          f"(target <= {MAX_VISIBLE_S * 1000:.0f} ms median: {'OK' if time_ok else 'OVER TARGET'})")
    print(f"load event: median {load_median * 1000:.0f} ms, max {load_max * 1000:.0f} ms")
    return 0 if bytes_ok and time_ok else 1


if __name__ == "__main__":
    sys.exit(main())
