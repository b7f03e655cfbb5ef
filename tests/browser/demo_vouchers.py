"""Demo diners' vouchers for the browser tests: the URL a voucher's QR code holds, for a
resident aged 60-79 or a verified outdoor worker under 60 of the demo canteen."""
from __future__ import annotations


def voucher_url(app, *, senior: bool) -> str:
    """The voucher URL (what the QR holds) of a demo diner: a resident aged 60-79, or a
    verified outdoor worker under 60 — issued now if they have none."""
    from sqlmodel import select

    from pos.clock import business_date
    from pos.models import Diner, StaffUser
    from pos.store import vouchers
    from subsidies.age import age_on

    settings = app.config["CANTEEN"]
    today = business_date(settings.default_canteen.timezone)
    with app.extensions["canteen_db"].transaction() as s:
        for diner in s.exec(select(Diner).order_by(Diner.name)):
            age = age_on(diner.birth_date, today)
            if diner.suspended:
                continue
            if senior and not (diner.resident and 60 <= age < 80 and diner.worker_category is None):
                continue
            if not senior and not (diner.worker_category and diner.worker_verified_by and age < 60):
                continue
            active = vouchers.active_voucher(session=s, diner_id=diner.id)
            if active is not None and active.valid_until >= today:
                return vouchers.issued(settings, active).url
            staff = s.exec(select(StaffUser.id).where(StaffUser.username == "registrar")).one()
            return vouchers.issue_voucher(session=s, settings=settings, diner_id=diner.id, staff_id=staff,
                                          today=today).url
    raise LookupError("no suitable demo diner")
