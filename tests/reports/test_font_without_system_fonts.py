"""PDFs render on a machine without any CJK font installed.

The package carries its CJK font (reports/cjk_font/), so the daily report, the monthly claim
and the voucher cards need nothing from the system.  To show it, the PDFs are made in a
private mount namespace where every system font folder is an empty tmpfs, through the real
`canteen` command (and the voucher cards through the same functions the print page uses);
then poppler reads their Chinese back and lists the embedded font.
"""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from support import IN_CI, ROOT, need_tool

FONT_FOLDERS = ("/usr/share/fonts", "/usr/local/share/fonts", "/usr/share/texmf/fonts", "/usr/X11R6/lib/X11/fonts",
                str(Path.home() / ".fonts"), str(Path.home() / ".local/share/fonts"))

CARDS = """
import sys
from datetime import date
from pos.web import create_app
from pos.web.printing import voucher_card_data
from reports.printables import render_voucher_cards
app = create_app()
with app.app_context():
    with app.extensions["canteen_db"].session() as s:
        cards = voucher_card_data(session=s, settings=app.config["CANTEEN"], community=None, diner_ids=None,
                                  today=date.fromisoformat(sys.argv[1]))
    assert cards, "the demo has voucher cards"
    open(sys.argv[2], "wb").write(render_voucher_cards(cards))
"""


def _hidden_fonts_prefix() -> list[str]:
    """A command prefix that runs its command with every existing system font folder hidden
    under an empty tmpfs (skips, or fails on CI, when mount namespaces are not allowed)."""
    unshare = need_tool("unshare", "util-linux")
    mounts = " && ".join(f"mount -t tmpfs none {f}" for f in FONT_FOLDERS if os.path.isdir(f)) or "true"
    prefix = [unshare, "--mount"] + ([] if os.geteuid() == 0 else ["--map-root-user"])
    probe = subprocess.run([*prefix, "sh", "-c", f"{mounts} && ls {' '.join(FONT_FOLDERS[:2])} 2>/dev/null | "
                            "grep -v ':$' | grep -c . || true"], capture_output=True, text=True)
    if probe.returncode != 0:
        msg = f"cannot hide the system fonts in a mount namespace here: {probe.stderr.strip()[:200]}"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    assert probe.stdout.strip() == "0", f"font folders still show files inside the namespace: {probe.stdout}"
    return [*prefix, "sh", "-c", f'{mounts} && exec "$@"', "hidden-fonts"]


def test_reports_and_cards_render_chinese_with_no_system_font(tmp_path):
    pdftotext, pdffonts = need_tool("pdftotext", "poppler-utils"), need_tool("pdffonts", "poppler-utils")
    hidden = _hidden_fonts_prefix()
    canteen = str(Path(sys.executable).with_name("canteen"))
    env = {**os.environ, "CANTEEN_ENV": "development", "CANTEEN_CONFIG": str(ROOT / "config.toml"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'canteen.db'}"}
    env.pop("CANTEEN_CJK_FONT", None)

    def run(*args: str) -> None:
        r = subprocess.run([*hidden, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"{args}: {r.stdout}\n{r.stderr}"

    # The demo's history: closed days before yesterday; this month has them unless it just began.
    today = date.today()
    closed = today - timedelta(days=3)
    run(canteen, "init", "--with-demo")
    run(canteen, "report", "daily", "--date", closed.isoformat(), "--canteen", "YLW01", "--out", "daily.pdf")
    run(canteen, "report", "monthly", "--month", closed.strftime("%Y-%m"), "--canteen", "YLW01", "--out", "claim.pdf")
    run(sys.executable, "-c", CARDS, today.isoformat(), "cards.pdf")

    for name, words in (("daily.pdf", ("日结对账单", "收银员")), ("claim.pdf", ("补贴", "食堂")),
                        ("cards.pdf", ("餐券",))):
        pdf = tmp_path / name
        text = subprocess.run([pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
        for word in words:
            assert word in text, f"{name}: {word!r} not read back from the PDF"
        fonts = subprocess.run([pdffonts, str(pdf)], capture_output=True, text=True, check=True).stdout
        cjk = [line.split() for line in fonts.splitlines()[2:] if "CanteenCJK" in line or "WenQuanYi" in line]
        assert cjk, f"{name}: no CJK font listed: {fonts}"
        assert all(row[-5] == "yes" for row in cjk), f"{name}: the CJK font is not embedded: {fonts}"


def test_the_font_travels_in_the_package():
    from reports import fonts

    assert fonts.PACKAGED.is_file() and fonts.PACKAGED.is_relative_to(ROOT / "reports")
    assert (fonts.PACKAGED.parent / "LICENSE-Apache-2.0.txt").is_file()
