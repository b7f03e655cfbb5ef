"""The back office: community staff register diners and issue vouchers and tickets
(:mod:`.registry_pages`, :mod:`.printing_pages`); admins keep the menu and the staff
accounts (:mod:`.admin_pages`); admins and accountants read the audit log
(:mod:`.audit_pages`); every staff member can read the policy in force and
today's free meals left (this page).

Pages are server-rendered forms (CSRF-protected); each write is one store call in one
transaction with an audit entry.  A registrar tied to a community sees and changes only
that community's diners.
"""
from __future__ import annotations

from flask import Flask, render_template

from pos.store import pricing
from pos.web.backoffice import admin_pages, audit_pages, import_pages, printing_pages, registry_pages  # noqa: F401  (their routes)
from pos.web.backoffice import rights_pages  # noqa: F401  (export and erasure of a diner)
from pos.web.backoffice import eligibility_pages  # noqa: F401  (expiring verifications, life events)
from pos.web.backoffice import neighbourhood_pages  # noqa: F401  (neighbourhood reports: the queue, follow-up)
from pos.web.backoffice import dish_label_pages, notice_pages  # noqa: F401  (dish labels; notices for the public)
from pos.web.backoffice import devices_pages  # noqa: F401  (the canteen's tills)
from pos.web.backoffice import exception_pages  # noqa: F401  (serving exceptions, late offline sales)
from pos.web.backoffice.common import bp, chosen_canteen, settings, today, visible_canteens
from pos.web.signin import db
from subsidies.vocabulary import WORKER_CATEGORY_NAMES


@bp.route("/")
def index():
    """Everyone on the staff: the policy in force and today's free meals left."""
    canteen = chosen_canteen()
    day = today(canteen)
    policy = settings().policy.in_force_or_none(day)
    with db().tx() as tx:
        meals = pricing.free_meals_today(tx, policy=policy, canteen_id=canteen.code, business_date=day)
    return render_template("backoffice/index.html", canteen=canteen, canteens=visible_canteens(), policy=policy,
                           versions=settings().policy.versions, meals=meals, day=day,
                           categories=WORKER_CATEGORY_NAMES)


def register(app: Flask) -> None:
    app.register_blueprint(bp)
