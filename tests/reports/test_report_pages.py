"""The reports pages: who sees what, downloads (PDF, CSV with BOM, SVG chart), clear 4xx
for bad input, a clear 503 when the CJK font is missing, and the supervisor's day close."""
from __future__ import annotations

from datetime import date

import pytest

from report_data import sample_day
from report_tools import read_csv
from support import browser_login, build_app

MONTH = "2026-03"


@pytest.fixture
def pages_app(sqlite_url, tmp_path):
    app = build_app(sqlite_url, tmp_path, WTF_CSRF_ENABLED=False)
    with app.extensions["canteen_db"].transaction() as s:
        sample_day(s, date(2026, 3, 2))
        sample_day(s, date(2026, 3, 2), "JM01")
    yield app
    app.extensions["canteen_db"].dispose()


def _signed_in(app, username):
    client = app.test_client()
    assert browser_login(client, username).status_code == 302
    return client


def test_accountant_sees_the_month_with_the_claim_total_and_chart(pages_app):
    c = _signed_in(pages_app, "accountant")
    r = c.get(f"/reports?month={MONTH}")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "云鹭湾社区邻里食堂" in page and "¥25.00" in page and "暂定" in page
    assert "景明社区长者食堂" not in page  # another community's canteen is not offered
    assert "<script>" not in page and "chart.svg" in page
    svg = c.get(f"/reports/chart.svg?month={MONTH}")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data


def test_accountant_downloads_pdf_and_csvs(pages_app):
    c = _signed_in(pages_app, "accountant")
    pdf = c.get(f"/reports/monthly.pdf?month={MONTH}&canteen=YLW01")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert "attachment" in pdf.headers["Content-Disposition"]
    grants = read_csv(c.get(f"/reports/monthly-grants.csv?month={MONTH}&canteen=YLW01").data)
    assert len(grants) == 1 + 5 and grants[0][0] == "食堂编号"  # one row per grant, voided ones included
    summary = read_csv(c.get(f"/reports/monthly-summary.csv?month={MONTH}").data)
    assert summary[-1][0] == "合计" and summary[-1][8] == "25.00"
    daily = c.get("/reports/daily.pdf?canteen=YLW01&date=2026-03-02")
    assert daily.status_code == 200 and daily.data.startswith(b"%PDF")


def test_scope_and_roles_are_enforced(pages_app):
    accountant = _signed_in(pages_app, "accountant")
    assert accountant.get(f"/reports/monthly.pdf?month={MONTH}&canteen=JM01").status_code == 403
    assert accountant.get("/reports/daily.pdf?canteen=JM01&date=2026-03-02").status_code == 403
    assert accountant.post("/reports/day-close", data={"business_date": "2026-03-02"}).status_code == 403
    cashier = _signed_in(pages_app, "cashier")
    assert cashier.get("/reports").status_code == 403
    assert cashier.get(f"/reports/monthly.pdf?month={MONTH}").status_code == 403
    supervisor = _signed_in(pages_app, "jm-supervisor")
    assert supervisor.get("/reports/daily.pdf?canteen=YLW01&date=2026-03-02").status_code == 403
    assert pages_app.test_client().get("/reports").status_code == 302  # to the sign-in page


@pytest.mark.parametrize("url, code", [
    ("/reports?month=2026-3", 400), ("/reports/monthly.pdf?month=march", 400),
    ("/reports/daily.pdf?date=2026-02-30", 400), ("/reports/daily.pdf?date=", 400),
    ("/reports/monthly.pdf?month=2026-03&canteen=NOPE", 404),
])
def test_bad_input_is_a_clear_4xx(pages_app, url, code):
    r = _signed_in(pages_app, "admin").get(url)
    assert r.status_code == code
    # A zh reader gets the Chinese message only (error.html shows one language).
    assert "YYYY" in r.get_data(as_text=True) or "没有这个食堂" in r.get_data(as_text=True)


def test_a_missing_cjk_font_is_a_clear_503_not_a_500(pages_app, monkeypatch):
    import reports.fonts as fonts

    monkeypatch.setattr(fonts, "_registered", None)
    monkeypatch.setenv("CANTEEN_CJK_FONT", "/nonexistent/font.ttf")
    c = _signed_in(pages_app, "admin")
    for url in ("/reports/daily.pdf?canteen=YLW01&date=2026-03-02", f"/reports/monthly.pdf?month={MONTH}"):
        r = c.get(url)
        assert r.status_code == 503
        assert "中文字体" in r.get_data(as_text=True)
        # The English page (the administrator's) names the setting to fix.
        assert "CANTEEN_CJK_FONT" in c.get(url + "&lang=en").get_data(as_text=True)


def test_supervisor_closes_a_day_from_the_page(pages_app):
    c = _signed_in(pages_app, "supervisor")
    page = c.get("/reports").get_data(as_text=True)
    assert "日结" in page and "business_date" in page
    r = c.post("/reports/day-close", data={"business_date": "2026-03-02"})
    assert r.status_code == 302 and "closed=" in r.headers["Location"]
    again = c.post("/reports/day-close", data={"business_date": "2026-03-02"}, follow_redirects=True)
    assert again.status_code == 200 and "已经日结过了" in again.get_data(as_text=True)
    daily = c.get("/reports/daily.pdf?date=2026-03-02")
    assert daily.status_code == 200 and daily.data.startswith(b"%PDF")


def test_the_page_speaks_english_on_request(pages_app):
    page = _signed_in(pages_app, "accountant").get(f"/reports?month={MONTH}&lang=en").get_data(as_text=True)
    assert "Monthly subsidy claim" in page and "Download the claim (PDF)" in page and "Provisional" in page
