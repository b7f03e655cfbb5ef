"""`canteen report daily|monthly` and `canteen close-day`: files written, one-line errors."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from pos.web.cli import cli
from report_data import sample_day
from report_tools import read_csv


def _data(app):
    with app.extensions["canteen_db"].transaction() as s:
        sample_day(s, date(2026, 3, 2))
        sample_day(s, date(2026, 3, 2), "JM01")


def test_report_commands_write_pdf_and_csv(app, runner, tmp_path):
    _data(app)
    out = tmp_path / "out"
    out.mkdir()
    pdf = out / "d.pdf"
    r = runner.invoke(cli, args=["report", "daily", "--date", "2026-03-02", "--canteen", "YLW01", "--out", str(pdf)])
    assert r.exit_code == 0, r.output
    assert pdf.read_bytes().startswith(b"%PDF")
    # Without --canteen: the community of the first configured canteen (YLW01's), not every canteen.
    r = runner.invoke(cli, args=["report", "monthly", "--month", "2026-03", "--out", str(out / "m.pdf")])
    assert r.exit_code == 0, r.output
    assert "1 canteen(s)" in r.output and "¥25.00" in r.output and "provisional" in r.output
    assert (out / "m.pdf").read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in out.iterdir()) == ["d.pdf", "m.pdf"]


def test_monthly_csv_and_xlsx_go_beside_the_pdf_under_their_own_names(app, runner, tmp_path):
    _data(app)
    out = tmp_path / "out"
    out.mkdir()
    r = runner.invoke(cli, args=["report", "monthly", "--month", "2026-03", "--canteen", "JM01", "--csv", "--xlsx",
                                 "--out", str(out / "claim.pdf")])
    assert r.exit_code == 0, r.output
    names = ["claim.pdf", "claim-grants.csv", "claim-summary.csv", "claim.xlsx"]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)  # no leftover .part files
    assert r.output.startswith("wrote " + ", ".join(str(out / n) for n in names) + ": 1 canteen(s)")
    assert (out / "claim.pdf").read_bytes().startswith(b"%PDF")
    grants = read_csv((out / "claim-grants.csv").read_bytes())
    assert len(grants) == 6 and grants[1][0] == '="JM01"'
    assert read_csv((out / "claim-summary.csv").read_bytes())[-1][8] == "25.00"
    assert (out / "claim.xlsx").read_bytes().startswith(b"PK")


@pytest.mark.parametrize("args, message", [
    (["--out", "m.csv", "--csv"], "--out must name the PDF, NAME.pdf (got 'm.csv')"),
    (["--out", "m", "--xlsx"], "--out must name the PDF"),
    (["--out", "/nonexistent-dir/m.pdf", "--csv"], "cannot write /nonexistent-dir/m-grants.csv"),
])
def test_monthly_refuses_an_out_that_is_not_a_pdf_in_one_line(app, runner, args, message):
    _data(app)
    r = runner.invoke(cli, args=["report", "monthly", "--month", "2026-03", *args])
    assert r.exit_code == 1, r.output
    assert message in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_close_day_command_and_its_refusals(app, runner):
    _data(app)
    r = runner.invoke(cli, args=["close-day", "--date", "2026-03-02", "--canteen", "JM01"])
    assert r.exit_code == 0, r.output
    assert "closed JM01 2026-03-02: 5 sales" in r.output and "sha256" in r.output
    for args, message, status in [
        (["close-day", "--date", "2026-03-02", "--canteen", "JM01"], "already closed", 1),
        (["close-day", "--date", (date.today() + timedelta(days=2)).isoformat()], "in the future", 1),
        (["close-day", "--date", "2999-01-01"], "--date must be between 2000-01-01 and", 2),
        (["close-day", "--date", "02/03/2026"], "--date must be YYYY-MM-DD", 2),
        (["close-day", "--date", "2026-03-02", "--canteen", "NOPE"], "unknown canteen 'NOPE'", 1),
        (["close-day", "--date", "2026-03-02", "--by", "cashier"], "not an active supervisor", 1),
        (["report", "monthly", "--month", "2026-13", "--out", "x.pdf"], "YYYY-MM", 2),
    ]:
        r = runner.invoke(cli, args=args)
        assert r.exit_code == status, (args, r.output)
        assert message in r.output and "Traceback" not in r.output
        assert len(r.output.strip().splitlines()) == 1
