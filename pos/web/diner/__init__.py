"""The diner's own pages: what a scanned voucher (``/v/<token>``) or free-meal ticket
(``/t/<token>``) entitles them to, and whether it is valid and used today.

No sign-in.  The page shows the masked name, the benefit, the validity and the QR to show
at the till — nothing more: no ID number, no date of birth, no phone, no history.  A bad
token gets a kind page saying what is wrong, never an error dump.
"""
from __future__ import annotations

from flask import Blueprint, Flask, make_response, render_template
from markupsafe import Markup
from sqlmodel import select

from pos.clock import business_date
from pos.config import Settings
from pos.models import Diner, SubsidyGrant
from pos.store import tokens
from pos.store import vouchers as vstore
from pos.store.credentials.credential import diner_facts
from pos.store.diners import mask_name
from pos.refusal import Refusal
from pos.web.refusals import status_of
from pos.web.signin import db, settings
from reports.printables import QUIET_ZONE, qr_matrix
from subsidies.bands import benefit
from subsidies.engine import standing

bp = Blueprint("vouchers", __name__)


def qr_svg(data: str, *, label: str) -> Markup:
    """``data`` as an inline SVG QR code (one path; no script, no style attribute)."""
    matrix = qr_matrix(data)
    n = len(matrix) + 2 * QUIET_ZONE
    runs = []
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                runs.append(f"M{start + QUIET_ZONE} {r + QUIET_ZONE}h{c - start}v1h-{c - start}z")
            else:
                c += 1
    label = Markup.escape(label)
    return Markup(f'<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {n}" role="img" '
                  f'aria-label="{label}" shape-rendering="crispEdges"><rect width="{n}" height="{n}" fill="#fff"/>'
                  f'<path d="{"".join(runs)}" fill="#000"/></svg>')


def _canteen_for(settings: Settings, community: str):
    for c in settings.canteens:
        if c.community == community:
            return c
    return settings.default_canteen


def _used(session, diner_key: str, day) -> bool:
    return session.exec(select(SubsidyGrant.id).where(
        SubsidyGrant.diner_key == diner_key, SubsidyGrant.business_date == day,
        SubsidyGrant.voided == False)).first() is not None  # noqa: E712


def _private(resp):
    # The page says whether a meal was had today: never cache it, never index it.
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Robots-Tag"] = "noindex, nofollow"
    return resp


def _invalid(e: Refusal):
    resp = make_response(render_template("vouchers/invalid.html", error=e), status_of(e.code))
    return _private(resp)


@bp.route("/v/<path:token>")
def voucher_page(token: str):
    config = settings()
    today = business_date(config.default_canteen.timezone)
    try:
        with db().session() as s:
            voucher = vstore.voucher_from_token(session=s, settings=config, token=token, today=today)
            diner = s.get(Diner, voucher.diner_id)
            canteen = _canteen_for(config, diner.community)
            today = business_date(canteen.timezone)
            used = _used(s, diner.id_hmac, today)
            facts = diner_facts(config, diner)
            zh, en = benefit(config.policy.in_force_or_none(today), today=today, birth_date=diner.birth_date,
                             resident=diner.resident, worker_category=diner.worker_category,
                             worker_verified=diner.worker_verified_by is not None)
            # An expired proof or a life event, in the rules engine's own words.
            against = standing(facts, today)
            view = {"masked_name": mask_name(diner.name), "benefit_zh": zh, "benefit_en": en,
                    "standing_zh": against[1][0] if against else "", "standing_en": against[1][1] if against else "",
                    "valid_until": voucher.valid_until, "used_today": used, "suspended": diner.suspended,
                    "code": tokens.display_code(voucher.code), "community": diner.community,
                    "today": today}
    except Refusal as e:
        return _invalid(e)
    url = vstore.issued(config, voucher).url
    page = render_template("vouchers/voucher.html", v=view, qr=qr_svg(url, label=view["code"]))
    return _private(make_response(page))


@bp.route("/t/<path:token>")
def ticket_page(token: str):
    config = settings()
    try:
        with db().session() as s:
            ticket = vstore.ticket_from_token(session=s, settings=config, token=token)
            canteen = config.canteen(ticket.canteen_id)
            today = business_date(canteen.timezone)
            view = {"canteen": canteen.name, "business_date": ticket.business_date, "today": today,
                    "used": _used(s, f"ticket:{ticket.id}", ticket.business_date),
                    "code": tokens.display_code(ticket.code)}
    except Refusal as e:
        return _invalid(e)
    url = vstore.issued_ticket(config, ticket).url
    page = render_template("vouchers/ticket.html", t=view, qr=qr_svg(url, label=view["code"]))
    return _private(make_response(page))


def register(app: Flask) -> None:
    app.register_blueprint(bp)
