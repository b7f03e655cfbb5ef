"""`canteen report daily|monthly` and `canteen close-day`: files written, one-line errors."""
from __future__ import annotations

from datetime import date

from pos.web.cli import cli
from report_data import sample_day
from report_tools import read_csv


def _data(app):
    with app.extensions["canteen_db"].transaction() as s:
        sample_day(s, date(2026, 3, 2))
        sample_day(s, date(2026, 3, 2), "JM01")


def test_report_commands_write_pdf_and_csv(app, runner, tmp_path):
    _data(app)
    out = tmp_path / "d.pdf"
    r = runner.invoke(cli, args=["report", "daily", "--date", "2026-03-02", "--canteen", "YLW01", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_bytes().startswith(b"%PDF")
    r = runner.invoke(cli, args=["report", "monthly", "--month", "2026-03", "--out", str(tmp_path / "m.pdf")])
    assert r.exit_code == 0, r.output
    assert "2 canteen(s)" in r.output and "¥50.00" in r.output and "provisional" in r.output
    r = runner.invoke(cli, args=["report", "monthly", "--month", "2026-03", "--canteen", "JM01", "--csv",
                            "--out", str(tmp_path / "m.csv")])
    assert r.exit_code == 0, r.output
    assert len(read_csv((tmp_path / "m.csv").read_bytes())) == 6
    assert read_csv((tmp_path / "m-summary.csv").read_bytes())[-1][8] == "25.00"


def test_close_day_command_and_its_refusals(app, runner):
    _data(app)
    r = runner.invoke(cli, args=["close-day", "--date", "2026-03-02", "--canteen", "JM01"])
    assert r.exit_code == 0, r.output
    assert "closed JM01 2026-03-02: 5 sales" in r.output and "sha256" in r.output
    for args, message in [
        (["close-day", "--date", "2026-03-02", "--canteen", "JM01"], "already closed"),
        (["close-day", "--date", "2999-01-01"], "in the future"),
        (["close-day", "--date", "02/03/2026"], "--date must be YYYY-MM-DD"),
        (["close-day", "--date", "2026-03-02", "--canteen", "NOPE"], "unknown canteen 'NOPE'"),
        (["close-day", "--date", "2026-03-02", "--by", "cashier"], "not an active supervisor"),
        (["report", "monthly", "--month", "2026-13", "--out", "x.pdf"], "YYYY-MM"),
    ]:
        r = runner.invoke(cli, args=args)
        assert r.exit_code == 1, (args, r.output)
        assert message in r.output and "Traceback" not in r.output
        assert len(r.output.strip().splitlines()) == 1
