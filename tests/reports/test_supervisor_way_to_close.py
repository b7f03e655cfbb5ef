"""The supervisor's way to the close: from the till to reports and day close in one tap
(even while the till asks for a shift), a confirmation that says what closing means, the
close button apart from the download links, and a refusal that names each open shift's
cashier."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from pos.clock import business_date
from support import api_token, browser_login


def signed_in(app, username: str, lang: str = "zh"):
    app.config["WTF_CSRF_ENABLED"] = False
    c = app.test_client()
    assert browser_login(c, username).status_code == 302
    c.set_cookie("lang", lang)
    return c


def today(app):
    return business_date(app.config["CANTEEN"].default_canteen.timezone)


@pytest.mark.parametrize("username, shown", [("supervisor", True), ("admin", True), ("cashier", False)])
def test_the_till_leads_a_supervisor_to_the_reports_even_from_the_shift_sheet(sqlite_app, username, shown):
    body = signed_in(sqlite_app, username).get("/till").get_data(as_text=True)
    assert ('id="nav-reports"' in body) is shown
    # The shift sheet covers the top bar until a shift is open: the way is in it too.
    sheet = body[body.index('id="shift-overlay"'):body.index('id="i18n-shift"')]
    assert ('href="/reports" id="shift-to-reports"' in sheet) is shown


def test_the_reports_page_leads_back_to_the_till(sqlite_app):
    assert 'id="nav-till"' in signed_in(sqlite_app, "supervisor").get("/reports").get_data(as_text=True)
    assert 'id="nav-till"' not in signed_in(sqlite_app, "accountant").get("/reports").get_data(as_text=True)


def close_section(body: str) -> str:
    return body[body.index('id="day-close"'):]


def test_closing_asks_first_and_says_what_closing_means(sqlite_app):
    body = signed_in(sqlite_app, "supervisor").get("/reports").get_data(as_text=True)
    section = close_section(body)
    # One form closes a day, and it is in the confirmation dialog, shut until asked.
    assert section.count('action="/reports/day-close"') == 1
    dialog = section[section.index('<dialog id="close-dialog"'):section.index("</dialog>")]
    assert 'action="/reports/day-close"' in dialog and not re.search(r"<dialog[^>]*\bopen\b", dialog)
    for words in ("不能再收款、作废，也不能再开班", "登记为更正单", "对账单就此定稿", "列出这些收银员"):
        assert words in dialog
    assert 'formmethod="dialog"' in dialog  # going back needs no script
    # Each open day has its own close button, in a column apart from the PDF link.
    yesterday = (today(sqlite_app) - timedelta(days=1)).isoformat()
    row = re.search(rf"<tr><td>云鹭湾社区邻里食堂</td><td>{yesterday}</td>.*?</tr>", section, re.S).group(0)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    assert "对账单 PDF" in cells[4] and "data-close-canteen" not in cells[4]
    assert 'data-close-canteen="YLW01"' in cells[5] and f'data-close-date="{yesterday}"' in cells[5]
    assert "download" not in cells[5] and "pdf" not in cells[5].lower()
    assert 'src="/static/reports.js"' in body


def test_the_confirmation_is_in_english_on_english_pages(sqlite_app):
    body = signed_in(sqlite_app, "supervisor", lang="en").get("/reports").get_data(as_text=True)
    dialog = body[body.index('<dialog id="close-dialog"'):body.index("</dialog>")]
    for words in ("no more sales, voids or shifts", "becomes a correction", "is frozen", "Back, do not close"):
        assert words in dialog
    assert not re.search(r"[\u4e00-\u9fff]", re.sub(r'<p class="close-what".*?</p>', "", dialog, flags=re.S))


def test_without_script_the_close_link_opens_the_dialog_for_that_day(sqlite_app):
    yesterday = (today(sqlite_app) - timedelta(days=1)).isoformat()
    c = signed_in(sqlite_app, "supervisor")
    body = c.get("/reports").get_data(as_text=True)
    link = re.search(rf'href="([^"]+)"\s+data-close-canteen="YLW01" data-close-date="{yesterday}"', body).group(1)
    page = c.get(link.replace("&amp;", "&")).get_data(as_text=True)
    dialog = page[page.index('<dialog id="close-dialog"'):page.index("</dialog>")]
    assert re.search(r"<dialog[^>]*\bopen\b", dialog)
    assert 'name="canteen" id="close-canteen" value="YLW01"' in dialog
    assert f'name="business_date" id="close-date" value="{yesterday}"' in dialog
    # Confirming closes that day; nothing was closed by merely asking.
    r = c.post("/reports/day-close", data={"canteen": "YLW01", "business_date": yesterday})
    assert r.status_code == 302 and "closed=" in r.headers["Location"]


def test_the_refusal_names_each_open_shifts_cashier(sqlite_app):
    client = sqlite_app.test_client()
    for username in ("cashier", "cashier2"):
        r = client.post("/api/v1/shifts", json={"opening_float_fen": 10000}, headers=api_token(client, username))
        assert r.status_code == 201, r.get_json()
    c = signed_in(sqlite_app, "supervisor")
    r = c.post("/reports/day-close", data={"canteen": "YLW01", "business_date": today(sqlite_app).isoformat()},
               follow_redirects=True)
    body = r.get_data(as_text=True)
    alert = re.search(r'<p class="alert" role="alert">(.*?)</p>', body, re.S).group(1)
    assert "收银员小王" in alert and "收银员小李" in alert and "交班" in alert
