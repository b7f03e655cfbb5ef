"""The monthly claim as a record, in the browser (/reports/claims): the accountant sees the
draft with its edit checks, explains any that failed and submits it; the community
approver approves it or returns it with a reason; the accountant records the payments.
A submitted claim's PDF, CSV and JSON are printed from its frozen document.

Views parse, call :mod:`pos.store.claims`, and answer; a refusal comes back to the page
as a message.
"""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, Flask, Response, redirect, render_template, request, url_for
from flask_login import current_user

from pos.clock import business_date, now_utc
from pos.refusal import Refusal
from pos.store import claims as claims_store
from pos.web.api.claims_api import default_scope, month_of, visible_claim
from pos.web.i18n import current_language
from pos.web.input_policy import check_day
from pos.web.refusals import status_of
from pos.web.reporting import download, font_or_503
from pos.web.signin import client_address, db, settings, visible_canteens
from reports import service
from reports.claim_document import document_json, frozen_report
from reports.claim_queries import month_bounds
from reports.csvs import summary_csv
from reports.monthly import render_monthly
from subsidies.money import MoneyError, parse_yuan, yuan

bp = Blueprint("claims", __name__, url_prefix="/reports/claims")


def _last_month() -> date:
    """The month a claim is usually submitted for: the one before this."""
    first = business_date(settings().default_canteen.timezone).replace(day=1)
    return month_bounds(first - timedelta(days=1))[0]


def _scopes() -> list[dict]:
    """The claim scopes the user can pick: each visible canteen, and each community whose
    canteens are all visible."""
    visible = visible_canteens()
    out = [{"kind": "canteen", "scope": c.code, "label": f"{c.name}（{c.code}）"} for c in visible]
    codes = {c.code for c in visible}
    for community in sorted({c.community for c in visible}):
        members = [c.code for c in settings().canteens if c.community == community]
        if len(members) > 1 and set(members) <= codes:
            out.append({"kind": "community", "scope": community, "label": community})
    return out


def _back(endpoint: str, error: Refusal | None = None, **values) -> Response:
    if error is not None:
        if status_of(error.code) >= 500:
            raise error
        values["error"] = error.message(current_language())
    return redirect(url_for(endpoint, **values))


@bp.get("")
def index():
    """The claims in the user's scope, and where to start a month's submission."""
    codes = [c.code for c in visible_canteens()]
    with db().tx() as tx:
        found = claims_store.list_claims(tx, canteens=codes)
    return render_template("claims/index.html", claims=found, scopes=_scopes(), month=f"{_last_month():%Y-%m}",
                           error=request.args.get("error"), yuan=yuan, states=claims_store.STATE_NAMES)


@bp.route("/new", methods=["GET", "POST"])
def new():
    """GET: the month's draft (live figures and edit checks); POST: submit it."""
    source = request.form if request.method == "POST" else request.args
    # The month page's picker sends one value, "kind:scope"; links and forms send the two apart.
    picked_kind, _, picked = (source.get("target") or "").partition(":")
    kind = picked_kind or source.get("scope_kind") or "canteen"
    if kind not in claims_store.SCOPE_KINDS:
        raise Refusal("invalid_scope", "申领范围应为食堂或社区", "scope must be 'canteen' or 'community'")
    scope = default_scope(kind, picked or source.get("scope") or None)
    month = month_of(source.get("month") or "")
    if request.method == "POST":
        explanations = {k[len("explain-"):]: v for k, v in request.form.items() if k.startswith("explain-")}
        try:
            with db().transaction() as s:
                claim = claims_store.submit_claim(session=s, settings=settings(), scope_kind=kind, scope=scope,
                                                  month=month, actor=current_user, now=now_utc(),
                                                  explanations=explanations, address=client_address())
        except Refusal as e:
            return _back("claims.new", e, scope_kind=kind, scope=scope, month=f"{month:%Y-%m}")
        return redirect(url_for("claims.claim", claim_id=claim.id))
    codes = claims_store.scope_canteens(settings(), kind, scope)
    with db().session() as s:
        report = service.build_claim(session=s, settings=settings(), canteen_ids=codes, month=month, now=now_utc())
    return render_template("claims/new.html", report=report, kind=kind, scope=scope, month=f"{month:%Y-%m}",
                           error=request.args.get("error"), yuan=yuan)


