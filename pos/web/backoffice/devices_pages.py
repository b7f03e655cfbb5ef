"""The canteen's tills for a supervisor: each registered till with when it was last online,
when it was last in sync, the offline sales it holds and the free meals its lease holds
today; a lost or replaced till is revoked here (:mod:`pos.store.devices`).  Tills are
registered from the till itself (POST /api/v1/devices), which keeps the secret.
"""
from __future__ import annotations

from flask import redirect, render_template, url_for
from flask_login import current_user

from pos.clock import now_utc
from pos.refusal import Refusal
from pos.store import devices
from pos.web.backoffice.common import bp, chosen_canteen, client_address, done, today, visible_canteens
from pos.web.signin import canteen_named, db


@bp.route("/devices")
def devices_page():
    """The tills of the chosen canteen, live first."""
    canteen = chosen_canteen()
    day = today(canteen)
    with db().tx() as tx:
        found = devices.devices_of(tx, canteen_id=canteen.code, business_date=day)
    return render_template("backoffice/devices.html", canteen=canteen, canteens=visible_canteens(), day=day,
                           devices=found)


@bp.route("/devices/<device_id>/revoke", methods=["POST"])
def device_revoke(device_id: str):
    with db().tx() as tx:
        device = devices.get_device(tx, device_id=device_id)
    if device is None:
        raise Refusal("device_not_found", "没有这台收银机", "no such till")
    canteen_named(device.canteen_id)
    with db().tx(write=True) as tx:
        devices.revoke(tx, device_id=device_id, actor=current_user, now=now_utc(), address=client_address())
    done("已注销收银机：{name}", name=device.name)
    return redirect(url_for("backoffice.devices_page", canteen=device.canteen_id))
