"""A diner's rights through the API (registrar, admin): the export of everything held about
them (JSON, or a PDF for the person) and their erasure with a reason.  Each is noted in
the audit log.  Correction is the registry's edit with history."""
from __future__ import annotations

from typing import Any, Optional

from flask import jsonify
from flask_login import current_user
from pydantic import BaseModel, Field

from pos.store import diner_rights
from pos.web import printing
from pos.web.api.blueprint import ERRORS, api, pdf
from pos.web.api.registry_api import DinerPath
from pos.web.api.schemas import Strict
from pos.web.backoffice.rights_pages import exported, export_pdf
from pos.web.signin import client_address, db, scope, settings


def _diner_scope() -> str | None:
    return scope().diner_community(settings().default_canteen.community)


class DinerExportOut(BaseModel):
    format: str = Field(description="canteen-diner-export/1")
    generated_at: str
    diner: dict[str, Any] = Field(description="the registration: name, masked ID, birth date, phone, category, ...")
    erasure: Optional[dict[str, Any]] = Field(description="who erased the diner's data, when and why; null if not")
    changes: list[dict[str, Any]] = Field(description="the change history")
    vouchers: list[dict[str, Any]]
    sales: list[dict[str, Any]] = Field(description="sales recorded against the diner")
    subsidised_meals: list[dict[str, Any]] = Field(description="grants: date, canteen, kind, amount in fen")
    totals: dict[str, int]
    audit: list[dict[str, Any]] = Field(description="who did what to this record")
    other_records: dict[str, list[dict[str, Any]]] = Field(description="rows of other tables about the diner")


class ErasureIn(Strict):
    reason: str = Field(min_length=1, max_length=diner_rights.MAX_REASON, description="why (the person's request, ...)")


class ErasureOut(BaseModel):
    diner_id: str
    vouchers_revoked: int
    changes_cleared: int


@api.get("/diners/<diner_id>/export", responses={200: DinerExportOut, **ERRORS})
def diner_export(path: DinerPath):
    """Everything held about a diner, as JSON for the person (registrar, admin; audited)."""
    return jsonify(exported(path.diner_id, "json"))


@api.get("/diners/<diner_id>/export.pdf", responses={200: pdf("everything held about the diner, for the person"),
                                                     **ERRORS})
def diner_export_pdf(path: DinerPath):
    """Everything held about a diner, as a PDF for the person (registrar, admin; audited)."""
    return printing.pdf_response(export_pdf(path.diner_id), f"diner-{path.diner_id}.pdf")


@api.post("/diners/<diner_id>/erase", responses={200: ErasureOut, **ERRORS})
def diner_erase(path: DinerPath, body: ErasureIn):
    """Erase a diner's personal data (registrar, admin): name, phone, masked ID and notes go,
    their vouchers are revoked; their pseudonymous grants stay for the claims until the
    retention is over.  Refused (409 diner_erased) when done already."""
    with db().transaction() as s:
        done = diner_rights.erase_diner(session=s, diner_id=path.diner_id, actor=current_user,
                                        community=_diner_scope(), reason=body.reason, address=client_address(),
                                        canteen_id=current_user.canteen_id)
    return jsonify({"diner_id": done.diner_id, "vouchers_revoked": done.vouchers_revoked,
                    "changes_cleared": done.changes_cleared})
