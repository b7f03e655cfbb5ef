"""The accountant's spreadsheet stays true: the claim's CSVs and XLSX, opened by LibreOffice
(``soffice --headless --convert-to``), keep every identifier as the same text (pseudonyms
shaped like ``0123456789`` or ``12345e6789``, a canteen code ``0012``, policy version
``2026-01``) and every amount as a number equal to the database's; the cells a zh user
reads are Chinese."""
from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, update

from pos.clock import now_utc
from pos.models import Canteen, Diner, Sale, StaffUser, SubsidyGrant
from report_data import Book, sample_day
from reports import service
from reports.claim_columns import GRANT_COLUMNS, Fen, Id, grant_cells, summary_rows
from reports.claim_grants import grant_rows
from reports.csvs import GRANT_HEADER, SUMMARY_HEADER, as_text, csv_cell, iter_grants_csv, summary_csv
from reports.xlsx import XLSX, claim_xlsx
from support import need_tool

MONTH, DAY = date(2026, 3, 1), date(2026, 3, 2)
G, S = SubsidyGrant.__table__, Sale.__table__
# Diner keys whose 10-character pseudonym a spreadsheet would read as a number.
DANGEROUS_KEYS = ["0123456789" + "a" * 54, "12345e6789" + "b" * 54, "0e12345678" + "c" * 54,
                  "0000000000" + "d" * 54, "1234567890" + "f" * 54]
TICKET_KEY = "ticket:0000000000000012e345"
ODF = {"table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
       "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
       "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0"}
T, O, X = (f"{{{ODF[k]}}}" for k in ("table", "office", "text"))


def expected_diner(key: str) -> str:
    """What the spreadsheet must show for a diner key, worked out here, not by the code under test."""
    return "公益餐券 " + key[-6:] if key.startswith("ticket:") else key[:10]


def _dangerous_claim(app):
    """YLW01's sample day plus a canteen coded 0012 whose diners have dangerous pseudonyms,
    a registered diner's masked ID, meal periods and an 80+ rule."""
    with app.extensions["canteen_db"].transaction() as s:
        sample_day(s, DAY)
        s.add(Canteen(id="0012", name="第十二社区食堂", community="云鹭湾社区", timezone="Asia/Shanghai"))
        s.flush()
        registrar = s.exec(select(StaffUser.id).where(StaffUser.username == "registrar")).first()[0]
        diner = Diner(name="王*", id_hmac=DANGEROUS_KEYS[0], id_masked="0102**********0012",
                      birth_date=date(1940, 5, 1), resident=True, community="云鹭湾社区", created_by=registrar,
                      created_at=datetime(2026, 1, 5), updated_at=datetime(2026, 1, 5))
        s.add(diner)
        s.flush()
        book = Book(s, "0012")
        shift = book.shift(DAY)
        for n, key in enumerate(DANGEROUS_KEYS + [TICKET_KEY]):
            kind = "free_meal" if key.startswith("ticket:") else "age_tier"
            sale = book.sale(shift, DAY, gross_fen=1523 + n, kind=kind, amount_fen=1523 + n if kind == "free_meal"
                             else 700, diner=1000 + n, hour=11 + n % 3, minute=7 * n)
            book.s.connection().execute(update(G).where(G.c.sale_id == sale).values(
                diner_key=key, diner_id=diner.id if n == 0 else None, period=("breakfast", "lunch", "dinner")[n % 3],
                rule_id="free_meal" if kind == "free_meal" else "age_tier:80"))
        book.close_shift(shift, DAY)
        book.finish()


