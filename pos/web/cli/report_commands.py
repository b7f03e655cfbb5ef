"""`canteen report daily|monthly` and `canteen close-day`.

``report monthly --out NAME.pdf`` writes the claim PDF; ``--csv`` adds NAME-grants.csv and
NAME-summary.csv, ``--xlsx`` adds NAME.xlsx.  Without ``--canteen`` the claim covers the
community of the first configured canteen (the README's "the community").

Every refusal or mistake is one line on stderr (in English): a date or month that is
malformed or out of range (pos.web.input_policy) exits with status 2, like the other
commands' input errors; anything else with status 1 (a missing CJK font names the package
to install).  No tracebacks.
"""
from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import BinaryIO, Callable

import click
from flask.cli import with_appcontext
from sqlmodel import select

from pos.access import SUPERVISE
from pos.clock import now_utc
from pos.models import StaffUser
from pos.store.day_close import close_day
from pos.refusal import Refusal
from pos.web.input_policy import check_day, check_month
from pos.web.signin import db, settings
from reports import service
from reports.claim_grants import grant_rows
from reports.claim_queries import parse_month
from reports.csvs import iter_grants_csv, summary_csv
from reports.fonts import FontMissing
from reports.monthly import render_monthly
from reports.xlsx import write_claim_xlsx
from subsidies.money import yuan


def _fail(command: str, message: str, status: int = 1):
    click.echo(f"canteen {command}: {message}", err=True)
    sys.exit(status)


def _parse_date(command: str, text: str) -> date:
    try:
        return check_day(date.fromisoformat(text), "--date")
    except ValueError:
        _fail(command, f"--date must be YYYY-MM-DD, got {text!r}", 2)
    except Refusal as e:
        _fail(command, e.en, 2)


def _parse_month(command: str, text: str) -> date:
    try:
        return check_month(parse_month(text), "--month")
    except ValueError as e:
        _fail(command, str(e).replace("month", "--month", 1), 2)
    except Refusal as e:
        _fail(command, e.en, 2)


def _canteen(command: str, code: str | None) -> str:
    codes = [c.code for c in settings().canteens]
    if code is None:
        return settings().default_canteen.code
    if code not in codes:
        _fail(command, f"unknown canteen {code!r} (configured: {', '.join(codes)})")
    return code


