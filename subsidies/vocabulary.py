"""The product's word lists, each kept once: the kinds of subsidy, the tenders, the
outdoor-worker categories and the usual meal periods, each code with its Chinese and English name.

The store, the reports, the CSV files, the templates and the database's CHECK lists all
use these (``tests/foundation/test_schema.py`` checks that ``schema.sql`` agrees).  A new
tender or worker category is added here and in ``schema.sql``, nowhere else.
"""
from __future__ import annotations

from typing import NamedTuple


class Names(NamedTuple):
    """A code's name for people: ``zh`` on Chinese screens and paper, ``en`` in English."""

    zh: str
    en: str


#: What a granted subsidy is: the age discount (立减) or the free welfare meal.
SUBSIDY_KIND_NAMES: dict[str, Names] = {
    "age_tier": Names("老龄立减", "Age discount"),
    "free_meal": Names("公益免费餐", "Free welfare meal"),
}
SUBSIDY_KINDS: tuple[str, ...] = tuple(SUBSIDY_KIND_NAMES)

#: How a diner pays what is due; "free" is for a sale with nothing left to pay.
TENDER_NAMES: dict[str, Names] = {
    "cash": Names("现金", "Cash"),
    "wechat": Names("微信", "WeChat"),
    "alipay": Names("支付宝", "Alipay"),
    "free": Names("免费", "Free"),
}
TENDERS: tuple[str, ...] = tuple(TENDER_NAMES)

#: The outdoor-worker categories the product knows.  A policy chooses which of them are
#: eligible for the free welfare meal.
WORKER_CATEGORY_NAMES: dict[str, Names] = {
    "cleaner": Names("保洁员", "cleaner"),
    "sanitation_worker": Names("环卫工", "sanitation worker"),
    "delivery_rider": Names("外卖员", "delivery rider"),
}
WORKER_CATEGORIES: tuple[str, ...] = tuple(WORKER_CATEGORY_NAMES)

#: What a member of staff saw when verifying a worker category (the proof type recorded
#: with the verification; a free note may say more).
WORKER_PROOF_NAMES: dict[str, Names] = {
    "employer_letter": Names("用工单位证明", "employer letter"),
    "work_card": Names("工作证", "work card"),
    "labour_contract": Names("劳动合同", "labour contract"),
    "platform_record": Names("平台骑手证明", "delivery platform record"),
    "other": Names("其他证明", "other proof"),
}
WORKER_PROOFS: tuple[str, ...] = tuple(WORKER_PROOF_NAMES)

#: What a member of staff saw when verifying that a diner lives in the community.
RESIDENCY_PROOF_NAMES: dict[str, Names] = {
    "household_register": Names("户口簿", "household register"),
    "residence_permit": Names("居住证", "residence permit"),
    "property_certificate": Names("房产证", "property certificate"),
    "rental_contract": Names("租赁合同", "rental contract"),
    "community_certificate": Names("社区居住证明", "community certificate of residence"),
}
RESIDENCY_PROOFS: tuple[str, ...] = tuple(RESIDENCY_PROOF_NAMES)

#: What ends a diner's benefits for good: recorded with its date, who recorded it and a note.
LIFE_EVENT_NAMES: dict[str, Names] = {
    "deceased": Names("身故", "deceased"),
    "moved_away": Names("迁出", "moved away"),
}
LIFE_EVENTS: tuple[str, ...] = tuple(LIFE_EVENT_NAMES)

#: The usual names of meal periods.  A policy names its periods freely in ``config.toml``
#: (``meal_periods[i].name``); these are the names people see for the usual ones, and a
#: period named otherwise (already in Chinese, say) is shown as it is written.
MEAL_PERIOD_NAMES: dict[str, Names] = {
    "breakfast": Names("早餐", "breakfast"),
    "lunch": Names("午餐", "lunch"),
    "afternoon": Names("下午茶", "afternoon"),
    "dinner": Names("晚餐", "dinner"),
    "supper": Names("晚餐", "supper"),
}


def name_of(names: dict[str, Names], code: str | None, language: str = "zh") -> str:
    """The name of ``code`` in ``language`` (``zh`` or ``en``); the code itself when the
    list does not know it, and ``""`` for no code."""
    if not code:
        return ""
    found = names.get(code)
    if found is None:
        return code
    return found.en if language == "en" else found.zh


def meal_period_name(period: str | None, language: str = "zh") -> str:
    """The name people see for a policy's meal period ``period`` (see ``MEAL_PERIOD_NAMES``)."""
    return name_of(MEAL_PERIOD_NAMES, period, language)


def rule_name(rule_id: str | None, language: str = "zh") -> str:
    """The name people see for a grant's rule: ``age_tier:80`` → "80岁以上老龄立减" /
    "Age discount 80+", ``free_meal`` → "公益免费餐"; an unknown rule is shown as its code.
    (The rule ids are made by :class:`subsidies.policy.AgeTier` and the engine.)"""
    kind, _, detail = (rule_id or "").partition(":")
    if kind not in SUBSIDY_KIND_NAMES:
        return rule_id or ""
    names = SUBSIDY_KIND_NAMES[kind]
    if not detail:
        return names.en if language == "en" else names.zh
    return f"{names.en} {detail}+" if language == "en" else f"{detail}岁以上{names.zh}"
