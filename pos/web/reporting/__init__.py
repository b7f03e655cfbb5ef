"""Reports in the browser: the accountant's month (pick month and canteens, download the
claim PDF, CSVs and XLSX, see the daily subsidies as a server-drawn SVG chart), the daily
reconciliation PDF, and the supervisor's day close.

Views parse, call ``reports.service`` / ``pos.store.day_close``, and answer; a missing
CJK font is a clear 503, never a 500.  (This area is named ``reporting`` so that it is not
mistaken for the top-level ``reports`` package, which it calls.)
"""
from __future__ import annotations

import tempfile
from datetime import date, timedelta

from flask import (Blueprint, Flask, Response, redirect, render_template, request, send_file, stream_with_context,
                   url_for)
from flask_login import current_user
from sqlalchemy import func, select

from pos.access import SUPERVISE
from pos.clock import business_date, now_utc
from pos.models import DayClose, Sale
from pos.store.audit import audit
from pos.store.day_close import close_day
from pos.refusal import Refusal
from pos.web.i18n import current_language
from pos.web.input_policy import check_day, check_month
from pos.web.refusals import status_of
from pos.web.signin import canteen_named, client_address, db, settings, visible_canteens
from reports import service
from reports.charts import daily_subsidy_chart, svg
from reports.claim_grants import grant_rows
from reports.claim_queries import month_bounds, parse_month
from reports.csvs import grants_filename, iter_grants_csv, summary_csv
from reports.fonts import FontMissing, cjk_font
from reports.monthly import render_monthly
from reports.xlsx import XLSX, write_claim_xlsx, xlsx_filename
from subsidies.money import yuan

bp = Blueprint("reports", __name__, url_prefix="/reports")
RECENT_DAYS = 10


def font_or_503() -> None:
    """Refuse with a clear message when no CJK font can be embedded (never a 500)."""
    try:
        cjk_font()
    except FontMissing as e:
        raise Refusal("pdf_font_missing", "服务器缺少中文字体，暂时无法生成 PDF，请联系管理员", str(e)) from None


def _month() -> date:
    text = request.args.get("month") or ""
    if not text:
        return business_date(settings().default_canteen.timezone).replace(day=1)
    try:
        month = parse_month(text)
    except ValueError:
        raise Refusal("bad_month", "月份格式应为 YYYY-MM", f"month must be YYYY-MM, got {text!r}") from None
    return check_month(month)


def _date(text: str | None, field: str = "date") -> date:
    try:
        day = date.fromisoformat((text or "").strip())
    except ValueError:
        raise Refusal("bad_date", "日期格式应为 YYYY-MM-DD", f"date must be YYYY-MM-DD, got {text!r}") from None
    return check_day(day, field)


def _canteen_codes() -> list[str]:
    """The canteens asked for (``canteen`` repeated), each checked against the user's scope."""
    asked = [c for c in request.args.getlist("canteen") if c]
    if not asked:
        asked = [c.code for c in visible_canteens()]
    for code in asked:
        canteen_named(code)
    if not asked:
        raise Refusal("no_canteen", "请选择食堂", "choose at least one canteen")
    return sorted(set(asked))


def download(filename: str, mimetype: str, body) -> Response:
    """A file to save, never cached (claims carry pseudonymous diner data)."""
    resp = Response(body, mimetype=mimetype)
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    resp.headers["Cache-Control"] = "no-store"  # claims carry pseudonymous diner data
    return resp


def _claim(codes: list[str], month: date):
    with db().session() as s:
        return service.build_claim(session=s, settings=settings(), canteen_ids=codes, month=month, now=now_utc())


def _audit_export(kind: str, codes: list[str], month: date) -> None:
    with db().transaction() as s:
        audit(tx=s, action="claim_exported", actor=current_user, canteen_id=current_user.canteen_id,
              target=f"{month:%Y-%m}", address=client_address(), detail={"kind": kind, "canteens": codes})


@bp.get("")
def index():
    """The month page (claims and chart) and, for supervisors, the recent days to close."""
    month = _month()
    visible = visible_canteens()
    chosen = _canteen_codes()
    report = _claim(chosen, month)
    return render_template("reports/index.html", month=month, visible=visible, chosen=chosen, report=report,
                           recent=_recent_days(), error=request.args.get("error"),
                           closed=request.args.get("closed"), query=_query(chosen, month), yuan=yuan)


def _query(codes: list[str], month: date) -> dict:
    return {"month": f"{month:%Y-%m}", "canteen": codes}


