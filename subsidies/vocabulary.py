"""The product's word lists, each kept once: the kinds of subsidy, the tenders and the
outdoor-worker categories, each code with its Chinese and English name.

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


def name_of(names: dict[str, Names], code: str | None, language: str = "zh") -> str:
    """The name of ``code`` in ``language`` (``zh`` or ``en``); the code itself when the
    list does not know it, and ``""`` for no code."""
    if not code:
        return ""
    found = names.get(code)
    if found is None:
        return code
    return found.en if language == "en" else found.zh
