"""The offline kit: what a till needs to keep selling for one business date when the
network goes — the menu, the policy in force, today's entitlements and its free-meal lease.

An entitlement is a live voucher (the till accepts any voucher of the district, so the kit
holds them all) or one of today's tickets of the canteen.  The till finds one by hashing
what it scanned: ``match`` holds the first 32 hex digits (128 bits) of the SHA-256 of the
token as the QR URL carries it and of ``"code:" + short code``.  A revoked, superseded or
expired voucher is simply absent, so its scan is refused offline too, and so is a forged
one (nobody can make a token whose hash is in the kit without the signing key).

What leaves the server, and what never does:

* the masked name and the band the cashier sees online; never the full name, the resident
  ID number or its pseudonym;
* ``diner``: a reference that is the same for two vouchers of one diner on this date and
  means nothing the next day (HMAC of the pseudonym under a key of the canteen and date);
* ``facts``: the rules engine's facts (wire form), but no date of birth.  The engine needs
  a birth date to find the age tier; the kit gives a stand-in birth date that reaches
  exactly the tier's ``min_age`` on this date (or none below the youngest tier), so the
  till decides the same as the server today and learns only the tier.  Dates of proofs and
  life events are reduced the same way to what they mean on this date.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from pos.config import Settings
from pos.store import leases, menu, tokens
from pos.store.credentials import Credential
from pos.store.credentials.credential import DinerRow, registered
from pos.store.pricing import policy_for
from pos.tx import Tx
from subsidies import wire
from subsidies.age import age_on
from subsidies.business_day import week_of
from subsidies.engine import DinerFacts
from subsidies.policy import PolicyVersion

MATCH_HEX = 32  # 128 bits of SHA-256: no collision among a district's vouchers, half the size


def match_hash(text: str) -> str:
    """What the till computes from a scan to look it up in the kit."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:MATCH_HEX]


def build_kit(tx: Tx, *, settings: Settings, canteen_id: str, business_date: date, device_id: str,
              now: datetime) -> dict:
    """The kit for ``device_id`` at ``canteen_id`` on ``business_date`` (plain JSON data).
    ``expires_at`` is the end of the business date (UTC)."""
    canteen = settings.canteen(canteen_id)
    policy = policy_for(settings, business_date)
    day_key = hmac.new(settings.id_key, f"offline-kit:{canteen_id}:{business_date.isoformat()}".encode(),
                       hashlib.sha256).digest()
    counts = _subsidised(tx, policy=policy, business_date=business_date)
    entitlements = [_entitlement(c, match, day_key, counts, policy, business_date)
                    for c, match in _vouchers(tx, settings, business_date) + _tickets(tx, settings, canteen_id,
                                                                                      business_date)]
    lease = leases.lease_of(tx, device_id=device_id, canteen_id=canteen_id, business_date=business_date,
                            cap=policy.free_meals_per_day)
    end = datetime.combine(business_date + timedelta(days=1), time(0), ZoneInfo(canteen.timezone))
    return {
        "canteen": canteen_id, "timezone": canteen.timezone, "business_date": business_date.isoformat(),
        "generated_at": _utc(now), "expires_at": _utc(end),
        "policy": wire.policy_to_json(policy),
        "menu": [{"id": d.id, "name": d.name, "name_en": d.name_en, "category": d.category, "price_fen": d.price_fen,
                  "welfare_meal": d.welfare_meal} for d in menu.for_till(tx, canteen_id=canteen_id)],
        "entitlements": entitlements,
        "lease": None if lease is None or lease.id is None else {
            "lease_id": lease.id, "size": lease.size, "used": lease.used, "returned": lease.returned,
            "outstanding": lease.outstanding, "ended": lease.ended},
    }


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


_VOUCHERS = ("SELECT v.id, v.version, v.code, d.id, d.name, d.id_hmac, d.birth_date, d.resident, d.worker_category, "
             "d.worker_verified_by, d.suspended, d.worker_verified_on, d.residency_verified_on, d.left_kind, "
             "d.left_on FROM vouchers v JOIN diners d ON d.id = v.diner_id "
             "WHERE v.status = 'active' AND v.valid_until >= :today ORDER BY v.id")


