"""A diner's rights in the back office (registrar, admin): the export of everything held
about them (JSON, and a PDF for the person) and their erasure with a reason.  Correction
is the diner's edit page, which keeps the history.  The work is :mod:`pos.store.diner_rights`."""
from __future__ import annotations

from datetime import datetime

from flask import Response, redirect, url_for
from flask_login import current_user

from pos.clock import now_utc
from pos.store import diner_rights
from pos.web import printing
from pos.web.backoffice.common import bp, client_address, diner_scope, done, form_text, settings
from pos.web.reporting import font_or_503
from pos.web.signin import db
from reports.diner_export import render_diner_export


def exported(diner_id: str, as_format: str) -> dict:
    """The diner's export, noted in the audit log, for the signed-in member of staff."""
    with db().transaction() as s:
        return diner_rights.export_diner(session=s, diner_id=diner_id, community=diner_scope(), generated_at=now_utc(),
                                         actor=current_user, as_format=as_format, address=client_address(),
                                         canteen_id=current_user.canteen_id)


def export_pdf(diner_id: str) -> bytes:
    font_or_503()
    return render_diner_export(exported(diner_id, "pdf"), timezone=settings().default_canteen.timezone)


@bp.get("/diners/<diner_id>/export.json")
def diner_export_json(diner_id: str):
    """Everything held about the diner, as JSON to hand to them."""
    resp = Response(diner_rights.export_json(exported(diner_id, "json")), mimetype="application/json")
    resp.headers["Content-Disposition"] = f'attachment; filename="diner-{diner_id}.json"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/diners/<diner_id>/export.pdf")
def diner_export_pdf(diner_id: str):
    """Everything held about the diner, as a PDF for the person."""
    return printing.pdf_response(export_pdf(diner_id), f"diner-{diner_id}.pdf")


@bp.post("/diners/<diner_id>/erase")
def diner_erase(diner_id: str):
    """Erase the diner's personal data (a reason is required); their vouchers are revoked."""
    with db().transaction() as s:
        diner_rights.erase_diner(session=s, diner_id=diner_id, actor=current_user, community=diner_scope(),
                                 reason=form_text("reason"), address=client_address(),
                                 canteen_id=current_user.canteen_id)
    done("已删除该就餐者的个人信息，餐券已作废")
    return redirect(url_for("backoffice.diner", diner_id=diner_id), 303)


@bp.app_template_global("diner_erasure")
def diner_erasure(diner_id: str) -> dict | None:
    """The erasure record of a diner (who, when, why), for the diner's page."""
    with db().session() as s:
        found = diner_rights.erasure_of(s, diner_id)
    if found is not None:
        found["erased_at"] = datetime.fromisoformat(found["erased_at"])
    return found

