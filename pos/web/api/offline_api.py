"""The offline kit (GET /api/v1/till/offline-kit): what a registered till fetches while
online, and refreshes every few minutes, to keep selling when the network goes — built by
:mod:`pos.store.offline_kit` for the device's canteen and today's business date."""
from __future__ import annotations

import json

from flask import Response

from pos.clock import business_date, now_utc
from pos.store.offline_kit import build_kit
from pos.web.api.blueprint import ERRORS, api
from pos.web.api.devices_api import DeviceHeaders, this_device
from pos.web.signin import db, settings


@api.get("/till/offline-kit", responses={**ERRORS})
def device_offline_kit(header: DeviceHeaders):
    """The menu, the policy in force, today's entitlements (live vouchers and today's
    tickets: masked name, band, the rules' facts with no date of birth, today's counts)
    and this till's free-meal lease.  Needs the X-Till-Device header; it expires at the
    end of the business date."""
    device = this_device()
    canteen = device.canteen_id
    now = now_utc()
    with db().tx() as tx:
        kit = build_kit(tx, settings=settings(), canteen_id=canteen,
                        business_date=business_date(settings().canteen(canteen).timezone, now),
                        device_id=device.id, now=now)
    resp = Response(json.dumps(kit, ensure_ascii=False, separators=(",", ":")), mimetype="application/json")
    resp.headers["Cache-Control"] = "no-store"  # entitlements are personal data, however masked
    return resp
