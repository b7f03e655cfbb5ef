"""Till devices and their free-meal leases (/api/v1/devices): the server side of selling
offline.

A supervisor registers each till of the canteen (the answer carries the device's secret,
shown once), lists them with when each last synced and how many offline sales it holds,
and revokes a lost one.  The till itself — a cashier, supervisor or admin signed in on it —
proves which device it is with the header ``X-Till-Device: <id>:<secret>`` and takes or
tops up today's lease of free meals while online, gives it back when it is online again
(after its queued sales are recorded), and beats its heartbeat with the number it holds.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from flask import Response, request
from flask_login import current_user
from pydantic import ConfigDict, Field

from pos.clock import business_date, now_utc
from pos.refusal import Refusal
from pos.store import devices, leases
from pos.store.devices import Device
from pos.store.leases import Lease
from pos.web.api.answers import Out
from pos.web.api.blueprint import ERRORS, api
from pos.web.api.schemas import Parameters, Strict
from pos.web.signin import canteen_named, client_address, db, require_canteen, settings

DEVICE_HEADER = "X-Till-Device"


class DeviceIn(Strict):
    name: str = Field(min_length=1, max_length=devices.MAX_NAME,
                      description='what staff call the till, e.g. "1号收银台"')
    canteen: str | None = Field(default=None, min_length=1, max_length=32,
                                description="the canteen (default: the caller's; an admin names one)")


class DevicesQuery(Parameters):
    model_config = ConfigDict(extra="forbid")
    canteen: Optional[str] = Field(default=None, min_length=1, max_length=32)


class DevicePath(Strict):
    device_id: str = Field(min_length=1, max_length=64)


class DeviceHeaders(Parameters):
    """The till's proof of which device it is.  Declared so the OpenAPI document shows it;
    the view refuses a missing one itself (400 device_required)."""

    till_device: Optional[str] = Field(default=None, alias=DEVICE_HEADER,
                                       description="`<id>:<secret>` as answered when the till was registered")


class LeaseReturnIn(Strict):
    lease_id: str = Field(min_length=1, max_length=64, description="as answered by POST /devices/lease")


class HeartbeatIn(Strict):
    queued: int = Field(ge=0, le=devices.MAX_QUEUED, description="offline sales the till holds, not yet recorded")


class DeviceOut(Out):
    id: str
    canteen: str
    name: str
    live: bool
    registered_at: str
    revoked_at: Optional[str]
    last_seen_at: Optional[str]
    last_sync_at: Optional[str]
    queued: int
    lease_outstanding: int


class RegisteredOut(DeviceOut):
    token: str  # the secret, shown this once; the till sends `<id>:<token>` in X-Till-Device


class DevicesOut(Out):
    canteen: str
    business_date: str
    devices: list[DeviceOut]


class LeaseOut(Out):
    """The device's free-meal lease of the business date.  ``outstanding`` is what the till
    may grant offline; ``left_today`` the canteen's free meals left, leases counted.
    ``lease_id`` is null when leases are off."""

    lease_id: Optional[str]
    device_id: str
    canteen: str
    business_date: str
    size: int
    used: int
    returned: int
    outstanding: int
    left_today: int


def _utc(moment: datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment is not None else None


def device_out(d: Device) -> DeviceOut:
    return DeviceOut(id=d.id, canteen=d.canteen_id, name=d.name, live=d.live, registered_at=_utc(d.registered_at),
                     revoked_at=_utc(d.revoked_at), last_seen_at=_utc(d.last_seen_at),
                     last_sync_at=_utc(d.last_sync_at), queued=d.queued, lease_outstanding=d.outstanding)


def lease_out(lease: Lease) -> LeaseOut:
    return LeaseOut(lease_id=lease.id, device_id=lease.device_id, canteen=lease.canteen_id,
                    business_date=lease.business_date.isoformat(), size=lease.size, used=lease.used,
                    returned=lease.returned, outstanding=lease.outstanding, left_today=max(lease.left_today, 0))


def _json(model, status: int = 200) -> Response:
    return Response(model.model_dump_json(), status=status, mimetype="application/json")


def this_device() -> Device:
    """The device the till says it is (X-Till-Device), live and of the caller's canteen."""
    presented = request.headers.get(DEVICE_HEADER, "")
    if not presented.strip():
        raise Refusal("device_required", "这台收银机还没有登记，请主管在后台登记",
                      f"the {DEVICE_HEADER} header is required: register this till first")
    with db().tx() as tx:
        device = devices.authenticate(tx, presented=presented)
    if current_user.canteen_id not in (None, device.canteen_id):
        raise devices.device_other_canteen()
    return device


