"""The words of a decision, in Chinese (for the till) and English (for logs and audits).

Every function returns ``(reason_zh, reason_en)``.  Two rules hold for all of them:

* no reason ever names the diner's worker category (环卫工, delivery rider…) — a free meal
  must not single anyone out to the people queuing behind (no overt identification);
* amounts are formatted from integer fen by :mod:`subsidies.money`, never from floats.
"""
from __future__ import annotations

from datetime import date

from subsidies.money import yuan
from subsidies.policy import MealPeriod
from subsidies.vocabulary import meal_period_name

Reason = tuple[str, str]


# -- granted -----------------------------------------------------------------------------

def age_tier_granted(min_age: int, amount_fen: int, *, capped: bool) -> Reason:
    """``80周岁以上长者立减 ¥7.00`` / ``Age 80+ discount ¥7.00``; says so when the
    discount was cut down to the order total."""
    zh = f"{min_age}周岁以上长者立减 {yuan(amount_fen)}"
    en = f"Age {min_age}+ discount {yuan(amount_fen)}"
    if capped:
        zh += "（以订单金额为限）"
        en += " (capped at the order total)"
    return zh, en


def free_meal_granted(amount_fen: int) -> Reason:
    """The same neutral words for every free welfare meal, whoever receives it."""
    return (f"公益套餐 100% 补贴 {yuan(amount_fen)}",
            f"Welfare set meal, 100% subsidy {yuan(amount_fen)}")


# -- why a benefit does not apply ----------------------------------------------------------

def no_birth_date() -> Reason:
    """Age tier refused: the diner's record has no date of birth."""
    return ("档案中没有出生日期，无法核对年龄",
            "No date of birth on file, so age cannot be checked")


def birth_date_after(birth_date: date, business_date: date) -> Reason:
    """Age tier refused: the recorded date of birth is after the business date."""
    return (f"档案中的出生日期 {birth_date.isoformat()} 晚于营业日 {business_date.isoformat()}，请核对档案",
            f"The date of birth on file ({birth_date.isoformat()}) is after the business date "
            f"({business_date.isoformat()}); please check the record")


def too_young(age: int, youngest_tier: int | None) -> Reason:
    """Age tier refused: below the youngest tier (or the policy has no tiers)."""
    if youngest_tier is None:
        return ("本期政策没有长者优惠", "This policy version has no age discount")
    return (f"未满{youngest_tier}周岁（现{age}周岁），不享受长者优惠",
            f"Under {youngest_tier} (aged {age}): no age discount")


def not_resident(*, walk_in: bool) -> Reason:
    """Age tier refused: the policy requires residents and this diner does not count as one."""
    if walk_in:
        return ("长者优惠仅限本社区登记居民，现场核验身份证不适用",
                "The age discount is for registered community residents; "
                "a resident ID typed at the till does not qualify")
    return ("长者优惠仅限本社区登记居民",
            "The age discount is for registered community residents only")


def not_a_worker(*, walk_in: bool) -> Reason:
    """Free meal refused: not registered in a welfare category (the category is never named)."""
    if walk_in:
        return ("公益套餐需凭登记的餐券领取",
                "The free welfare meal needs a registered meal voucher")
    return ("未登记为可领取公益套餐的人员",
            "Not registered for the free welfare meal")


def worker_not_verified() -> Reason:
    """Free meal refused: registered, but the category is not verified yet."""
    return ("领取公益套餐的资格尚未核验，请到社区办理",
            "Eligibility for the free welfare meal has not been verified yet; "
            "please see community staff")


def worker_proof_expired(until: date | None) -> Reason:
    """Free meal refused: the proof of work staff saw has expired (its last day was ``until``)."""
    when = f"（有效期至 {until.isoformat()}）" if until else ""
    when_en = f" (valid until {until.isoformat()})" if until else ""
    return (f"工作证明已过期{when}，请到社区复核",
            f"The proof of work has expired{when_en}; please renew it at the community office")


