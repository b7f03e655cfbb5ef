"""Chinese stays Chinese: what a zh reader gets — the daily reconciliation and monthly claim
PDFs, the claim CSVs, the reports page, the back-office index and the error pages — holds no
English word.  Codes, digests, pseudonyms and policy versions may appear; each is removed
by name from the text first (taken from the report's own data), and the few words left are
listed in ``ALLOWED_WORDS`` with the reason they stay.  The PDFs' sections are numbered
without gaps, and the claim's per-diner table ends with a total row."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from html.parser import HTMLParser

import pytest
from sqlalchemy import select, update

from report_data import sample_day
from report_tools import line_with, read_csv
from pos.models import StaffUser, SubsidyGrant
from pos.store.corrections import book_correction
from pos.store.day_close import close_day
from reports import service
from reports.claim_grants import grant_rows
from reports.csvs import grants_csv, summary_csv
from reports.daily import render_daily
from reports.monthly import render_monthly
from subsidies.money import yuan
from support import browser_login, build_app

CLOSED, LATER = date(2026, 3, 2), date(2026, 3, 3)
MONTH = date(2026, 3, 1)
NOW = datetime(2026, 3, 4, 4, 0, tzinfo=timezone.utc)  # 12:00 in Ningbo, the day after LATER
CORRECTED_AT = datetime(2026, 3, 3, 5, 0, tzinfo=timezone.utc)  # 13:00 on LATER

#: Words a zh reader may meet, each for a reason.
ALLOWED_WORDS = {
    "SHA": "SHA-256 names the digest printed in the footer, so anyone can recompute it",
    "PDF": "a file format: the download links and the accountants call it so",
    "CSV": "a file format: the download links and the accountants call it so",
    "XLSX": "a file format: the download links and the accountants call it so",
    "Excel": "a product's name (the spreadsheet the XLSX download is for); it has no Chinese one",
    "English": "the language switch names the other language in that language, for its reader",
}
WORD = re.compile(r"[A-Za-z]{3,}")
HEX = re.compile(r"\b[0-9a-f]{10,}\b")  # digests, chain heads, pseudonymous keys
SECTION = re.compile(r"^\s*([一二三四五六七八九十]+)、", re.M)
NUMERALS = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二"]


def english_words(text: str, tokens=()) -> list[str]:
    """ASCII words of three or more letters in ``text`` once the data's own codes
    (``tokens``: canteen codes, pseudonyms, policy versions…) and hex digests are removed."""
    for token in sorted({t for t in tokens if t}, key=len, reverse=True):
        text = text.replace(token, " ")
    text = HEX.sub(" ", text)
    return sorted({w for w in WORD.findall(text) if w not in ALLOWED_WORDS})


def codes_of(data) -> set[str]:
    """What a report may print as it is: canteen codes, pseudonyms, masked IDs, policy versions."""
    tokens = {c.code for c in data.canteens} if hasattr(data, "canteens") else {data.canteen.code}
    for g in getattr(data, "grants", ()) + getattr(data, "diners", ()):
        tokens |= {g.diner, g.diner.removeprefix("ticket:"), g.masked_id}
    tokens |= {g.policy_version for g in getattr(data, "grants", ())}
    tokens |= {p.version for p in getattr(data, "policies", ())}
    return tokens


def csv_text(body: bytes) -> str:
    """The CSV's headers and cells, less the code columns (header ending 代码): codes may
    stay in a column of their own, beside the Chinese one."""
    rows = read_csv(body)
    shown = [i for i, header in enumerate(rows[0]) if not header.endswith("代码")]
    return "\n".join(",".join(row[i] for i in shown if i < len(row)) for row in rows)


def section_numbers(text: str) -> list[str]:
    return SECTION.findall(text)


class VisibleText(HTMLParser):
    """The text a reader sees on a page: text nodes outside script/style, and the
    attributes a browser shows (alt, title, placeholder, aria-label, button values)."""

    SHOWN = ("alt", "title", "placeholder", "aria-label")

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.hidden += 1
        attrs = dict(attrs)
        self.parts += [attrs[a] for a in self.SHOWN if attrs.get(a)]
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.parts.append(attrs["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(parser.parts)


def _admin(s):
    return s.execute(select(StaffUser).where(StaffUser.username == "admin")).scalars().one()


def _month_of_everything(app) -> None:
    """Two canteens, two days: sales, voids, free meals (one on a paper ticket, one in the
    lunch period), a correction on LATER of a sale of the closed CLOSED; YLW01 closes both
    days, JM01 neither (its days stay provisional)."""
    db, settings = app.extensions["canteen_db"], app.config["CANTEEN"]
    g = SubsidyGrant.__table__
    with db.transaction() as s:
        for day in (CLOSED, LATER):
            sample_day(s, day)
            sample_day(s, day, "JM01")
        conn = s.connection()
        free = conn.execute(select(g.c.id).where(g.c.business_date == LATER, g.c.kind == "free_meal",
                                                 g.c.voided.is_(False))).scalars().all()
        conn.execute(update(g).where(g.c.id == free[0]).values(diner_key="ticket:0195a3f2c7d4e8b1"))
        conn.execute(update(g).where(g.c.business_date == LATER, g.c.kind == "age_tier").values(period="lunch"))
    with db.transaction() as s:
        close_day(session=s, settings=settings, canteen_id="YLW01", business_date=CLOSED, actor=_admin(s), now=NOW)
    with db.session() as s:
        sale_id = s.connection().execute(select(g.c.sale_id).where(
            g.c.canteen_id == "YLW01", g.c.business_date == CLOSED, g.c.voided.is_(False),
            g.c.amount_fen == 700)).scalar()
    with db.transaction() as s:
        supervisor = s.execute(select(StaffUser).where(StaffUser.username == "supervisor")).scalars().one()
        book_correction(session=s, settings=settings, sale_id=sale_id, reason="补录：顾客当日已退餐", refund_fen=1000,
                        reversed_subsidy_fen=700, actor=_admin(s), approved_by=supervisor, now=CORRECTED_AT)
    with db.transaction() as s:
        close_day(session=s, settings=settings, canteen_id="YLW01", business_date=LATER, actor=_admin(s), now=NOW)


@pytest.fixture
def month_app(app):
    _month_of_everything(app)
    return app


def _daily(app, day):
    with app.extensions["canteen_db"].session() as s:
        return service.build_daily(session=s, settings=app.config["CANTEEN"], canteen_id="YLW01",
                                   business_date=day, now=NOW)


def _claim(app, codes):
    with app.extensions["canteen_db"].session() as s:
        return service.build_claim(session=s, settings=app.config["CANTEEN"], canteen_ids=codes, month=MONTH,
                                   now=NOW)


@pytest.mark.parametrize("day", [CLOSED, LATER], ids=["closed-day", "closed-day-with-correction"])
def test_the_daily_pdf_is_chinese_and_its_sections_run_without_gaps(month_app, poppler, day):
    report = _daily(month_app, day)
    assert report.close is not None and report.data.voids and report.data.summary.by_kind
    text = poppler.text(render_daily(report)[2])
    assert english_words(text, codes_of(report.data)) == []
    assert "核对" in text and "edit checks" not in text
    numbers = section_numbers(text)
    assert numbers == NUMERALS[:len(numbers)] and len(numbers) == (7 if report.data.corrections else 6)
    assert "2500 = 2500 分" in line_with(text, "补贴记录合计")
    assert "北京时间" in text


@pytest.mark.parametrize("codes", [["YLW01"], ["YLW01", "JM01"]], ids=["one-canteen", "two-canteens"])
def test_the_monthly_claim_pdf_is_chinese_numbered_netted_and_totalled(month_app, poppler, codes):
    report = _claim(month_app, codes)
    d = report.data
    text = poppler.text(render_monthly(report)[2])
    assert english_words(text, codes_of(d)) == []
    numbers = section_numbers(text)
    assert numbers == NUMERALS[:len(numbers)]
    assert len(numbers) == (8 if len(codes) > 1 else 7)  # the per-canteen section only for several
    assert "按食堂" in text if len(codes) > 1 else "按食堂" not in text
    # The adjustments: the correction of CLOSED booked on LATER, and the net claimed.
    assert [(a.original_date, a.reversed_subsidy_fen) for a in d.adjustments] == [(CLOSED, 700)]
    assert "本月更正调整" in text and "补录：顾客当日已退餐" in text
    assert d.net_fen == d.total_fen - 700 and yuan(d.net_fen) in line_with(text, "= 净申领")
    assert "明细见“本月更正调整”" in "".join(text.split())
    # The per-diner table ends with a total row equal to the claim.
    squeezed = ["".join(line.split()) for line in text.splitlines()]
    total_row = [line for line in squeezed if line.startswith(f"合计{len(d.diners)}人")]
    assert len(total_row) == 1 and total_row[0].endswith(yuan(d.total_fen))
    for words in ("0例", "已核对", "一致"):
        assert words in "".join(squeezed)


def test_the_per_grant_csv_is_chinese(month_app):
    report = _claim(month_app, ["YLW01", "JM01"])
    with month_app.extensions["canteen_db"].session() as s:
        rows = list(grant_rows(session=s, canteens=report.data.canteens, month=MONTH))
        body = grants_csv(rows, report)[2]
    tokens = codes_of(report.data) | {r.diner for r in rows} | {r.policy_version for r in rows}
    assert english_words(csv_text(body), tokens) == []
    assert "午餐" in csv_text(body)  # the meal period by its name; its code has a column of its own


def test_the_summary_csv_is_chinese(month_app):
    report = _claim(month_app, ["YLW01", "JM01"])
    assert english_words(csv_text(summary_csv(report)[2]), codes_of(report.data)) == []


@pytest.fixture
def pages_app(sqlite_url, tmp_path):
    app = build_app(sqlite_url, tmp_path, WTF_CSRF_ENABLED=False)
    _month_of_everything(app)
    yield app
    app.extensions["canteen_db"].dispose()


def _signed_in(app, username):
    client = app.test_client()
    assert browser_login(client, username).status_code == 302
    return client


def test_the_zh_pages_are_chinese(pages_app):
    settings = pages_app.config["CANTEEN"]
    tokens = {c.code for c in settings.canteens} | {v.version for v in settings.policy.versions}
    accountant, admin = _signed_in(pages_app, "accountant"), _signed_in(pages_app, "admin")
    pages = {
        "reports": accountant.get("/reports?month=2026-03"),
        "reports (admin, every canteen)": admin.get("/reports?month=2026-03&canteen=YLW01&canteen=JM01"),
        "back office": admin.get("/backoffice/"),
        "404": accountant.get("/no-such-page"),
        "403": accountant.get("/reports/monthly.pdf?month=2026-03&canteen=JM01"),
        "404 signed out": pages_app.test_client().get("/no-such-page"),
    }
    found = {}
    for name, r in pages.items():
        assert r.status_code in (200, 403, 404), (name, r.status_code)
        words = english_words(visible(r.get_data(as_text=True)), tokens)
        if words:
            found[name] = words
    assert found == {}
    assert "早餐" in visible(pages["back office"].get_data(as_text=True))  # the meal periods, by their names
    assert "找不到" in visible(pages["404"].get_data(as_text=True))


def test_an_english_reader_still_gets_english(pages_app):
    """The other way round: the English error page and check details have no Chinese."""
    client = pages_app.test_client()
    page = visible(client.get("/no-such-page?lang=en").get_data(as_text=True))
    # "中文" is the language switch, written for its reader.
    assert not re.search(r"[\u4e00-\u9fff]", page.replace("中文", "")), page
    report = _daily(pages_app, LATER)
    for check in report.checks:
        assert not re.search(r"[\u4e00-\u9fff]", check.label_in("en") + check.detail_in("en")), check
        assert check.detail_in("zh") == check.detail_zh