def _today(canteen: str):
    return business_date(settings().canteen(canteen).timezone)


@api.post("/devices", responses={201: RegisteredOut, **ERRORS})
def devices_register(body: DeviceIn):
    """Register a till for the canteen (409 device_name_taken when a live till has that
    name).  The answer's ``token`` is shown this once."""
    canteen = canteen_named(body.canteen).code
    with db().tx(write=True) as tx:
        secret, device = devices.register(tx, canteen_id=canteen, name=body.name, actor=current_user,
                                          now=now_utc(), address=client_address())
    return _json(RegisteredOut(**device_out(device).model_dump(), token=secret), 201)


@api.get("/devices", responses={200: DevicesOut, **ERRORS})
def devices_list(query: DevicesQuery):
    """The canteen's tills, live first: last seen, last in sync, offline sales queued, and
    what each one's lease holds today."""
    canteen = canteen_named(query.canteen).code
    today = _today(canteen)
    with db().tx() as tx:
        found = devices.devices_of(tx, canteen_id=canteen, business_date=today)
    return _json(DevicesOut(canteen=canteen, business_date=today.isoformat(), devices=[device_out(d) for d in found]))


@api.post("/devices/<device_id>/revoke", responses={200: DeviceOut, **ERRORS})
def device_revoke(path: DevicePath):
    """Stop a till (lost or replaced): refused from now on, and the free meals its lease
    holds are left today again at once."""
    with db().tx() as tx:
        device = devices.get_device(tx, device_id=path.device_id)
    if device is None:
        raise Refusal("device_not_found", "没有这台收银机", "no such till")
    require_canteen(device.canteen_id)
    with db().tx(write=True) as tx:
        device = devices.revoke(tx, device_id=device.id, actor=current_user, now=now_utc(), address=client_address())
    return _json(device_out(device))


@api.post("/devices/lease", responses={200: LeaseOut, **ERRORS})
def device_lease(header: DeviceHeaders):
    """Take, or top up, this till's lease of today's free meals: afterwards it holds
    ``[offline] lease_size`` of them, or fewer when fewer are left (0 is an answer: grant
    no free meal offline).  They count as used in "left today" until given back."""
    device = this_device()
    today = _today(device.canteen_id)
    with db().tx(write=True) as tx:
        lease = leases.take_lease(tx, device_id=device.id, canteen_id=device.canteen_id, business_date=today,
                                  lease_size=settings().offline.lease_size,
                                  cap=settings().policy.free_meal_cap(today), now=now_utc(), actor=current_user,
                                  address=client_address())
    return _json(lease_out(lease))


@api.post("/devices/lease/return", responses={200: LeaseOut, **ERRORS})
def device_lease_return(body: LeaseReturnIn, header: DeviceHeaders):
    """Give back what this till's lease did not use: send it once the sales made offline
    are recorded (a meal granted offline after its return is no longer held)."""
    device = this_device()
    with db().tx(write=True) as tx:
        lease = leases.return_lease(tx, lease_id=body.lease_id, device_id=device.id,
                                    cap=settings().policy.free_meal_cap(_today(device.canteen_id)),
                                    now=now_utc(), actor=current_user, address=client_address())
    return _json(lease_out(lease))


@api.post("/devices/heartbeat", responses={200: DeviceOut, **ERRORS})
def device_heartbeat(body: HeartbeatIn, header: DeviceHeaders):
    """This till is online and holds ``queued`` offline sales not yet recorded (0: it is in
    sync now)."""
    device = this_device()
    with db().tx(write=True) as tx:
        device = devices.heartbeat(tx, device_id=device.id, queued=body.queued, now=now_utc(),
                                   business_date=_today(device.canteen_id))
    return _json(device_out(device))