def residency_proof_expired(until: date | None) -> Reason:
    """Age tier refused: the proof of residency staff saw has expired."""
    when = f"（有效期至 {until.isoformat()}）" if until else ""
    when_en = f" (valid until {until.isoformat()})" if until else ""
    return (f"居住证明已过期{when}，请到社区复核",
            f"The proof of residency has expired{when_en}; please renew it at the community office")


def ticket_wrong_date(ticket_date: date | None) -> Reason:
    """Free meal refused: the one-time ticket is for another business date."""
    if ticket_date is None:
        return ("公益餐券没有有效日期", "This free-meal ticket has no valid date")
    return (f"公益餐券仅限 {ticket_date.isoformat()} 当日使用",
            f"This free-meal ticket is valid on {ticket_date.isoformat()} only")


def no_welfare_item() -> Reason:
    """Free meal refused: the order has no welfare set meal to make free."""
    return ("订单中没有公益套餐", "There is no welfare set meal in the order")


def free_meals_gone(used: int, per_day: int) -> Reason:
    """Free meal refused: today's cap is reached; shows used/cap."""
    return (f"今日公益套餐已发完（{used}/{per_day}）",
            f"Today's free welfare meals are all taken ({used}/{per_day})")


# -- why nothing was considered at all ------------------------------------------------------

def no_credential() -> Reason:
    """Nothing considered: no voucher, ticket or resident ID was presented."""
    return ("未出示餐券或身份证，按菜单价结算",
            "No meal voucher or resident ID presented: menu price")


def suspended() -> Reason:
    """Nothing considered: the diner or the credential is suspended, revoked or invalid."""
    return ("餐券已停用或无效，按菜单价结算，请到社区咨询",
            "The meal voucher is suspended or invalid: menu price; please see community staff")


def left(event: str | None, on: date | None) -> Reason:
    """Nothing considered: the diner was recorded as deceased or moved away, from ``on``."""
    day = on.isoformat() if on else ""
    if event == "deceased":
        return (f"该就餐者登记为已身故（{day}起），不享受补贴，按菜单价结算",
                f"This diner is recorded as deceased (from {day}): no subsidy, menu price")
    return (f"该就餐者已迁出本社区（{day}起），不享受补贴，按菜单价结算",
            f"This diner has moved away (from {day}): no subsidy, menu price")


def outside_meal_period(periods: tuple[MealPeriod, ...]) -> Reason:
    """Nothing considered: per-period limits apply and the time is outside every period."""
    hours = "、".join(f"{meal_period_name(p.name)} {p.start:%H:%M}–{p.end:%H:%M}" for p in periods)
    hours_en = ", ".join(f"{meal_period_name(p.name, 'en')} {p.start:%H:%M}–{p.end:%H:%M}" for p in periods)
    return (f"现在不在供餐时段（{hours}），不享受补贴",
            f"Outside the meal periods ({hours_en}): no subsidy")


def limit_reached(*, ticket: bool, limit_per: str, period: str, limit: int) -> Reason:
    """Nothing considered: the diner's (or ticket's) limit is used up."""
    if ticket:
        return ("该公益餐券已使用", "This free-meal ticket has already been used")
    if limit_per == "period":
        return (f"本餐段（{meal_period_name(period)}）已享受过补贴餐（每餐段限{limit}次）",
                f"Already had a subsidised meal this meal period ({meal_period_name(period, 'en')}; limit {limit})")
    return (f"今日已享受过补贴餐（每日限{limit}次）",
            f"Already had a subsidised meal today (limit {limit} a day)")


def weekly_limit_reached(per_week: int) -> Reason:
    """Nothing considered: the diner's subsidised meals this week (Monday–Sunday) are used up."""
    return (f"本周补贴次数已用完（每周 {per_week} 次），按菜单价结算",
            f"This week's subsidised meals are used up ({per_week} a week): menu price")


def empty_order() -> Reason:
    """Nothing considered: there is nothing to pay."""
    return ("订单为空，请先点餐", "The order is empty: add dishes first")
