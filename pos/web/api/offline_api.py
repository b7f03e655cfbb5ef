"""The offline kit (GET /api/v1/till/offline-kit): what a registered till fetches while
online, and refreshes every few minutes, to keep selling when the network goes — built by
:mod:`pos.store.offline_kit` for the device's canteen and today's business date."""
from __future__ import annotations

import json
from typing import Any, Optional

from flask import Response

from pos.clock import business_date, now_utc
from pos.store.offline_kit import build_kit
from pos.web.api.answers import Out
from pos.web.api.blueprint import ERRORS, api
from pos.web.api.devices_api import DeviceHeaders, this_device
from pos.web.signin import db, settings

# The answer as the OpenAPI document declares it.  The policy and a diner's facts are typed
# loosely: their shape is subsidies/wire.py's, which the till's rules port reads and checks.


class KitDishOut(Out):
    id: str
    name: str
    name_en: str
    category: str
    price_fen: int
    welfare_meal: bool


class KitCountersOut(Out):
    """The diner's subsidised meals already recorded: today, by meal period, this week."""

    today: int
    periods: dict[str, int]
    week: int


class KitEntitlementOut(Out):
    """A live voucher or today's ticket, found by the SHA-256 prefixes in ``match`` of what
    a scan names; ``diner`` is a key of the day, not the diner's id."""

    match: list[str]
    kind: str
    masked_name: str
    band_zh: str
    band_en: str
    diner: str
    facts: dict[str, Any]
    counters: KitCountersOut


class KitLeaseOut(Out):
    lease_id: str
    size: int
    used: int
    returned: int
    outstanding: int
    ended: bool


class OfflineKitOut(Out):
    canteen: str
    timezone: str
    business_date: str
    generated_at: str
    expires_at: str
    policy: dict[str, Any]
    menu: list[KitDishOut]
    entitlements: list[KitEntitlementOut]
    lease: Optional[KitLeaseOut]


@api.get("/till/offline-kit", responses={200: OfflineKitOut, **ERRORS})
def till_offline_kit(header: DeviceHeaders):
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
    # Sent as built (compact, unescaped): thousands of entitlements are made once, not again as models.
    resp = Response(json.dumps(kit, ensure_ascii=False, separators=(",", ":")), mimetype="application/json")
    resp.headers["Cache-Control"] = "no-store"  # entitlements are personal data, however masked
    return resp