def _render(app):
    """The claim's files and the typed rows they were written from."""
    settings = app.config["CANTEEN"]
    with app.extensions["canteen_db"].session() as s:
        claim = service.build_claim(session=s, settings=settings, canteen_ids=["0012", "YLW01"], month=MONTH,
                                    now=now_utc())
        grants = list(grant_rows(session=s, canteens=claim.data.canteens, month=MONTH))
        truth = {(r.canteen_id, r.receipt_no): r for r in s.connection().execute(
            select(G.c.canteen_id, S.c.receipt_no, G.c.amount_fen, G.c.voided, G.c.diner_key)
            .select_from(G.join(S, S.c.id == G.c.sale_id))
            .where(G.c.business_date.between(date(2026, 3, 1), date(2026, 3, 31))))}
    files = {"grants.csv": b"".join(iter_grants_csv(grants, claim.timezone)), "summary.csv": summary_csv(claim)[2],
             "claim.xlsx": claim_xlsx(claim, grants)[2]}
    typed = {"grants": [grant_cells(g, claim.timezone) for g in grants], "summary": summary_rows(claim)}
    return claim, files, typed, truth


# -- LibreOffice ------------------------------------------------------------------------

def libreoffice(tmp_path: Path, files: dict[str, bytes]) -> dict[str, dict[str, list[list]]]:
    """Each file as LibreOffice Calc reads it (CSV: comma, UTF-8, as its import dialog
    proposes), saved as flat ODF and parsed: ``{file: {sheet: rows of (type, value)}}``."""
    soffice = need_tool("/usr/bin/soffice", "libreoffice-calc-nogui")
    profile = f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}"  # one per test: parallel runs do not clash
    out = tmp_path / "lo-out"
    for names, infilter in ([n for n in files if n.endswith(".csv")], ["--infilter=CSV:44,34,76,1"]), \
            ([n for n in files if n.endswith(".xlsx")], []):
        paths = []
        for name in names:
            (tmp_path / name).write_bytes(files[name])
            paths.append(str(tmp_path / name))
        run = subprocess.run([soffice, profile, "--headless", *infilter, "--convert-to", "fods", "--outdir",
                              str(out), *paths], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
    return {name: read_fods(out / (Path(name).stem + ".fods")) for name in files}


def _cell(cell):
    kind = cell.get(O + "value-type")
    if kind is None:
        return None
    if kind == "string":
        return "string", "\n".join("".join(p.itertext()) for p in cell.findall(X + "p"))
    if kind in ("float", "percentage", "currency"):
        return kind, Decimal(cell.get(O + "value"))
    return kind, cell.get(O + f"{kind}-value")


def read_fods(path: Path) -> dict[str, list[list]]:
    """A flat ODF spreadsheet's sheets as rows of ``(value-type, value)`` or None (empty),
    repeated cells and rows expanded and empty ends dropped."""
    sheets = {}
    for table in ET.parse(path).getroot().iter(T + "table"):
        rows = []
        for row in table.iter(T + "table-row"):
            cells = []
            for cell in row:
                if cell.tag in (T + "table-cell", T + "covered-table-cell"):
                    cells += [_cell(cell)] * min(int(cell.get(T + "number-columns-repeated", "1")), 100)
            while cells and cells[-1] is None:
                cells.pop()
            if cells:
                rows += [cells] * int(row.get(T + "number-rows-repeated", "1"))
        sheets[table.get(T + "name")] = rows
    return sheets


def _seconds(iso_duration: str) -> float:
    h, m, s = re.fullmatch(r"PT(\d+)H(\d+)M([\d.]+)S", iso_duration).groups()
    return int(h) * 3600 + int(m) * 60 + float(s)


def assert_read_as_written(read: list, typed: tuple) -> None:
    """Every cell as LibreOffice read it equals the typed cell it was written from:
    identifiers and words the same text, money a number equal to the fen, counts numbers,
    dates dates, times times."""
    read = read + [None] * (len(typed) - len(read))
    for got, want in zip(read, typed):
        if isinstance(want, str):  # Id or a word
            assert (got or ("string", "")) == ("string", want), (got, want)
        elif isinstance(want, Fen):
            assert got[0] == "float" and got[1] * 100 == int(want), (got, want)
        elif isinstance(want, int):
            assert got == ("float", Decimal(want)), (got, want)
        elif isinstance(want, date):
            assert got[0] == "date" and got[1][:10] == want.isoformat() and got[1][10:] in ("", "T00:00:00"), got
        elif isinstance(want, time):
            assert got[0] == "time", got
            assert abs(_seconds(got[1]) - (want.hour * 3600 + want.minute * 60 + want.second)) < 0.01, (got, want)
        else:
            raise AssertionError(f"unexpected typed cell {want!r}")


def test_libreoffice_reads_back_every_identifier_and_amount_of_the_csv_and_xlsx(sqlite_app, tmp_path):
    _dangerous_claim(sqlite_app)
    claim, files, typed, truth = _render(sqlite_app)
    assert claim.data.total_fen == sum(r.amount_fen for r in truth.values() if not r.voided)
    read = libreoffice(tmp_path, files)

    for grants, summary in ((read["grants.csv"]["grants"], read["summary.csv"]["summary"]),
                            (read["claim.xlsx"]["补贴明细"], read["claim.xlsx"]["按日汇总"])):
        assert [v for _, v in grants[0]] == list(GRANT_HEADER)
        assert len(grants) == 1 + len(typed["grants"]) == 1 + len(truth)
        for got, want in zip(grants[1:], typed["grants"]):
            assert_read_as_written(got, want)
        for got, want in zip(summary[1:], typed["summary"]):
            assert_read_as_written(got, want)
        # ... and against the database itself, column by column.
        col = {name: i for i, name in enumerate(GRANT_HEADER)}
        diners = set()
        for row in grants[1:]:
            code, receipt = row[col["食堂编号"]], row[col["单号"]]
            assert code[0] == "string" and receipt[0] == "float"
            db = truth[(code[1], int(receipt[1]))]
            assert row[col["就餐者（假名）"]] == ("string", expected_diner(db.diner_key))
            assert row[col["补贴金额（元）"]] == ("float", Decimal(db.amount_fen) / 100)
            assert row[col["申领金额（元）"]] == ("float", Decimal(0 if db.voided else db.amount_fen) / 100)
            assert row[col["政策版本"]] == ("string", "2026-01")
            diners.add(row[col["就餐者（假名）"]][1])
        assert {expected_diner(k) for k in DANGEROUS_KEYS + [TICKET_KEY]} <= diners
        assert {"0123456789", "12345e6789", "0e12345678", "0000000000", "1234567890", "公益餐券 12e345"} <= diners
        assert ("string", "0102**********0012") in (r[col["身份证（掩码）"]] for r in grants[1:])
        assert summary[-1][0] == ("string", "合计")
        assert summary[-1][SUMMARY_HEADER.index("当日申领合计（元）")] == ("float", Decimal(claim.data.total_fen) / 100)

    book = read["claim.xlsx"]
    assert set(book) == {"申领信息", "按日汇总", "补贴明细", "按就餐者", "更正调整"}
    facts = {row[0][1]: row[1] for row in book["申领信息"] if len(row) > 1 and row[0]}
    assert facts["申领合计（元）"] == ("float", Decimal(claim.data.total_fen) / 100)
    assert facts["月份"] == ("string", "2026-03") and facts["数据 SHA-256"] == ("string", claim.sha256)
    diner_rows = {r[0][1]: r for r in book["按就餐者"][1:]}
    assert {expected_diner(k) for k in DANGEROUS_KEYS} <= set(diner_rows)
    assert diner_rows["0123456789"][1] == ("string", "0102**********0012")
    assert sum(r[5][1] for r in diner_rows.values()) * 100 == claim.data.total_fen


def test_cells_a_zh_user_reads_are_chinese_and_codes_stay_in_their_own_columns(app):
    _dangerous_claim(app)
    _, files, typed, _ = _render(app)
    col = {name: i for i, name in enumerate(GRANT_HEADER)}
    for row in typed["grants"]:
        words = [v for c, v in zip(GRANT_COLUMNS, row) if isinstance(v, str) and not isinstance(v, Id)]
        assert not any(re.search("[A-Za-z]", w) for w in words), words
        assert not row[col["就餐者（假名）"]].startswith("ticket")
    rules = {row[col["规则"]]: row[col["规则代码"]] for row in typed["grants"]}
    assert rules == {"60岁以上老龄立减": "age_tier:60", "80岁以上老龄立减": "age_tier:80", "公益免费餐": "free_meal"}
    periods = {row[col["餐段"]] for row in typed["grants"]}
    assert periods == {"", "早餐", "午餐", "晚餐"}
    assert all(re.search("[\u4e00-\u9fff]", h) for h in GRANT_HEADER)
    assert files["claim.xlsx"].startswith(b"PK")


@pytest.mark.parametrize("cell, written", [
    (Id("0123456789"), '="0123456789"'), (Id("12345e6789"), '="12345e6789"'), (Id("2026-01"), '="2026-01"'),
    (Id('a"b'), '="a""b"'), (Id(""), ""), (Fen(1250), "12.50"), (Fen(-300), "-3.00"), (Fen(123456789), "1234567.89"),
    (7, "7"), (date(2026, 3, 2), "2026-03-02"), (time(11, 5), "11:05:00"),
    ("云鹭湾社区邻里食堂", "云鹭湾社区邻里食堂"), ("=1+1", '="=1+1"'), ("-3", '="-3"'), ("12号食堂", '="12号食堂"'),
])
def test_csv_cells_keep_their_meaning(cell, written):
    assert csv_cell(cell) == written
    assert as_text("x") == '="x"'


def test_accountant_downloads_the_xlsx_beside_the_csvs(sqlite_app):
    from support import browser_login

    sqlite_app.config["WTF_CSRF_ENABLED"] = False
    with sqlite_app.extensions["canteen_db"].transaction() as s:
        sample_day(s, DAY)
    c = sqlite_app.test_client()
    assert browser_login(c, "accountant").status_code == 302
    page = c.get("/reports?month=2026-03").get_data(as_text=True)
    assert "monthly.xlsx" in page and "Excel 表格 XLSX" in page
    assert "Excel workbook XLSX" in c.get("/reports?month=2026-03&lang=en").get_data(as_text=True)
    r = c.get("/reports/monthly.xlsx?month=2026-03&canteen=YLW01")
    assert r.status_code == 200 and r.mimetype == XLSX and r.data.startswith(b"PK")
    assert r.headers["Content-Disposition"].replace('"', "") == "attachment; filename=claim-YLW01-2026-03.xlsx"
    assert r.headers["Cache-Control"] == "no-store"
    assert c.get("/reports/monthly.xlsx?month=2026-13").status_code == 400
    assert c.get("/reports/monthly.xlsx?month=2026-03&canteen=JM01").status_code == 403


def test_grants_beyond_a_sheets_last_row_go_on_in_the_next_sheet(sqlite_app, monkeypatch):
    import zipfile
    from io import BytesIO

    import reports.xlsx

    _dangerous_claim(sqlite_app)
    claim, _, typed, _ = _render(sqlite_app)
    monkeypatch.setattr(reports.xlsx, "MAX_ROWS", 5)  # a header and 4 grants a sheet
    with sqlite_app.extensions["canteen_db"].session() as s:
        _, _, body = claim_xlsx(claim, grant_rows(session=s, canteens=claim.data.canteens, month=MONTH))
    names = re.findall(r'<sheet name="([^"]+)"', zipfile.ZipFile(BytesIO(body)).read("xl/workbook.xml").decode())
    grant_sheets = [n for n in names if n.startswith("补贴明细")]
    assert len(typed["grants"]) == 11
    assert grant_sheets == ["补贴明细", "补贴明细（2）", "补贴明细（3）"]


def test_row_folders_of_a_killed_server_are_removed_at_start(tmp_path):
    """An XLSX build keeps its rows in a folder named after its process; `canteen serve`
    removes at start the folders whose process is gone (a server killed with kill -9 never
    ran its clean-up), and leaves a live process's alone."""
    import os

    from reports.xlsx import TMP_PREFIX, remove_stale_folders

    dead = tmp_path / f"{TMP_PREFIX}4194999-x1"  # above Linux's largest process id: no such process
    live = tmp_path / f"{TMP_PREFIX}{os.getpid()}-x2"
    other = tmp_path / "something-else"
    for folder in (dead, live, other):
        folder.mkdir()
        (folder / "rows.tmp").write_bytes(b"x")
    assert remove_stale_folders(str(tmp_path)) == 1
    assert not dead.exists() and live.exists() and other.exists()
