"""Neighbourhood reports (议事厅), the public side: anyone — a delivery rider passing by, a
diner — reports a problem in the neighbourhood from a canteen's public page, with a photo
if they like, and follows it by the number they are given.

No sign-in.  Where a report came from is held only as keyed digests of the address and of
a long-lived random cookie (``canteen_device``), for the hourly limit.  The follow page
shows the report's words, status and the staff's notes — never the phone, never a staff
member's name.  The form is CSRF-protected like every other form; its body may be larger
than the app's usual bound, for one phone photo (:func:`pos.web.uploads.body_limit`).
"""
from __future__ import annotations

import secrets
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, make_response, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from pos.config import CanteenConfig
from pos.refusal import Refusal
from pos.store import neighbourhood_reports as reports
from pos.store.report_photos import MAX_BYTES, clean_photo
from pos.web.refusals import status_of
from pos.web.signin import client_address, db, settings
from pos.web.uploads import body_limit

bp = Blueprint("neighbourhood", __name__, url_prefix="/neighbourhood")

DEVICE_COOKIE = "canteen_device"
DEVICE_COOKIE_DAYS = 2 * 365
#: One photo, its multipart framing and the form's few short fields.
BODY_LIMIT = MAX_BYTES + 256 * 1024
#: What the form refuses while showing the form again, the reporter's words kept.
FORM_REFUSALS = frozenset({"unknown_report_category", "invalid_report_text", "invalid_phone", "photo_unreadable",
                           "photo_too_large", "photo_too_many_pixels", "report_rate_limited", "invalid_text"})


def _canteen(code: str | None) -> CanteenConfig:
    if not code:
        return settings().default_canteen
    try:
        return settings().canteen(code)
    except KeyError:
        raise Refusal("unknown_canteen", "没有这个食堂", f"unknown canteen {code!r}") from None


def _device() -> tuple[str, bool]:
    """The device's id from its cookie, or a new one (True: the cookie must be set)."""
    found = request.cookies.get(DEVICE_COOKIE, "")
    if 20 <= len(found) <= 64 and found.replace("-", "").replace("_", "").isalnum():
        return found, False
    return secrets.token_urlsafe(24), True


def _with_device(resp, device: str, new: bool):
    if new:
        resp.set_cookie(DEVICE_COOKIE, device, max_age=DEVICE_COOKIE_DAYS * 24 * 3600, httponly=True,
                        samesite="Lax", secure=settings().base_url.startswith("https://"), path="/neighbourhood")
    return resp


def _public(resp):
    resp.headers["X-Robots-Tag"] = "noindex, nofollow"
    return resp


def local_time(moment: datetime, canteen: CanteenConfig, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored naive-UTC moment as the canteen's wall-clock time."""
    return moment.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(canteen.timezone)).strftime(fmt)


@bp.route("/new", methods=["GET", "POST"])
@body_limit(BODY_LIMIT)
def new():
    """The report form; on success, off to the report's own page with its number."""
    canteen = _canteen(request.args.get("canteen"))
    device, new_device = _device()
    error, retry_at, status = None, None, 200
    if request.method == "POST":
        upload = request.files.get("photo")
        data = upload.read() if upload is not None and upload.filename else b""
        try:
            # The photo is decoded before the write transaction: a sale must not wait for it.
            photo = clean_photo(data) if data else None
            with db().transaction() as s:
                report = reports.file_report(
                    session=s, id_key=settings().id_key, canteen_id=canteen.code,
                    category=request.form.get("category", ""), description=request.form.get("description", ""),
                    phone=request.form.get("phone", ""), photo=photo, per_hour=settings().public.reports_per_hour,
                    origin=reports.Origin(address=client_address(), device=device))
                number = report.number
        except Refusal as e:
            if e.code not in FORM_REFUSALS:
                raise
            error, status = e, status_of(e.code)
            if e.code == "report_rate_limited":
                retry_at = local_time(e.extra["retry_at"], canteen, "%H:%M")
        else:
            resp = redirect(url_for("neighbourhood.follow", number=number, new=1))
            return _with_device(resp, device, new_device)
    page = render_template("neighbourhood/new.html", canteen=canteen, categories=reports.CATEGORY_NAMES,
                           error=error, retry_at=retry_at, form=request.form,
                           text_min=reports.TEXT_MIN, text_max=reports.TEXT_MAX,
                           max_mb=MAX_BYTES // (1024 * 1024))
    resp = make_response(page, status)
    if error is not None and error.code == "report_rate_limited":
        wait = (error.extra["retry_at"].replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)).total_seconds()
        resp.headers["Retry-After"] = str(max(1, int(wait)))
    return _public(_with_device(resp, device, new_device))


@bp.route("")
def lookup():
    """Look a report up by its number (a small form; the number in ``?number=``)."""
    number = (request.args.get("number") or "").strip()
    error, status = None, 200
    if number:
        try:
            with db().session() as s:
                found = reports.report_by_number(s, number)
            return redirect(url_for("neighbourhood.follow", number=found.number))
        except Refusal as e:
            if e.code not in ("invalid_report_number", "report_not_found"):
                raise
            error, status = e, status_of(e.code)
    return _public(make_response(render_template("neighbourhood/lookup.html", number=number, error=error,
                                                  canteen=_canteen(None)), status))


@bp.route("/<number>")
def follow(number: str):
    """A report as its reporter follows it: status, whom it was passed on to, the notes."""
    try:
        with db().session() as s:
            followed = reports.follow(session=s, number=number)
    except Refusal as e:
        if e.code not in ("invalid_report_number", "report_not_found"):
            raise
        # A malformed number is no report either: one answer for both.
        e = Refusal("report_not_found", "没有这个编号的反映，请核对编号", "no report has this number; check it")
        page = render_template("neighbourhood/lookup.html", number=number, error=e, canteen=_canteen(None))
        return _public(make_response(page, 404))
    try:
        canteen = settings().canteen(followed.canteen_id)
    except KeyError:
        canteen = settings().default_canteen
    page = render_template("neighbourhood/follow.html", r=followed, canteen=canteen,
                           just_filed=bool(request.args.get("new")), categories=reports.CATEGORY_NAMES, statuses=reports.STATUS_NAMES,
                           when=lambda moment, fmt="%Y-%m-%d %H:%M": local_time(moment, canteen, fmt))
    return _public(make_response(page))


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(e):
    """A body past the bound (a huge photo): a page saying so and what to do, not a bare error."""
    code = request.args.get("canteen")
    known = code in {c.code for c in settings().canteens}
    page = render_template("neighbourhood/too_large.html", max_mb=MAX_BYTES // (1024 * 1024),
                           canteen=_canteen(code if known else None))
    return _public(make_response(page, 413))


def register(app: Flask) -> None:
    app.register_blueprint(bp)
