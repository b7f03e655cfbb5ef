"""Recording a sale a till made offline, when it syncs: the same steps as any sale
(:func:`pos.store.sales.record_sale`: claim the key, gather the facts, decide, write the
rows on the chain), with what is different about a sale that already happened:

* it is recorded at the tablet's time (its business date from that time), with a row in
  ``offline_sales`` naming the device, the till's own number for it and the tablet
  clock's difference from the server's.  A time in the future (``offline_time_future``)
  or on a date other than the ones still being sold on (``offline_other_date``) is
  refused with both times, for a supervisor to look at the tablet's clock;
* a sale of a business date closed meanwhile is not lost: it is kept as the till sent it
  in ``late_offline_sales`` (answered 202 ``day_closed_offline_sale_kept``) for a
  correction;
* the money the diner paid is a fact: the lines are recorded at the prices the till
  charged (a menu price changed since is noted in the audit entry, never refused), and
  the sale's subsidy is what the till gave;
* the server decides the subsidy with its own facts at the tablet's time.  When it grants
  what the till gave, it is a normal grant (a free meal out of the till's lease, counted
  when it was leased).  When it would not (the diner was subsidised at another till
  first, the lease was used up or unknown, the voucher was revoked meanwhile) the sale has
  no grant — nothing to claim — and a ``serving_exceptions`` row says what was given and
  why, until a supervisor resolves it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from pos.clock import business_date, naive_utc
from pos.config import Settings
from pos.ids import new_id
from pos.refusal import Refusal
from pos.store import credentials, idempotency, ledger
from pos.store.audit import audit
from pos.store.idempotency import Answer
from pos.store.pricing import (FreeMeals, Moment, PricedLine, Quote, counters_today, decide_quote, moment_of,
                               policy_for)
from pos.store.sales import Recorded, SaleOrder, check_tender, write_sale
from pos.store.shifts import selling_shift
from pos.tx import Tx
from subsidies import reasons
from subsidies.engine import Decision
from subsidies.vocabulary import SUBSIDY_KIND_NAMES

#: How far ahead of the server's clock a tablet's time may be before it is refused: a
#: tablet clock a little fast is normal, a sale an hour in the future is not.
FUTURE_TOLERANCE = timedelta(minutes=5)

#: Why a subsidy given offline is not granted, beyond the rules engine's own codes.
LEASE_USED_UP = "lease_used_up"
DECISION_DIFFERS = "offline_decision_differs"
NOT_GIVEN = "offline_not_given"


@dataclass(frozen=True)
class OfflineFacts:
    """What the till says about a sale it made offline.  ``sold_at`` and ``sent_at`` are
    aware instants by the tablet's clock (the sale, and this try to send it);
    ``received_at`` by the server's.  ``subsidy_kind``/``subsidy_fen`` is what the till
    decided (None/0: no subsidy); ``unit_prices_fen`` what it charged for each line."""

    device_id: str
    sold_at: datetime
    sent_at: datetime
    received_at: datetime
    offline_no: int
    lease_id: str | None
    subsidy_kind: str | None
    subsidy_fen: int
    unit_prices_fen: tuple[int, ...]

    def request(self) -> dict:
        # The times of this try (sent, received) differ on every retry: not part of the request.
        return {"device_id": self.device_id, "sold_at": self.sold_at.isoformat(), "offline_no": self.offline_no,
                "lease_id": self.lease_id, "subsidy": [self.subsidy_kind, self.subsidy_fen],
                "unit_prices_fen": list(self.unit_prices_fen)}

    @property
    def clock_offset_ms(self) -> int:
        """The server's clock minus the tablet's, when this try was sent."""
        return round((self.received_at - self.sent_at).total_seconds() * 1000)


@dataclass(frozen=True, kw_only=True)
class OfflineOrder(SaleOrder):
    """A sale made offline, as the till syncs it (``instant`` is the tablet's ``sold_at``)."""

    offline: OfflineFacts

    def request(self, id_key: bytes) -> dict:
        return {**super().request(id_key), "offline": self.offline.request()}


def record_offline_sale(tx: Tx, *, settings: Settings, order: OfflineOrder, answer) -> Recorded:
    """Record a sale a till made offline in ``tx`` (a write transaction), or keep it aside
    when its business date is closed; ``answer`` as for :func:`pos.store.sales.record_sale`."""
    canteen_id, cashier, offline = order.canteen_id, order.cashier, order.offline
    tz = settings.canteen(canteen_id).timezone

    # 1. The key first: a retry gets the first answer, whatever changed since.
    moment = moment_of(offline.sold_at, tz)
    digest = idempotency.request_digest(order.request(settings.id_key), settings.id_key)
    kept = idempotency.claim(tx, user_id=cashier.id, key=order.idempotency_key, digest=digest,
                             at=naive_utc(offline.received_at))
    if kept is not None:
        return Recorded(kept, None)

    # 2. When: not in the future; a closed date keeps the sale aside; only the dates still
    #    sold on (today, and yesterday until it is closed: a sale just before midnight).
    #    The chain is locked first, so a day close waits for this sale or comes before it.
    if offline.sold_at > offline.received_at + FUTURE_TOLERANCE:
        raise time_in_future(offline)
    try:
        chain = ledger.open_chain(tx, canteen_id=canteen_id, business_date=moment.business_date)
    except Refusal as refused:
        if refused.code != "day_closed":
            raise
        late = keep_late(tx, settings=settings, order=order, moment=moment)
        idempotency.remember(tx, user_id=cashier.id, key=order.idempotency_key, answer=late)
        return Recorded(late, None)
    today = business_date(tz, offline.received_at)
    if moment.business_date not in (today, today - timedelta(days=1)):
        raise other_date(moment.business_date, today)

    # 3. The facts, as for any sale — but the lines at the prices the till charged, and a
    #    voucher that no longer resolves (revoked meanwhile) is no diner to the server.
    shift_id = selling_shift(tx, cashier_id=cashier.id, canteen_id=canteen_id, business_date=moment.business_date)
    policy = policy_for(settings, moment.business_date)
    lines, repriced = lines_as_charged(tx, canteen_id=canteen_id, order=order)
    try:
        credential, unresolved = credentials.resolve(tx, settings=settings, request=order.credential,
                                                     today=moment.business_date, canteen_id=canteen_id), None
    except Refusal as refused:
        credential, unresolved = None, refused
    free_meals, subsidised = counters_today(tx, policy=policy, canteen_id=canteen_id, moment=moment,
                                            credential=credential)
    lease_holds = _lease_outstanding(tx, offline, canteen_id, moment.business_date)
    if lease_holds:  # the till's leased meals are in the counter's used: one of them is this sale's
        free_meals = FreeMeals(free_meals.cap, free_meals.used - 1)

    # 4. Decide, and settle with what the till gave.
    quote = decide_quote(canteen_id=canteen_id, moment=moment, policy=policy, lines=lines, credential=credential,
                         free_meals=free_meals, subsidised=subsidised)
    quote = settle(tx, quote=quote, offline=offline, lease_holds=lease_holds, unresolved=unresolved)
    if order.due_fen != quote.due_fen:
        raise Refusal("offline_amounts_inconsistent", "离线销售的应收金额与菜品价格和补贴对不上",
                      f"the offline sale's due_fen {order.due_fen} is not its lines less its subsidy "
                      f"({quote.due_fen})")
    tender = check_tender(order.tender, due_fen=quote.due_fen)

    # 5. Write: the sale as any sale, then what only an offline sale has.
    try:
        sale = write_sale(tx, chain=chain, quote=quote, shift_id=shift_id, cashier_id=cashier.id, tender=tender)
    except tx.IntegrityError as e:
        if "diner_key" not in str(e) and "one_live_per_diner" not in str(e):
            raise
        # Another till recorded this diner's subsidised meal a moment ago: the retry finds
        # that grant and records this sale with a serving exception.
        zh, en = reasons.limit_reached(ticket=credential.kind == "ticket", limit_per=policy.limit_per,
                                       period=quote.decision.period, limit=policy.meals_per_limit)
        raise Refusal("limit_reached", zh, en) from None
    tx.execute("INSERT INTO offline_sales (sale_id, device_id, offline_no, sold_at_tablet, received_at, "
               "clock_offset_ms, lease_id) VALUES (:s, :dev, :no, :sold, :recv, :off, :lease)",
               {"s": sale.id, "dev": offline.device_id, "no": offline.offline_no, "sold": moment.sold_at,
                "recv": naive_utc(offline.received_at), "off": offline.clock_offset_ms, "lease": quote.lease_id})
    exception = None
    if quote.given_offline_fen:
        d = quote.decision
        exception = {"id": new_id(), "sale_id": sale.id, "canteen_id": canteen_id,
                     "business_date": moment.business_date, "kind": offline.subsidy_kind,
                     "amount_fen": quote.given_offline_fen, "code": d.code, "reason_zh": d.reason_zh,
                     "reason_en": d.reason_en, "created_at": naive_utc(offline.received_at)}
        tx.execute("INSERT INTO serving_exceptions (id, sale_id, canteen_id, business_date, kind, amount_fen, code, "
                   "reason_zh, reason_en, created_at) VALUES (:id, :sale_id, :canteen_id, :business_date, :kind, "
                   ":amount_fen, :code, :reason_zh, :reason_en, :created_at)", exception)
    reply = answer(sale)
    idempotency.remember(tx, user_id=cashier.id, key=order.idempotency_key, answer=reply)
    audit(tx=tx, action="sale_recorded", actor=cashier, canteen_id=canteen_id, target=sale.id, address=order.address,
          detail={"receipt_no": sale.receipt_no, "gross_fen": sale.gross_fen, "subsidy_fen": sale.subsidy_fen,
                  "due_fen": sale.due_fen, "subsidy_kind": sale.subsidy.kind, "credential": sale.credential_kind,
                  "offline": {"device_id": offline.device_id, "offline_no": offline.offline_no,
                              "clock_offset_ms": offline.clock_offset_ms, "prices_as_charged": repriced,
                              "serving_exception": exception["code"] if exception else None}})
    return Recorded(reply, sale)


def lines_as_charged(tx: Tx, *, canteen_id: str, order: OfflineOrder) -> tuple[tuple[PricedLine, ...], list[str]]:
    """The order's lines at the unit prices the till charged (a dish sold out since is
    still sold), and the ids of the dishes whose menu price is not what was charged."""
    prices = order.offline.unit_prices_fen
    if not order.lines:
        raise Refusal("empty_order", "订单为空，请先点餐", "the order is empty: add dishes first")
    if len(prices) != len(order.lines):
        raise Refusal("offline_prices_mismatch", "离线销售的单价与菜品行数不一致",
                      "offline.unit_prices_fen must give one price per line")
    ids = sorted({line.item_id for line in order.lines})
    params = {f"i{k}": item_id for k, item_id in enumerate(ids)}
    marks = ", ".join(f":i{k}" for k in range(len(ids)))
    menu = {r[0]: r for r in tx.all("SELECT id, name, name_en, price_fen, welfare_meal FROM menu_items "
                                    f"WHERE canteen_id = :c AND id IN ({marks})", {**params, "c": canteen_id})}
    out, repriced = [], []
    for n, (line, price) in enumerate(zip(order.lines, prices), start=1):
        item = menu.get(line.item_id)
        if item is None:
            raise Refusal("unknown_item", "菜单中没有这道菜，请刷新菜单", "unknown menu item: refresh the menu",
                          item_id=line.item_id)
        if item[3] != price:
            repriced.append(item[0])
        out.append(PricedLine(n, item[0], item[1], item[2], price, line.qty, bool(item[4])))
    return tuple(out), repriced


def _lease_outstanding(tx: Tx, offline: OfflineFacts, canteen_id: str, day: date) -> int:
    """Meals the till's lease (of this device, canteen and date) still holds, when the till
    says it granted a free meal from it; else 0."""
    if offline.lease_id is None or offline.subsidy_kind != "free_meal":
        return 0
    row = tx.one("SELECT size - used - returned FROM free_meal_leases "
                 "WHERE id = :l AND device_id = :dev AND canteen_id = :c AND business_date = :d",
                 {"l": offline.lease_id, "dev": offline.device_id, "c": canteen_id, "d": day})
    return max(row[0], 0) if row is not None else 0


def settle(tx: Tx, *, quote: Quote, offline: OfflineFacts, lease_holds: int, unresolved: Refusal | None) -> Quote:
    """The server's decision settled with what the till gave: the same kind and amount is
    the grant (a free meal taken from the till's lease); a subsidy the server would not
    grant is given without a grant (``given_offline_fen``, a serving exception, with the
    reason); no subsidy given offline is none recorded, whatever the server would grant."""
    d = quote.decision
    if offline.subsidy_fen == 0:
        if not d.granted:
            return quote
        return replace(quote, decision=_no_grant(d, NOT_GIVEN, "离线销售时没有给予补贴",
                                                 "no subsidy was given when the till sold offline"))
    if d.granted and (d.kind, d.amount_fen) == (offline.subsidy_kind, offline.subsidy_fen):
        if d.kind != "free_meal":
            return quote
        if lease_holds and tx.one("UPDATE free_meal_leases SET used = used + 1 "
                                  "WHERE id = :l AND used + returned < size RETURNING used",
                                  {"l": offline.lease_id}) is not None:
            return replace(quote, lease_id=offline.lease_id)
        why = (LEASE_USED_UP, "本机离线名额已用完或没有领取，这份免费餐不能申报补贴",
               "the till's lease of free meals was used up or unknown: this free meal cannot be claimed")
    elif unresolved is not None:
        why = (unresolved.code, f"{unresolved.zh}（离线给予的补贴不能申报）",
               f"{unresolved.en} (the subsidy given offline cannot be claimed)")
    elif not d.granted:
        why = (d.code, f"{d.reason_zh}（离线给予的补贴不能申报）", f"{d.reason_en} (the subsidy given offline cannot be claimed)")
    else:
        names = SUBSIDY_KIND_NAMES.get(offline.subsidy_kind or "")
        why = (DECISION_DIFFERS,
               f"离线给予{names.zh if names else ''} {offline.subsidy_fen} 分，服务器判定为：{d.reason_zh}",
               f"the till gave {names.en if names else 'a subsidy'} of {offline.subsidy_fen} fen offline; "
               f"the server decides: {d.reason_en}")
    return replace(quote, decision=_no_grant(d, *why), given_offline_fen=offline.subsidy_fen)


def _no_grant(d: Decision, code: str, zh: str, en: str) -> Decision:
    return replace(d, kind=None, amount_fen=0, applies_to="none", line_index=None, rule_id=None, code=code,
                   reason_zh=zh, reason_en=en)


def keep_late(tx: Tx, *, settings: Settings, order: OfflineOrder, moment: Moment) -> Answer:
    """Keep a sale of a closed business date as the till sent it (a resident ID number
    only as its pseudonym, as in the idempotency digest), for a correction; the answer
    (202) says so."""
    offline = order.offline
    late_id = new_id()
    payload = json.dumps(order.request(settings.id_key), sort_keys=True, ensure_ascii=False, default=str)
    tx.execute("INSERT INTO late_offline_sales (id, device_id, canteen_id, business_date, idempotency_key, "
               "payload_json, received_at) VALUES (:i, :dev, :c, :d, :k, :p, :at) "
               "ON CONFLICT (device_id, idempotency_key) DO NOTHING",
               {"i": late_id, "dev": offline.device_id, "c": order.canteen_id, "d": moment.business_date,
                "k": order.idempotency_key, "p": payload, "at": naive_utc(offline.received_at)})
    audit(tx=tx, action="offline_sale_kept_late", actor=order.cashier, canteen_id=order.canteen_id, target=late_id,
          address=order.address, detail={"device_id": offline.device_id, "offline_no": offline.offline_no,
                                         "business_date": moment.business_date, "due_fen": order.due_fen})
    day = moment.business_date.isoformat()
    body = {"status": "kept", "code": "day_closed_offline_sale_kept", "late_id": late_id, "business_date": day,
            "message_zh": f"{day} 已日结：这笔离线销售已保存，待主管更正，不会丢失",
            "message_en": f"business date {day} is closed: this offline sale is kept for a supervisor's "
                          f"correction, not lost"}
    return Answer(202, json.dumps(body, ensure_ascii=False))


def time_in_future(offline: OfflineFacts) -> Refusal:
    sold, now = offline.sold_at.isoformat(timespec="seconds"), offline.received_at.isoformat(timespec="seconds")
    return Refusal("offline_time_future", f"离线销售的时间 {sold} 晚于服务器时间 {now}：请核对收银机的时钟",
                   f"the offline sale's time {sold} is after the server's {now}: check the till's clock",
                   sold_at=sold, server_time=now)


def other_date(sold_on: date, today: date) -> Refusal:
    return Refusal("offline_other_date",
                   f"离线销售的营业日 {sold_on.isoformat()} 不是服务器的营业日 {today.isoformat()}：请核对收银机的日期和时钟",
                   f"the offline sale's business date {sold_on.isoformat()} is not the server's "
                   f"{today.isoformat()}: check the till's date and clock",
                   sale_date=sold_on.isoformat(), server_date=today.isoformat())


def unsynced_tills(tx: Tx, *, canteen_id: str) -> list[tuple[str, int]]:
    """The canteen's live tills that hold offline sales not yet recorded, as (name, queued):
    those whose last heartbeat said they hold some.  (A till that went offline and never
    came back cannot say so; a sale it sends after the close is kept, not lost.)"""
    rows = tx.all("SELECT name, queued FROM till_devices WHERE canteen_id = :c AND revoked_at IS NULL "
                  "AND queued > 0 ORDER BY name", {"c": canteen_id})
    return [(name, queued) for name, queued in rows]


def tills_unsynced(tills: list[tuple[str, int]]) -> Refusal:
    """The refusal of a day close while tills may hold its sales, naming each."""
    zh = "、".join(f"{name}（{queued} 笔待同步）" if queued else f"{name}（离线后未同步）" for name, queued in tills)
    en = ", ".join(f"{name} ({queued} queued)" if queued else f"{name} (not synced since going offline)"
                   for name, queued in tills)
    return Refusal("tills_unsynced",
                   f"还有 {len(tills)} 台收银机的离线销售未同步：{zh}。请让它们联网同步后再日结，或由主管填写原因后强制日结",
                   f"{len(tills)} till(s) hold offline sales not yet recorded: {en}. Bring them online to sync "
                   f"first, or give a reason to close anyway", tills=[{"name": n, "queued": q} for n, q in tills])