@bp.get("/<claim_id>")
def claim(claim_id: str):
    """One claim: its state, history, payments, downloads and the actions the user may take."""
    record = visible_claim(claim_id)
    with db().tx() as tx:
        document, _ = claims_store.claim_content(tx, claim_id)
    return render_template("claims/claim.html", claim=record, document=document, error=request.args.get("error"),
                           yuan=yuan, states=claims_store.STATE_NAMES,
                           today=business_date(settings().canteen(record.canteens[0]).timezone).isoformat())


def _frozen(claim_id: str):
    visible_claim(claim_id)
    with db().tx() as tx:
        return claims_store.claim_content(tx, claim_id)


@bp.get("/<claim_id>/claim.pdf")
def claim_pdf(claim_id: str):
    """The submitted claim's PDF, printed from its frozen document."""
    document, _ = _frozen(claim_id)
    font_or_503()
    name, mimetype, body = render_monthly(frozen_report(document))
    return download(name.replace("claim-", f"claim-r{document['revision']}-"), mimetype, body)


@bp.get("/<claim_id>/summary.csv")
def claim_csv(claim_id: str):
    """The submitted claim's summary CSV, from its frozen document."""
    document, _ = _frozen(claim_id)
    name, mimetype, body = summary_csv(frozen_report(document))
    return download(name, mimetype, body)


@bp.get("/<claim_id>/claim.json")
def claim_json(claim_id: str):
    """The frozen document itself (canteen-claim/1)."""
    document, _ = _frozen(claim_id)
    return download(f"claim-{document['month']}-r{document['revision']}.json", "application/json",
                    document_json(document))


@bp.post("/<claim_id>/approve")
def approve(claim_id: str):
    visible_claim(claim_id)
    try:
        with db().transaction() as s:
            claims_store.approve_claim(session=s, claim_id=claim_id, actor=current_user, now=now_utc(),
                                       address=client_address())
    except Refusal as e:
        return _back("claims.claim", e, claim_id=claim_id)
    return redirect(url_for("claims.claim", claim_id=claim_id))


@bp.post("/<claim_id>/return")
def return_(claim_id: str):
    visible_claim(claim_id)
    try:
        with db().transaction() as s:
            claims_store.return_claim(session=s, claim_id=claim_id, actor=current_user,
                                      reason=request.form.get("reason", ""), now=now_utc(), address=client_address())
    except Refusal as e:
        return _back("claims.claim", e, claim_id=claim_id)
    return redirect(url_for("claims.claim", claim_id=claim_id))


@bp.post("/<claim_id>/payments")
def payment(claim_id: str):
    record = visible_claim(claim_id)
    try:
        try:
            amount = parse_yuan(request.form.get("amount", ""))
        except MoneyError:
            raise Refusal("invalid_amount", "金额格式不对（元，最多两位小数）",
                              "amount must be yuan with at most two decimals") from None
        try:
            paid_on = date.fromisoformat(request.form.get("paid_on", "").strip())
        except ValueError:
            raise Refusal("bad_date", "日期格式应为 YYYY-MM-DD", "date must be YYYY-MM-DD") from None
        check_day(paid_on, "paid_on")
        with db().transaction() as s:
            claims_store.record_payment(session=s, claim_id=claim_id, actor=current_user, amount_fen=amount,
                                        paid_on=paid_on, reference=request.form.get("reference", ""), now=now_utc(),
                                        tz=settings().canteen(record.canteens[0]).timezone, address=client_address())
    except Refusal as e:
        return _back("claims.claim", e, claim_id=claim_id)
    return redirect(url_for("claims.claim", claim_id=claim_id))


def register(app: Flask) -> None:
    app.register_blueprint(bp)
