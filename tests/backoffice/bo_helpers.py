"""Helpers for the back office and voucher tests."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import select

from support import browser_login


@dataclass
class Ctx:
    """The app's settings, database and business date, for calling store functions directly."""

    app: object
    settings: object
    db: object
    today: date


def ctx_for(app) -> Ctx:
    from pos.clock import business_date

    settings = app.config["CANTEEN"]
    return Ctx(app, settings, app.extensions["canteen_db"], business_date(settings.default_canteen.timezone))


def signed_in(app, username: str):
    """A test client signed in through the login form."""
    client = app.test_client()
    r = browser_login(client, username)
    assert r.status_code == 302, r.data[:300]
    return client


def staff_id(app, username: str) -> str:
    from pos.models import StaffUser

    with app.extensions["canteen_db"].session() as s:
        return s.exec(select(StaffUser.id).where(StaffUser.username == username)).one()


def make_id_number(n: int, birth: date, region: str = "330205") -> str:
    """A well-formed resident ID number, different for each n."""
    from subsidies.resident_id import check_character

    first17 = f"{region}{birth:%Y%m%d}{n % 1000:03d}"
    return first17 + check_character(first17)
