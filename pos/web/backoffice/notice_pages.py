"""Notices for the public: staff post them on the "today" page by the door or in the riders'
corner, each for a range of dates, and edit or withdraw them (:mod:`pos.store.notices`).

Supervisors, registrars and admins post; each for the canteens in their scope only (a
supervisor of one canteen posts for that canteen).
"""
from __future__ import annotations

from datetime import date, timedelta

from flask import redirect, render_template, request, url_for
from flask_login import current_user

from pos.refusal import Refusal
from pos.store import notices as nstore
from pos.web.backoffice.common import bp, canteen_named, client_address, done, form_text, message, today, visible_canteens
from pos.web.input_policy import check_day
from pos.web.refusals import status_of
from pos.web.signin import db, settings

#: How long a new notice shows unless staff say otherwise: a week, today included.
DEFAULT_DAYS = 7


def _form_day(name: str, zh: str, en: str) -> date:
    text = form_text(name)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise Refusal("invalid_notice_dates", f"请填写{zh}（年-月-日）",
                      f"{en} must be a date YYYY-MM-DD, got {text!r}") from None
    return check_day(day, name)


def _draft() -> nstore.NoticeDraft:
    return nstore.NoticeDraft(place=form_text("place"), topic=form_text("topic", "general"), title=form_text("title"),
                              body=(request.form.get("body") or "").strip(),
                              starts_on=_form_day("starts_on", "开始日期", "starts_on"),
                              ends_on=_form_day("ends_on", "结束日期", "ends_on"))


def _form_page(template_vars: dict, error: Refusal | None):
    return render_template("backoffice/notice_form.html", canteens=visible_canteens(),
                           places=nstore.NOTICE_PLACE_NAMES, topics=nstore.NOTICE_TOPIC_NAMES,
                           max_title=nstore.MAX_TITLE, max_body=nstore.MAX_BODY,
                           error_message=message(error) if error else "", **template_vars), \
        (status_of(error.code) if error else 200)


@bp.route("/notices")
def notices():
    """The notices of the canteens in the user's scope, the latest to end first."""
    canteens = visible_canteens()
    codes = None if len(canteens) == len(settings().canteens) else [c.code for c in canteens]
    with db().session() as s:
        rows = nstore.all_notices(session=s, canteen_ids=codes)
    names = {c.code: c.name for c in settings().canteens}
    return render_template("backoffice/notices.html", rows=rows, canteen_names=names, many=len(canteens) > 1,
                           shown={c.code for c in canteens},
                           day=today(), state_of=nstore.state_of, states=nstore.STATE_NAMES,
                           places=nstore.NOTICE_PLACE_NAMES, topics=nstore.NOTICE_TOPIC_NAMES)


@bp.route("/notices/new", methods=["GET", "POST"])
def notice_new():
    error = None
    if request.method == "POST":
        try:
            canteen = canteen_named(request.form.get("canteen"))
            draft = _draft()
            with db().transaction() as s:
                notice = nstore.post_notice(session=s, canteen_id=canteen.code, draft=draft, actor=current_user,
                                            address=client_address())
        except Refusal as e:
            if e.code in ("other_canteen", "other_community", "unknown_canteen"):
                raise  # not a typing mistake to correct on the form: the canteen is not theirs
            error = e
        else:
            done("已发布公告：{title}", title=notice.title)
            return redirect(url_for("backoffice.notices"))
    canteen = canteen_named(request.values.get("canteen"))
    first = today(canteen)
    form = request.form if error else {"canteen": canteen.code, "place": request.args.get("place", "today"),
                                       "topic": "general", "starts_on": first.isoformat(),
                                       "ends_on": (first + timedelta(days=DEFAULT_DAYS - 1)).isoformat()}
    return _form_page({"notice": None, "form": form}, error)


@bp.route("/notices/<notice_id>/edit", methods=["GET", "POST"])
def notice_edit(notice_id: str):
    with db().session() as s:
        notice = nstore.get_notice(session=s, notice_id=notice_id)
    canteen_named(notice.canteen_id)  # only a notice of one's own canteens
    error = None
    if request.method == "POST":
        try:
            draft = _draft()
            with db().transaction() as s:
                notice = nstore.edit_notice(session=s, notice_id=notice_id, draft=draft, actor=current_user,
                                            address=client_address())
        except Refusal as e:
            error = e
        else:
            done("已保存公告：{title}", title=notice.title)
            return redirect(url_for("backoffice.notices"))
    form = request.form if error else {"canteen": notice.canteen_id, "place": notice.place, "topic": notice.topic,
                                       "title": notice.title, "body": notice.body,
                                       "starts_on": notice.starts_on.isoformat(), "ends_on": notice.ends_on.isoformat()}
    return _form_page({"notice": notice, "form": form}, error)


@bp.route("/notices/<notice_id>/withdraw", methods=["POST"])
def notice_withdraw(notice_id: str):
    with db().session() as s:
        notice = nstore.get_notice(session=s, notice_id=notice_id)
    canteen_named(notice.canteen_id)
    with db().transaction() as s:
        notice = nstore.withdraw_notice(session=s, notice_id=notice_id, actor=current_user, address=client_address())
    done("已撤下公告：{title}", title=notice.title)
    return redirect(url_for("backoffice.notices"))