def _write_via(command: str, path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write ``path`` through a temporary file beside it, renamed when complete, so an
    interrupted or failed run never leaves a half-written claim under the real name."""
    part = path.with_name(path.name + ".part")
    try:
        with part.open("wb") as f:
            write(f)
        os.replace(part, path)
    except OSError as e:
        _fail(command, f"cannot write {path}: {e.strerror}")
    finally:
        part.unlink(missing_ok=True)


def _beside(pdf: Path, ending: str) -> Path:
    """``NAME.pdf`` → ``NAME<ending>`` in the same folder."""
    return pdf.with_name(pdf.stem + ending)


def _community_canteens() -> list[str]:
    """The README's "the community": every configured canteen of the first configured canteen's community."""
    home = settings().default_canteen.community
    return [c.code for c in settings().canteens if c.community == home]


def _build_claim(session, codes: list[str], first: date):
    if len(codes) == 1:
        return service.build_claim(session=session, settings=settings(), canteen_ids=codes, month=first,
                                   now=now_utc())
    with click.progressbar(length=len(codes), label=f"reading {len(codes)} canteens", file=sys.stderr) as bar:
        return service.build_claim(session=session, settings=settings(), canteen_ids=codes, month=first,
                                   now=now_utc(), progress=lambda _c: bar.update(1))


def register(cli: click.Group) -> None:
    @cli.group("report")
    def report():
        """Daily reconciliations and monthly subsidy claims (PDF, CSV, XLSX)."""

    @report.command("daily")
    @click.option("--date", "day", required=True, help="Business date, YYYY-MM-DD.")
    @click.option("--canteen", "code", default=None, help="Canteen code (default: the first configured).")
    @click.option("--out", required=True, type=click.Path(dir_okay=False), help="PDF file to write.")
    @with_appcontext
    def report_daily(day: str, code: str | None, out: str):
        """Write the daily reconciliation PDF of one canteen and business date."""
        business_date, canteen = _parse_date("report daily", day), _canteen("report daily", code)
        try:
            with db().session() as s:
                _, _, body = service.daily_pdf(session=s, settings=settings(), canteen_id=canteen,
                                               business_date=business_date, now=now_utc())
        except FontMissing as e:
            _fail("report daily", str(e))
        _write_via("report daily", Path(out), lambda f: f.write(body))
        click.echo(f"wrote {out} ({len(body):,} bytes): {canteen} {business_date.isoformat()}")

    @report.command("monthly")
    @click.option("--month", required=True, help="Month, YYYY-MM.")
    @click.option("--canteen", "code", default=None,
                  help="One canteen (default: every canteen of the community of the first configured canteen).")
    @click.option("--out", required=True, type=click.Path(dir_okay=False),
                  help="The claim PDF to write, NAME.pdf; --csv and --xlsx write their files beside it.")
    @click.option("--csv", "as_csv", is_flag=True, help="Also write NAME-grants.csv (one row per grant) and "
                                                         "NAME-summary.csv (one row per canteen and day).")
    @click.option("--xlsx", "as_xlsx", is_flag=True,
                  help="Also write NAME.xlsx (typed cells: facts, summary, one row per grant, per diner).")
    @with_appcontext
    def report_monthly(month: str, code: str | None, out: str, as_csv: bool, as_xlsx: bool):
        """Write the monthly subsidy claim of one canteen or of the community."""
        command = "report monthly"
        first = _parse_month(command, month)
        pdf = Path(out)
        if pdf.suffix.lower() != ".pdf":
            _fail(command, f"--out must name the PDF, NAME.pdf (got {out!r}); --csv and --xlsx write "
                           "NAME-grants.csv, NAME-summary.csv and NAME.xlsx beside it")
        codes = [_canteen(command, code)] if code else _community_canteens()
        with db().session() as s:
            claim = _build_claim(s, codes, first)
            try:
                _, _, body = render_monthly(claim)  # first: a missing font fails before any file is written
            except FontMissing as e:
                _fail(command, str(e))
            written = [pdf]
            if as_csv:
                grants_path, summary_path = _beside(pdf, "-grants.csv"), _beside(pdf, "-summary.csv")
                _write_via(command, grants_path, lambda f: f.writelines(iter_grants_csv(
                    grant_rows(session=s, canteens=claim.data.canteens, month=first), claim.timezone)))
                _write_via(command, summary_path, lambda f: f.write(summary_csv(claim)[2]))
                written += [grants_path, summary_path]
            if as_xlsx:
                xlsx_path = _beside(pdf, ".xlsx")
                _write_via(command, xlsx_path, lambda f: write_claim_xlsx(
                    claim, grant_rows(session=s, canteens=claim.data.canteens, month=first), f))
                written.append(xlsx_path)
        _write_via(command, pdf, lambda f: f.write(body))
        click.echo(_total_line(claim, *written))

    @cli.command("close-day")
    @click.option("--date", "day", required=True, help="Business date to close, YYYY-MM-DD.")
    @click.option("--canteen", "code", default=None, help="Canteen code (default: the first configured).")
    @click.option("--by", "username", default=None,
                  help="Staff username recorded as closing the day (default: the canteen's supervisor, else an admin).")
    @with_appcontext
    def close_day_command(day: str, code: str | None, username: str | None):
        """Close a canteen's business date: no sale or void for it is accepted afterwards."""
        business_date, canteen = _parse_date("close-day", day), _canteen("close-day", code)
        with db().session() as s:
            q = select(StaffUser).where(StaffUser.active.is_(True))
            if username:
                actor = s.exec(q.where(StaffUser.username == username)).first()
                if actor is None or actor.role not in SUPERVISE \
                        or actor.canteen_id not in (None, canteen):
                    _fail("close-day", f"--by {username!r} is not an active supervisor of {canteen} or an admin")
            else:
                actor = (s.exec(q.where(StaffUser.role == "supervisor", StaffUser.canteen_id == canteen)).first()
                         or s.exec(q.where(StaffUser.role == "admin")).first())
                if actor is None:
                    _fail("close-day", f"no active supervisor of {canteen} or admin to record; add one or pass --by")
        try:
            with db().transaction() as s:
                report = close_day(session=s, settings=settings(), canteen_id=canteen, business_date=business_date,
                                   actor=actor, now=now_utc(), address="cli")
        except Refusal as e:
            _fail("close-day", e.en)
        summary = report.data.summary
        failed = [c.code for c in report.checks if not c.ok]
        click.echo(f"closed {canteen} {business_date.isoformat()}: {summary.sales} sales, subsidy "
                   f"{yuan(summary.subsidy_fen)}, due {yuan(summary.due_fen)}; ledger #{report.close.chain_seq}; "
                   f"report sha256 {report.sha256}" + (f"; CHECKS FAILED: {', '.join(failed)}" if failed else ""))


def _total_line(claim, *paths) -> str:
    d = claim.data
    state = "provisional (days not closed)" if d.provisional else "all days closed"
    failed = [c.code for c in d.checks if not c.ok]
    return (f"wrote {', '.join(str(p) for p in paths)}: {len(d.canteens)} canteen(s), {d.month:%Y-%m}, "
            f"claim {yuan(d.total_fen)} ({d.age_count + d.free_count} grants), {state}"
            + (f"; CHECKS FAILED: {', '.join(failed)}" if failed else ""))
