"""What a person is told about a diner's standing, outside any one order.

* :func:`band` — the cashier's banner at the till: the age tier reached today and the
  worker category, "80岁以上 · 环卫工" (the cashier checks the card in their hand);
* :func:`benefit` — the diner's own voucher page and printed card: what the voucher gives,
  "80岁以上长者 每餐立减¥7.00".  It is shown at the till, so it names the benefit and
  never the diner's work (no overt identification).

Both read the age tier from :meth:`subsidies.policy.PolicyVersion.tier_for`, the one
place a tier is looked up.  Each returns ``(zh, en)``.
"""
from __future__ import annotations

from datetime import date

from subsidies.age import age_on
from subsidies.money import yuan
from subsidies.policy import PolicyVersion
from subsidies.vocabulary import WORKER_CATEGORY_NAMES, Names


def _age(birth_date: date | None, today: date) -> int | None:
    return age_on(birth_date, today) if birth_date is not None and birth_date <= today else None


def band(policy: PolicyVersion | None, *, today: date, birth_date: date | None, worker_category: str | None = None,
         worker_verified: bool = False, resident: bool = True, walk_in: bool = False) -> tuple[str, str]:
    """The benefit band a cashier sees: the age tier reached ``today`` under ``policy``
    (None: no policy in force) and/or the worker category — "80岁以上 · 环卫工" /
    "80+ · sanitation worker"."""
    zh, en = [], []
    if walk_in:
        zh.append("未登记")
        en.append("not registered")
    elif not resident:
        zh.append("非本社区居民")
        en.append("not a resident")
    age = _age(birth_date, today)
    tier = policy.tier_for(age) if policy is not None and age is not None else None
    if tier is not None:
        zh.append(f"{tier.min_age}岁以上")
        en.append(f"{tier.min_age}+")
    if worker_category:
        names = WORKER_CATEGORY_NAMES.get(worker_category, Names(worker_category, worker_category))
        zh.append(names.zh if worker_verified else f"{names.zh}（未核验）")
        en.append(names.en if worker_verified else f"{names.en} (not verified)")
    if not zh:
        return "登记就餐者", "registered diner"
    return " · ".join(zh), " · ".join(en)


def benefit(policy: PolicyVersion | None, *, today: date, birth_date: date | None, resident: bool,
            worker_category: str | None, worker_verified: bool) -> tuple[str, str]:
    """What a registered diner's voucher gives under ``policy`` (the version in force
    ``today``; None when there is none), for the diner's own page and the printed card."""
    if policy is None:
        return "暂无适用的补贴政策", "no subsidy policy in force"
    zh, en = [], []
    if worker_category in policy.welfare_categories and worker_verified:
        zh.append("公益套餐 每日一份（限量）")
        en.append("a welfare set meal a day (while they last)")
    if resident or not policy.residency_required:
        age = _age(birth_date, today)
        tier = policy.tier_for(age) if age is not None else None
        if tier is not None:
            zh.append(f"{tier.min_age}岁以上长者 每餐立减{yuan(tier.discount_fen)}")
            en.append(f"aged {tier.min_age}+: {yuan(tier.discount_fen)} off a meal")
        elif policy.age_tiers and not zh:
            youngest = policy.age_tiers[0]
            zh.append(f"年满{youngest.min_age}岁起 每餐立减{yuan(youngest.discount_fen)}")
            en.append(f"from age {youngest.min_age}: {yuan(youngest.discount_fen)} off a meal")
    if not zh:
        return "社区登记就餐者（按菜单价）", "registered diner (menu prices)"
    return "；".join(zh), "; ".join(en)