def _recent_days() -> list[dict]:
    """The last days of the user's canteen, with sales counts and close state (supervisors and admins)."""
    if current_user.role not in SUPERVISE:
        return []
    out = []
    for canteen in visible_canteens()[:1] if current_user.canteen_id else visible_canteens():
        today = business_date(canteen.timezone)
        first = today - timedelta(days=RECENT_DAYS - 1)
        s_t, dc = Sale.__table__, DayClose.__table__
        with db().session() as s:
            conn = s.connection()
            counts = dict(conn.execute(select(s_t.c.business_date, func.count()).where(
                s_t.c.canteen_id == canteen.code, s_t.c.business_date.between(first, today))
                .group_by(s_t.c.business_date)).all())
            closed = set(conn.execute(select(dc.c.business_date).where(
                dc.c.canteen_id == canteen.code, dc.c.business_date.between(first, today))).scalars())
        for n in range(RECENT_DAYS):
            day = today - timedelta(days=n)
            out.append({"canteen": canteen, "date": day, "sales": counts.get(day, 0), "closed": day in closed})
    return out


@bp.get("/daily.pdf")
def daily_pdf():
    """The daily reconciliation PDF of one canteen and date."""
    code = canteen_named(request.args.get("canteen")).code
    day = _date(request.args.get("date"))
    font_or_503()
    with db().session() as s:
        filename, mimetype, body = service.daily_pdf(session=s, settings=settings(), canteen_id=code,
                                                     business_date=day, now=now_utc())
    return download(filename, mimetype, body)


@bp.get("/monthly.pdf")
def monthly_pdf():
    """The monthly claim PDF of the chosen canteens."""
    codes, month = _canteen_codes(), _month()
    font_or_503()
    filename, mimetype, body = render_monthly(_claim(codes, month))
    _audit_export("pdf", codes, month)
    return download(filename, mimetype, body)


@bp.get("/monthly-summary.csv")
def monthly_summary_csv():
    """One row per canteen and business date, then the total (UTF-8 with BOM)."""
    codes, month = _canteen_codes(), _month()
    filename, mimetype, body = summary_csv(_claim(codes, month))
    _audit_export("summary_csv", codes, month)
    return download(filename, mimetype, body)


@bp.get("/monthly-grants.csv")
def monthly_grants_csv():
    """One row per subsidy grant of the month, streamed while it is read."""
    codes, month = _canteen_codes(), _month()
    report = _claim(codes, month)
    _audit_export("grants_csv", codes, month)

    def stream():
        with db().session() as s:
            yield from iter_grants_csv(grant_rows(session=s, canteens=report.data.canteens, month=month),
                                       report.timezone)

    return download(grants_filename(report), "text/csv; charset=utf-8", stream_with_context(stream()))


@bp.get("/monthly.xlsx")
def monthly_xlsx():
    """The claim as an XLSX workbook with typed cells: facts, summary, one row per grant,
    per diner.  Written to a temporary file (constant memory), then sent from it."""
    codes, month = _canteen_codes(), _month()
    report = _claim(codes, month)
    body = tempfile.TemporaryFile()  # send_file closes it, which deletes it
    try:
        with db().session() as s:
            write_claim_xlsx(report, grant_rows(session=s, canteens=report.data.canteens, month=month), body)
    except BaseException:
        body.close()
        raise
    _audit_export("xlsx", codes, month)
    body.seek(0)
    resp = send_file(body, mimetype=XLSX, as_attachment=True, download_name=xlsx_filename(report))
    resp.headers["Cache-Control"] = "no-store"  # claims carry pseudonymous diner data
    return resp


@bp.get("/chart.svg")
def chart_svg():
    """The month's subsidies per day as an SVG image (drawn on the server; no script)."""
    codes, month = _canteen_codes(), _month()
    report = _claim(codes, month)
    font_or_503()
    days = [(x.business_date.day, x.age_fen, x.free_fen) for x in report.data.by_date]
    last = month_bounds(month)[1].day
    resp = Response(svg(daily_subsidy_chart(days, last, cjk_font())), mimetype="image/svg+xml")
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/day-close")
def day_close():
    """Close a business date of the supervisor's canteen (admins name the canteen)."""
    code = canteen_named(request.form.get("canteen")).code
    day = _date(request.form.get("business_date"), "business_date")
    try:
        with db().transaction() as s:
            close_day(session=s, settings=settings(), canteen_id=code, business_date=day, actor=current_user,
                      now=now_utc(), address=client_address(),
                      override_unsynced_reason=request.form.get("override_unsynced_reason", ""))
    except Refusal as e:
        if status_of(e.code) >= 500:
            raise
        if e.code == "tills_unsynced":  # the dialog opens again, asking for the reason to close anyway
            return redirect(url_for("reports.index", error=e.message(current_language()), close_canteen=code,
                                    close_date=day.isoformat(), unsynced=1, _anchor="close-dialog"))
        return redirect(url_for("reports.index", error=e.message(current_language())))
    return redirect(url_for("reports.index", closed=f"{code} {day.isoformat()}"))


def register(app: Flask) -> None:
    app.register_blueprint(bp)
