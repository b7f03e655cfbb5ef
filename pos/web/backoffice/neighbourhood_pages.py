"""Neighbourhood reports (议事厅), the staff's side: the queue of reports filed at the
canteens in the user's scope (newest first, by status, with the count of each), one report
with its photo, the reporter's phone and its history, and the form that moves it on —
received → passed on (to whom) → solved — with a note the reporter reads on their page.

A supervisor or registrar of one canteen sees only that canteen's reports; the photo is
served to them alone and never cached.
"""
from __future__ import annotations

from flask import Response, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlmodel import select

from pos.models import NeighbourhoodReport, StaffUser
from pos.refusal import Refusal
from pos.store import neighbourhood_reports as reports
from pos.web.backoffice.common import bp, done, form_text, message, scope, settings, visible_canteens
from pos.web.i18n import named
from pos.web.refusals import status_of
from pos.web.signin import client_address, db, require_canteen


def _report_in_scope(s, report_id: str) -> NeighbourhoodReport:
    report = reports.report_by_id(s, report_id)
    require_canteen(report.canteen_id)  # other_canteen (403) outside the user's scope
    return report


@bp.route("/neighbourhood")
def neighbourhood_queue():
    """The reports of the user's canteens, newest first; ``?status=`` narrows it, ``?canteen=`` too."""
    canteens = visible_canteens()
    chosen = request.args.get("canteen") or ""
    codes = [c.code for c in canteens if not chosen or c.code == chosen]
    if chosen and not codes:
        require_canteen(chosen)  # says why: unknown (404) or another canteen's (403)
    status = request.args.get("status") or None
    with db().session() as s:
        rows, counts = reports.queue(session=s, canteen_ids=None if scope().district_wide and not chosen else codes,
                                     status=status)
    names = {c.code: c.name for c in settings().canteens}
    return render_template("backoffice/neighbourhood_queue.html", rows=rows, counts=counts, status=status,
                           canteens=canteens, chosen=chosen, canteen_names=names, total=sum(counts.values()),
                           statuses=reports.STATUS_NAMES, categories=reports.CATEGORY_NAMES)


def _report_page(report_id: str, *, error: Refusal | None = None, status: int = 200):
    with db().session() as s:
        report = _report_in_scope(s, report_id)
        updates = reports.updates_of(s, report.id)
        staff_ids = {u.staff_id for u in updates}
        names = dict(s.exec(select(StaffUser.id, StaffUser.display_name).where(StaffUser.id.in_(staff_ids))).all()) \
            if staff_ids else {}
    page = render_template("backoffice/neighbourhood_report.html", r=report, updates=updates, staff_names=names,
                           canteen_name={c.code: c.name for c in settings().canteens}.get(report.canteen_id, ""),
                           statuses=reports.STATUS_NAMES, categories=reports.CATEGORY_NAMES,
                           error_message=message(error) if error else None, form=request.form if error else {},
                           note_max=reports.NOTE_MAX, passed_to_max=reports.PASSED_TO_MAX)
    return make_response(page, status)


@bp.route("/neighbourhood/<report_id>")
def neighbourhood_report(report_id: str):
    """One report: its words, photo, the reporter's phone (staff only), history and the update form."""
    return _report_page(report_id)


@bp.route("/neighbourhood/<report_id>/photo.jpg")
def neighbourhood_photo(report_id: str):
    with db().session() as s:
        _report_in_scope(s, report_id)
        jpeg = reports.photo_jpeg(s, report_id)
    if jpeg is None:
        raise Refusal("report_not_found", "这条反映没有照片", "this report has no photo")
    resp = Response(jpeg, mimetype="image/jpeg")
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/neighbourhood/<report_id>/update", methods=["POST"])
def neighbourhood_update(report_id: str):
    """Set the status, whom it was passed on to, and a note the reporter will read."""
    try:
        with db().transaction() as s:
            _report_in_scope(s, report_id)
            report = reports.update_status(session=s, report_id=report_id, staff=current_user,
                                           status=request.form.get("status", ""), passed_to=form_text("passed_to"),
                                           note=form_text("note"), address=client_address())
            number, new_status = report.number, report.status
    except Refusal as e:
        if e.code in ("report_not_found", "other_canteen", "other_community", "unknown_canteen"):
            raise
        return _report_page(report_id, error=e, status=status_of(e.code))
    done("已更新 {number}：{status}", number=number, status=named(reports.STATUS_NAMES, new_status))
    return redirect(url_for("backoffice.neighbourhood_report", report_id=report_id))
