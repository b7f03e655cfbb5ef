"""Recording a sale: gather the facts → ``subsidies.decide`` → write the rows, in one
transaction — and voiding one.

:func:`record_sale` reads top to bottom.  It runs inside the caller's write transaction
(a :class:`pos.recording.Recorder` opens it) and enforces what must hold however many
tills press at once:

* the same Idempotency-Key with the same request gets the first answer, verbatim (the
  key is claimed first, :mod:`pos.store.idempotency`);
* the canteen's chain is locked for the business date (:func:`pos.store.ledger.open_chain`)
  before the rows are written, so the day is still open and the receipt number and the
  chain position read then see every earlier sale;
* the daily free-meal cap is claimed with a conditional update (``used < cap``);
* one live subsidy per diner per day (or meal period) is a partial unique index, across
  every canteen of the district;
* a weekly limit (the policy's ``per_week``) is claimed on the diner's counter row for
  the week with a conditional update (``used < cap``, and a CHECK behind it), across
  every canteen of the district: on PostgreSQL a second till waits on that row and then
  finds the week used up.

A refusal raises :class:`pos.refusal.Refusal` and the transaction rolls back:
nothing of a refused sale is recorded.  Money is integer fen throughout.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, NamedTuple

from pos.clock import naive_utc
from pos.config import Settings
from pos.ids import new_id
from pos.models import Sale, SaleLine, SubsidyGrant, Void
from pos.store import credentials, idempotency, ledger
from pos.store.audit import audit
from pos.store.credentials import CredentialRequest
from pos.store.idempotency import Answer
from pos.store.pricing import (WEEK_GRANTS, LineRequest, Quote, counters_today, decide_quote, moment_of, policy_for,
                                price_lines)
from pos.refusal import Refusal
from pos.store.sale_views import SaleView, get_sale, sale_view
from pos.store.shifts import MAX_CASH_FEN, selling_shift
from pos.tx import Tx
from subsidies import reasons
from subsidies.business_day import week_of
from subsidies.vocabulary import TENDERS


class Actor(NamedTuple):
    """A member of staff as the store records them."""

    id: str
    username: str


class TenderRequest(NamedTuple):
    """How the diner pays, as the till sends it."""

    method: str
    tendered_fen: int | None = None
    reference: str | None = None


@dataclass(frozen=True)
class SaleOrder:
    """A sale as a till asks for it: who, where, the Idempotency-Key, the dishes and the
    credential, the amount the cashier showed the diner, the payment, and when."""

    canteen_id: str
    cashier: Actor
    idempotency_key: str
    lines: tuple[LineRequest, ...]
    credential: CredentialRequest | None
    due_fen: int
    tender: TenderRequest
    instant: datetime
    address: str = ""

    def request(self, id_key: bytes) -> dict:
        """What a retry must repeat exactly for the first answer to be given again.  A
        resident ID number in it (either field) is only its pseudonym (``id_key``)."""
        stand_in = credentials.stand_in(self.credential, id_key=id_key)
        return {"lines": [list(line) for line in self.lines], "credential": list(stand_in) if stand_in else None,
                "due_fen": self.due_fen, "tender": list(self.tender)}


class Recorded(NamedTuple):
    """What became of a sale: the answer to give, and the sale (None when the answer is
    the one kept for an earlier try with the same key)."""

    answer: Answer
    sale: SaleView | None


class Tender(NamedTuple):
    """A payment checked against the amount due: what was handed over and the change."""

    method: str
    tendered_fen: int
    change_fen: int
    reference: str


def record_sale(tx: Tx, *, settings: Settings, order: SaleOrder, answer: Callable[[SaleView], Answer]) -> Recorded:
    """Record one sale in ``tx`` (a write transaction); ``answer`` turns the recorded sale
    into the answer the till gets, which is kept for retries with the same key."""
    canteen_id, cashier = order.canteen_id, order.cashier

    # 1. The key first: a retry of a recorded sale gets its first answer, whatever changed since.
    moment = moment_of(order.instant, settings.canteen(canteen_id).timezone)
    digest = idempotency.request_digest(order.request(settings.id_key), settings.id_key)
    kept = idempotency.claim(tx, user_id=cashier.id, key=order.idempotency_key, digest=digest, at=moment.sold_at)
    if kept is not None:
        return Recorded(kept, None)

    # 2. Gather the facts: the cashier's shift (on a day still open), the dishes, the diner,
    #    today's free meals and the diner's subsidised meals.  Another till may change the
    #    counters a moment later: the free-meal claim and the one-live-grant index in
    #    write_sale are what hold the rules under concurrency, and a sale they refuse is
    #    answered with the new quote.
    shift_id = selling_shift(tx, cashier_id=cashier.id, canteen_id=canteen_id, business_date=moment.business_date)
    policy = policy_for(settings, moment.business_date)
    lines = price_lines(tx, canteen_id=canteen_id, lines=order.lines)
    credential = credentials.resolve(tx, settings=settings, request=order.credential, today=moment.business_date,
                                     canteen_id=canteen_id)
    free_meals, subsidised = counters_today(tx, policy=policy, canteen_id=canteen_id, moment=moment,
                                            credential=credential)

    # 3. Decide.
    quote = decide_quote(canteen_id=canteen_id, moment=moment, policy=policy, lines=lines, credential=credential,
                         free_meals=free_meals, subsidised=subsidised)
    if order.due_fen != quote.due_fen:
        raise price_changed(quote)
    tender = check_tender(order.tender, due_fen=quote.due_fen)

    # 4. Write the rows on the canteen's chain, locked for the business date (it refuses a
    #    day closed a moment ago): the sale, its lines, its grant or the reason for none; the
    #    kept answer; the audit entry.
    chain = ledger.open_chain(tx, canteen_id=canteen_id, business_date=moment.business_date)
    try:
        sale = write_sale(tx, chain=chain, quote=quote, shift_id=shift_id, cashier_id=cashier.id, tender=tender)
    except tx.IntegrityError as e:
        if "diner_key" not in str(e) and "one_live_per_diner" not in str(e):
            raise
        # Another till recorded this diner's subsidised meal a moment ago (maybe at another
        # canteen of the district): refused; the whole sale rolls back.
        zh, en = reasons.limit_reached(ticket=credential.kind == "ticket", limit_per=policy.limit_per,
                                       period=quote.decision.period, limit=policy.meals_per_limit)
        raise Refusal("limit_reached", zh, en) from None
    reply = answer(sale)
    idempotency.remember(tx, user_id=cashier.id, key=order.idempotency_key, answer=reply)
    audit(tx=tx, action="sale_recorded", actor=cashier, canteen_id=canteen_id, target=sale.id, address=order.address,
          detail={"receipt_no": sale.receipt_no, "gross_fen": sale.gross_fen, "subsidy_fen": sale.subsidy_fen,
                  "due_fen": sale.due_fen, "subsidy_kind": sale.subsidy.kind, "credential": sale.credential_kind})
    return Recorded(reply, sale)


def price_changed(quote: Quote) -> Refusal:
    """The refusal of a sale whose amount the till showed is not what the server decides
    now; it carries the new quote for the cashier to confirm with the diner."""
    return Refusal("price_changed", "价格已变化，请向顾客确认新的应收金额",
                   "the price changed: confirm the new amount with the diner", quote=quote)


def check_tender(tender: TenderRequest, *, due_fen: int) -> Tender:
    """The payment, checked against the amount due: cash covers it (change is given),
    WeChat or Alipay pay it exactly, "free" only when nothing is due."""
    method, tendered = tender.method, tender.tendered_fen
    reference = (tender.reference or "").strip()
    if method not in TENDERS:
        raise Refusal("invalid_tender", "付款方式无效", f"tender.method must be one of {', '.join(TENDERS)}")
    if method == "free":
        if due_fen != 0:
            raise Refusal("not_free", "应收金额不为零，不能按免费结算", "tender 'free' is only for a sale with nothing due")
        if tendered not in (None, 0):
            raise Refusal("invalid_tender", "免费结算不收款", "a free sale takes no money")
        return Tender("free", 0, 0, "")
    if method == "cash":
        if tendered is None:
            raise Refusal("tendered_required", "请输入实收现金", "tender.tendered_fen is required for cash")
        if not 0 <= tendered <= MAX_CASH_FEN:
            raise Refusal("invalid_tender", "实收金额无效", "tender.tendered_fen must be 0..10,000,000 fen")
        if tendered < due_fen:
            raise Refusal("insufficient_cash", "实收现金不足", "cash tendered is less than the amount due",
                          due_fen=due_fen)
        return Tender("cash", tendered, tendered - due_fen, "")
    if tendered is not None and tendered != due_fen:
        raise Refusal("invalid_tender", "电子支付金额须等于应收金额",
                      "for wechat/alipay, tendered_fen must equal the amount due (or be left out)")
    return Tender(method, due_fen, 0, reference[:64])


def write_sale(tx: Tx, *, chain: ledger.ChainWriter, quote: Quote, shift_id: str, cashier_id: str,
               tender: Tender) -> SaleView:
    """Write a decided sale on the chain: claim the free meal if it is one, then the sale,
    its lines, its grant and its decision (a free meal a till granted offline was claimed
    from its lease already: ``quote.lease_id``).  Refuses (``price_changed``, with the new
    quote) when another till took the last free meal; a grant for a diner who was
    subsidised a moment ago at another canteen breaks the one-live-grant index."""
    d, cred, m, canteen_id = quote.decision, quote.credential, quote.moment, quote.canteen_id
    if d.granted and d.kind == "free_meal" and quote.lease_id is None and not _claim_free_meal(tx, quote):
        free_meals, subsidised = counters_today(tx, policy=quote.policy, canteen_id=canteen_id, moment=m,
                                                credential=cred)
        raise price_changed(decide_quote(canteen_id=canteen_id, moment=m, policy=quote.policy, lines=quote.lines,
                                         credential=cred, free_meals=free_meals, subsidised=subsidised))
    if d.granted and quote.policy.per_week is not None and cred.kind != "ticket" and not _claim_week(tx, quote):
        # Another till (maybe at another canteen of the district) took the diner's last
        # subsidised meal of the week a moment ago: the new quote says so.
        free_meals, subsidised = counters_today(tx, policy=quote.policy, canteen_id=canteen_id, moment=m,
                                                credential=cred)
        again = decide_quote(canteen_id=canteen_id, moment=m, policy=quote.policy, lines=quote.lines,
                             credential=cred, free_meals=free_meals, subsidised=subsidised)
        if again.decision.granted:  # the counter row holds grants the count does not see: trust the row
            raise Refusal("weekly_limit_reached", *reasons.weekly_limit_reached(quote.policy.per_week))
        raise price_changed(again)
    sale_id = new_id()
    receipt_no = tx.scalar("SELECT COALESCE(MAX(receipt_no), 0) + 1 FROM sales WHERE canteen_id = :c", {"c": canteen_id})
    sale = chain.stamp("sales", {
        "id": sale_id, "canteen_id": canteen_id, "business_date": m.business_date, "sold_at": m.sold_at,
        "local_hour": m.local_time.hour, "receipt_no": receipt_no, "shift_id": shift_id, "cashier_id": cashier_id,
        "credential_kind": cred.kind if cred is not None else credentials.NO_CREDENTIAL,
        "diner_id": cred.diner_id if cred is not None else None,
        "ticket_id": cred.ticket_id if cred is not None else None,
        "gross_fen": quote.gross_fen, "subsidy_fen": quote.subsidy_fen, "due_fen": quote.due_fen,
        "tender_method": tender.method, "tendered_fen": tender.tendered_fen, "change_fen": tender.change_fen,
        "tender_reference": tender.reference, "status": "completed"})
    tx.insert(Sale.__table__, sale)
    lines = [chain.stamp("sale_lines", {
        "id": new_id(), "sale_id": sale_id, "canteen_id": canteen_id, "line_no": line.line_no,
        "item_id": line.item_id, "name": line.name, "unit_price_fen": line.unit_price_fen, "qty": line.qty,
        "welfare_meal": line.welfare_meal, "line_total_fen": line.line_total_fen}) for line in quote.lines]
    tx.insert(SaleLine.__table__, lines)
    grant = None
    if d.granted:
        grant = chain.stamp("subsidy_grants", {
            "id": new_id(), "sale_id": sale_id, "canteen_id": canteen_id, "business_date": m.business_date,
            "period": d.period, "diner_key": cred.diner_key, "diner_id": cred.diner_id, "ticket_id": cred.ticket_id,
            "kind": d.kind, "amount_fen": d.amount_fen, "rule_id": d.rule_id, "policy_version": d.policy_version,
            "reason_zh": d.reason_zh, "reason_en": d.reason_en,
            "line_no": (d.line_index + 1) if d.line_index is not None else None,
            "granted_at": m.sold_at, "voided": False})
        tx.insert(SubsidyGrant.__table__, grant)
    decision = None
    if grant is None:  # a grant keeps its own reason; without one, keep why there is none
        decision = {"sale_id": sale_id, "policy_version": d.policy_version, "code": d.code, "reason_zh": d.reason_zh,
                    "reason_en": d.reason_en}
        tx.execute("INSERT INTO sale_decisions (sale_id, policy_version, code, reason_zh, reason_en) "
                   "VALUES (:sale_id, :policy_version, :code, :reason_zh, :reason_en)", decision)
    chain.save()
    return sale_view(sale, lines, grant, decision, None, {line.item_id: line.name_en for line in quote.lines})


def _claim_free_meal(tx: Tx, quote: Quote) -> bool:
    """Take one of today's free meals: the day's counter row is made by the first claim,
    and ``used`` only goes up while it is below the cap."""
    params = {"c": quote.canteen_id, "d": quote.moment.business_date}
    tx.execute("INSERT INTO free_meal_counters (canteen_id, business_date, cap, used) VALUES (:c, :d, :cap, 0) "
               "ON CONFLICT (canteen_id, business_date) DO NOTHING", {**params, "cap": quote.policy.free_meals_per_day})
    return tx.one("UPDATE free_meal_counters SET used = used + 1 "
                  "WHERE canteen_id = :c AND business_date = :d AND used < cap RETURNING used", params) is not None


def _claim_week(tx: Tx, quote: Quote) -> bool:
    """Take one of the diner's subsidised meals of the week (the policy's ``per_week``):
    the week's counter row is made by the first claim under a weekly limit, from the
    diner's live grants of the week so far, and ``used`` only goes up while it is below
    the cap.  On PostgreSQL a till racing another waits on the row (the INSERT on its
    key, the UPDATE on its lock) and then reads what the other committed."""
    monday, sunday = week_of(quote.moment.business_date)
    params = {"k": quote.credential.diner_key, "w": monday, "w0": monday, "w1": sunday,
              "cap": quote.policy.per_week, "no": False}
    # (WHERE TRUE: SQLite would read ON CONFLICT right after the FROM as part of a join.)
    tx.execute("INSERT INTO weekly_subsidy_counters (diner_key, week_start, cap, used) "
               f"SELECT :k, :w, :cap, CASE WHEN n > :cap THEN :cap ELSE n END FROM (SELECT {WEEK_GRANTS} AS n) AS g "
               "WHERE TRUE ON CONFLICT (diner_key, week_start) DO NOTHING", params)
    return tx.one("UPDATE weekly_subsidy_counters SET used = used + 1, cap = :cap "
                  "WHERE diner_key = :k AND week_start = :w AND used < :cap RETURNING used", params) is not None


def void_sale(tx: Tx, *, sale_id: str, reason: str, requested_by, approved_by, instant: datetime,
              address: str = "") -> SaleView:
    """Void a sale of an open business date: a chained void row, the sale marked voided,
    its subsidy reversed and a free-meal slot given back.  Refuses a second void
    (``already_voided``) and a closed date (``day_closed``).  ``requested_by`` and
    ``approved_by`` have ``id`` and ``username``."""
    found = tx.one("SELECT canteen_id, business_date, status FROM sales WHERE id = :i", {"i": sale_id})
    if found is None:
        raise Refusal("unknown_sale", "没有这笔销售", "no such sale")
    canteen_id, business_date, status = found[0], tx.date(found[1]), found[2]
    if status == "voided":
        raise Refusal("already_voided", "这笔销售已作废", "this sale is already voided")
    chain = ledger.open_chain(tx, canteen_id=canteen_id, business_date=business_date)
    sale = get_sale(tx, sale_id=sale_id)  # as of the lock: another till may have voided it a moment ago
    if sale.status == "voided":
        raise Refusal("already_voided", "这笔销售已作废", "this sale is already voided")
    reason = (reason or "").strip()
    if not reason:
        raise Refusal("reason_required", "请填写作废原因", "a reason for the void is required")
    row = chain.stamp("voids", {
        "id": new_id(), "sale_id": sale_id, "canteen_id": canteen_id, "business_date": sale.business_date,
        "voided_at": naive_utc(instant), "reason": reason[:200], "requested_by": requested_by.id,
        "approved_by": approved_by.id, "refund_fen": sale.due_fen, "reversed_subsidy_fen": sale.subsidy_fen})
    tx.insert(Void.__table__, row)
    tx.execute("UPDATE sales SET status = 'voided' WHERE id = :i", {"i": sale_id})
    if sale.subsidy.kind is not None:
        tx.execute("UPDATE subsidy_grants SET voided = :yes WHERE sale_id = :i", {"i": sale_id, "yes": True})
        if sale.subsidy.kind == "free_meal":
            tx.execute("UPDATE free_meal_counters SET used = used - 1 "
                       "WHERE canteen_id = :c AND business_date = :d AND used > 0",
                       {"c": canteen_id, "d": sale.business_date})
        # The diner's week gets the meal back (a row exists only under a weekly limit).
        tx.execute("UPDATE weekly_subsidy_counters SET used = used - 1 WHERE week_start = :w AND used > 0 "
                   "AND diner_key = (SELECT diner_key FROM subsidy_grants WHERE sale_id = :i)",
                   {"w": week_of(sale.business_date)[0], "i": sale_id})
    chain.save()
    audit(tx=tx, action="sale_voided", actor=requested_by, canteen_id=canteen_id, target=sale_id, address=address,
          detail={"approved_by": approved_by.username, "refund_fen": sale.due_fen,
                  "reversed_subsidy_fen": sale.subsidy_fen, "receipt_no": sale.receipt_no})
    return get_sale(tx, sale_id=sale_id)