def _vouchers(tx: Tx, settings: Settings, today: date) -> list[tuple[Credential, list[str]]]:
    """Every live voucher's credential (as the till's scan would resolve it today) and its
    match hashes."""
    out = []
    day = lambda value: tx.date(value) if value is not None else None  # noqa: E731
    for r in tx.all(_VOUCHERS, {"today": today}):
        voucher_id, version, code = r[0], r[1], r[2]
        diner = DinerRow(r[3], r[4], r[5], tx.date(r[6]), bool(r[7]), r[8], r[9], bool(r[10]), day(r[11]),
                         day(r[12]), r[13], day(r[14]))
        cred = registered(settings, diner, kind="voucher", today=today, voucher_id=voucher_id)
        token = tokens.voucher_token(settings.secret_key, voucher_id, version)
        out.append((cred, [match_hash(token), match_hash("code:" + code)]))
    return out


def _tickets(tx: Tx, settings: Settings, canteen_id: str, today: date) -> list[tuple[Credential, list[str]]]:
    """Today's tickets of the canteen, as the till's scan would resolve them."""
    out = []
    for ticket_id, code in tx.all("SELECT id, code FROM tickets WHERE canteen_id = :c AND business_date = :d "
                                  "ORDER BY id", {"c": canteen_id, "d": today}):
        cred = Credential(kind="ticket", facts=DinerFacts(kind="ticket", ticket_date=today),
                          diner_key=f"ticket:{ticket_id}", ticket_id=ticket_id, band_zh="公益餐券",
                          band_en="free-meal ticket")
        token = tokens.ticket_token(settings.secret_key, ticket_id)
        out.append((cred, [match_hash(token), match_hash("code:" + code)]))
    return out


def _subsidised(tx: Tx, *, policy: PolicyVersion, business_date: date) -> dict[str, dict]:
    """Each subsidised diner's live grants: on the date (by meal period, "" when the limit
    is per day), this week (when the policy sets ``per_week``), and a ticket's ever."""
    found: dict[str, dict] = {}
    for key, period, n in tx.all("SELECT diner_key, period, COUNT(*) FROM subsidy_grants "
                                 "WHERE business_date = :d AND voided = :no AND diner_key IS NOT NULL "
                                 "GROUP BY diner_key, period", {"d": business_date, "no": False}):
        entry = found.setdefault(key, {"today": 0, "periods": {}, "week": 0})
        entry["today"] += n
        entry["periods"][period] = n
    if policy.per_week is not None:
        monday, sunday = week_of(business_date)
        for key, n in tx.all("SELECT diner_key, COUNT(*) FROM subsidy_grants WHERE business_date >= :w0 "
                             "AND business_date <= :w1 AND voided = :no AND diner_key IS NOT NULL GROUP BY diner_key",
                             {"w0": monday, "w1": sunday, "no": False}):
            found.setdefault(key, {"today": 0, "periods": {}, "week": 0})["week"] = n
    for key, n in tx.all("SELECT diner_key, COUNT(*) FROM subsidy_grants WHERE diner_key LIKE :tickets "
                         "AND voided = :no GROUP BY diner_key", {"tickets": "ticket:%", "no": False}):
        found.setdefault(key, {"today": 0, "periods": {}, "week": 0})["today"] = n
    return found


def _entitlement(cred: Credential, match: list[str], day_key: bytes, counts: dict, policy: PolicyVersion,
                 today: date) -> dict:
    counters = counts.get(cred.diner_key or "", {"today": 0, "periods": {}, "week": 0})
    return {"match": match, "kind": cred.kind, "masked_name": cred.masked_name, "band_zh": cred.band_zh,
            "band_en": cred.band_en,
            "diner": hmac.new(day_key, (cred.diner_key or "").encode(), hashlib.sha256).hexdigest()[:16],
            "facts": wire.diner_to_json(kit_facts(cred.facts, policy, today)), "counters": counters}


def kit_facts(facts: DinerFacts, policy: PolicyVersion, today: date) -> DinerFacts:
    """The facts as the kit carries them: the same decision on ``today``, no date of birth
    (a stand-in that reaches exactly the tier's age today), and proof and life-event dates
    only as what they mean today."""
    stand_in = None
    if facts.birth_date is not None and facts.birth_date <= today:
        tier = policy.tier_for(age_on(facts.birth_date, today))
        if tier is not None:
            # The tier's birthday today; on 29 February, 28 February (reached in every year).
            stand_in = date(today.year - tier.min_age, today.month, 28 if (today.month, today.day) == (2, 29)
                            else today.day)
    yesterday = today - timedelta(days=1)

    def lapsed(until: date | None) -> date | None:  # lasts through today: no end to tell; else it ended
        return None if until is None or until >= today else yesterday

    left = facts.left if facts.left_on is not None and facts.left_on <= today else None
    return replace(facts, birth_date=stand_in, worker_verified_until=lapsed(facts.worker_verified_until),
                   residency_verified_until=lapsed(facts.residency_verified_until), left=left,
                   left_on=today if left else None)
