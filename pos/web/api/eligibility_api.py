"""Eligibility that stays true, through the API (registrar, admin): a diner's life event
(deceased, moved away: benefits stop from its date), a renewed verification of their proof
of work or residency, and the verifications that have expired or expire within 30 days
(masked names only)."""
from __future__ import annotations

from datetime import date as Date
from typing import Literal, Optional

from flask import jsonify
from flask_login import current_user
from pydantic import BaseModel, Field

from pos.refusal import Refusal
from pos.store import diners as dstore
from pos.web.api.blueprint import ERRORS, api
from pos.web.api.registry_api import DinerOut, DinerPath, _audit, _diner_out, _diner_scope, _today
from pos.web.api.schemas import Parameters, Strict
from pos.web.signin import db, settings
from subsidies.vocabulary import LIFE_EVENTS

LifeEvent = Literal[LIFE_EVENTS]  # type: ignore[valid-type]


class LifeEventIn(Strict):
    kind: LifeEvent = Field(description="deceased or moved_away")
    # A JSON date is a string: the one field where a conversion is wanted.
    date: Date = Field(strict=False, description="the day of the event (YYYY-MM-DD, not after today); "
                                                 "no benefit from that day on")
    note: str = Field(default="", max_length=200)


@api.post("/diners/<diner_id>/life-event", responses={200: DinerOut, **ERRORS})
def diner_life_event(path: DinerPath, body: LifeEventIn):
    """Record that a diner died or moved away (registrar, admin): no benefit from that date;
    past grants stay in past claims; a grant dated on or after it is flagged by the claim's checks."""
    with db().transaction() as s:
        diner = dstore.record_life_event(session=s, diner_id=path.diner_id, staff_id=current_user.id,
                                         community=_diner_scope(), kind=body.kind, on=body.date, note=body.note,
                                         today=_today())
        _audit(s, "diner_left", target=diner.id, detail={"life_event": diner.left_kind, "event_date": diner.left_on.isoformat()})
        out = _diner_out(diner)
    return jsonify(out)


class VerificationIn(Strict):
    proof: Literal["worker", "residency"] = Field(description="which verification is renewed")
    proof_type: str = Field(min_length=1, max_length=40,
                            description="the kind of proof seen (worker: employer_letter, work_card…; "
                                        "residency: household_register, residence_permit…)")
    verified_on: Optional[Date] = Field(default=None, strict=False,
                                        description="the day the proof was seen (YYYY-MM-DD, not after today; "
                                                    "default today); it counts from then for the configured months")


@api.post("/diners/<diner_id>/verification", responses={200: DinerOut, **ERRORS})
def diner_verification(path: DinerPath, body: VerificationIn):
    """Record a renewed verification (registrar, admin): the member of staff saw the proof
    on ``verified_on``, and the worker's (or resident's) benefit counts again from then
    for registry.worker_proof_months (or residency_proof_months); kept in the diner's history."""
    day = _today()
    on = body.verified_on or day
    changes = ({"worker_proof_type": body.proof_type, "worker_verified_on": on.isoformat()} if body.proof == "worker"
               else {"residency_proof_type": body.proof_type, "residency_verified_on": on.isoformat()})
    with db().transaction() as s:
        diner = dstore.get_diner(session=s, diner_id=path.diner_id, community=_diner_scope())
        if body.proof == "worker" and not diner.worker_category:
            raise Refusal("not_a_worker", "该就餐者未登记为户外劳动者，无需工作证明",
                          "this diner is not registered as an outdoor worker: there is no proof of work to renew")
        if body.proof == "residency" and not diner.resident:
            raise Refusal("not_a_resident", "该就餐者未登记为本社区居民，无需居住证明",
                          "this diner is not registered as a resident: there is no proof of residency to renew")
        changed = dstore.edit_diner(session=s, id_key=settings().id_key, diner_id=diner.id, staff_id=current_user.id,
                                    community=_diner_scope(), today=day, changes=changes)
        _audit(s, "diner_reverified", target=diner.id, detail={"proof": body.proof, "proof_type": body.proof_type,
                                                               "verified_on": on.isoformat(), "changed": changed})
        out = _diner_out(dstore.get_diner(session=s, diner_id=diner.id, community=None))
    return jsonify(out)


class ExpiringQuery(Parameters):
    within_days: Optional[int] = Field(default=30, ge=0, le=366, description="how many days ahead to look")


class ExpiringRow(BaseModel):
    diner_id: str
    masked_name: str
    community: str
    proof: str = Field(description="worker or residency")
    worker_category: Optional[str]
    proof_type: Optional[str]
    verified_on: str
    verified_by: str
    valid_until: str
    expired: bool


class ExpiringOut(BaseModel):
    date: str
    diners: list[ExpiringRow]


@api.get("/diners/expiring", responses={200: ExpiringOut, **ERRORS})
def diners_expiring(query: ExpiringQuery):
    """Verifications that have expired or expire within ``within_days`` (registrar, admin)."""
    day = _today()
    with db().session() as s:
        rows = dstore.expiring(session=s, community=_diner_scope(), registry=settings().registry, today=day,
                               within_days=30 if query.within_days is None else query.within_days)
    return jsonify({"date": day.isoformat(), "diners": [
        {"diner_id": r.diner_id, "masked_name": r.masked_name, "community": r.community, "proof": r.proof,
         "worker_category": r.worker_category, "proof_type": r.proof_type, "verified_on": r.verified_on.isoformat(),
         "verified_by": r.verified_by, "valid_until": r.until.isoformat(), "expired": r.expired_on(day)}
        for r in rows]})
