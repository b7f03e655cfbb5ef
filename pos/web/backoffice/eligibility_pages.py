"""Eligibility that stays true: the registrar's list of verifications that have expired or
expire within 30 days (masked names only; also as CSV), and a diner's life event (deceased,
moved away) recorded from the diner's page.  The expiry is derived from the date staff saw
the proof and ``[registry]`` months (:func:`pos.store.diners.proofs_until`)."""
from __future__ import annotations

import csv
import io

from flask import Response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlmodel import select

from pos.models import Diner, StaffUser
from pos.store import diners as dstore
from pos.store.credentials.credential import diner_facts
from pos.web.backoffice.common import audit_here, bp, diner_scope, done, form_text, settings, today
from pos.web.i18n import current_language, named
from pos.web.signin import db
from reports.csvs import BOM, as_text
from subsidies.engine import standing
from subsidies.vocabulary import (LIFE_EVENT_NAMES, RESIDENCY_PROOF_NAMES, WORKER_CATEGORY_NAMES, WORKER_PROOF_NAMES,
                                  name_of)

#: How many days ahead the list looks.
WITHIN_DAYS = 30
PROOF_NAMES = {"worker": ("工作证明", "proof of work"), "residency": ("居住证明", "proof of residency")}
CSV_HEADER = (("姓名", "name"), ("所属社区", "community"), ("证明", "proof"), ("类别", "category"),
              ("证明类型", "proof type"), ("核验日期", "verified on"), ("核验人", "verified by"),
              ("有效期至", "valid until"), ("状态", "state"))


def _expiring():
    day = today()
    with db().session() as s:
        rows = dstore.expiring(session=s, community=diner_scope(), registry=settings().registry, today=day,
                               within_days=WITHIN_DAYS)
    return day, rows


@bp.route("/diners/expiring")
def diners_expiring():
    """Who has expired, and who expires in the next 30 days (masked names only)."""
    day, rows = _expiring()
    return render_template("backoffice/expiring.html", rows=rows, day=day, within=WITHIN_DAYS,
                           expired=[r for r in rows if r.expired_on(day)],
                           soon=[r for r in rows if not r.expired_on(day)], proof_names=PROOF_NAMES,
                           proof_type_names={**WORKER_PROOF_NAMES, **RESIDENCY_PROOF_NAMES},
                           registry=settings().registry)


def _cell(text: str) -> str:
    # A masked name or a community a spreadsheet would take for a formula stays text.
    return as_text(text) if text[:1] in "=+-@\t\r" else text


@bp.route("/diners/expiring.csv")
def diners_expiring_csv():
    """The same list as CSV: UTF-8 with a byte-order mark, CRLF; no identifier of any kind."""
    day, rows = _expiring()
    lang = "en" if current_language() == "en" else "zh"
    pick = 1 if lang == "en" else 0
    out = io.StringIO()
    out.write(BOM)
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([h[pick] for h in CSV_HEADER])
    for r in rows:
        state = ("已过期", "expired") if r.expired_on(day) else ("即将到期", "expires soon")
        w.writerow([_cell(r.masked_name), _cell(r.community), PROOF_NAMES[r.proof][pick],
                    name_of(WORKER_CATEGORY_NAMES, r.worker_category, lang),
                    name_of({**WORKER_PROOF_NAMES, **RESIDENCY_PROOF_NAMES}, r.proof_type, lang),
                    r.verified_on.isoformat(), _cell(r.verified_by), r.until.isoformat(), state[pick]])
    resp = Response(out.getvalue().encode("utf-8"), mimetype="text/csv; charset=utf-8")
    resp.headers["Content-Disposition"] = f'attachment; filename="expiring-{day.isoformat()}.csv"'
    resp.headers["Cache-Control"] = "no-store"
    with db().transaction() as s:
        audit_here(s, "expiring_exported", detail={"rows": len(rows), "business_date": day.isoformat()})
    return resp


@bp.route("/diners/<diner_id>/life-event", methods=["POST"])
def diner_life_event(diner_id: str):
    """Record that a diner died or moved away (date, note); benefits stop from that date."""
    with db().transaction() as s:
        diner = dstore.record_life_event(session=s, diner_id=diner_id, staff_id=current_user.id,
                                         community=diner_scope(), kind=request.form.get("kind", ""),
                                         on=form_text("date"), note=form_text("note"), today=today())
        audit_here(s, "diner_left", target=diner_id,
                   detail={"life_event": diner.left_kind, "event_date": diner.left_on.isoformat()})
    done("已登记：{event}（{date}起不再享受补贴）", event=named(LIFE_EVENT_NAMES, diner.left_kind),
         date=diner.left_on.isoformat())
    return redirect(url_for("backoffice.diner", diner_id=diner_id))


def eligibility_of(d: Diner) -> dict:
    """What the diner's page shows about their verifications and life event."""
    day = today()
    worker_until, residency_until = dstore.proofs_until(d, settings().registry)
    names = {}
    wanted = [i for i in (d.worker_verified_by, d.residency_verified_by, d.left_by) if i]
    if wanted:
        with db().session() as s:
            names = dict(s.exec(select(StaffUser.id, StaffUser.display_name).where(StaffUser.id.in_(wanted))).all())
    against = standing(diner_facts(settings(), d), day)
    return {"today": day, "worker_until": worker_until, "residency_until": residency_until,
            "worker_by": names.get(d.worker_verified_by, ""), "residency_by": names.get(d.residency_verified_by, ""),
            "left_by": names.get(d.left_by, ""),
            "worker_proof_type": named(WORKER_PROOF_NAMES, d.worker_proof_type) if d.worker_proof_type else "",
            "residency_proof_type": named(RESIDENCY_PROOF_NAMES, d.residency_proof_type) if d.residency_proof_type else "",
            "left": named(LIFE_EVENT_NAMES, d.left_kind) if d.left_kind else "",
            "standing": (against[1][0] if current_language() == "zh" else against[1][1]) if against else "",
            "events": LIFE_EVENT_NAMES}


@bp.app_context_processor
def _eligibility_globals():
    return {"eligibility_of": eligibility_of}
