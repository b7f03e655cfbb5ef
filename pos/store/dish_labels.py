"""What a cook says about a dish: its labels (low salt, soft, light, allergens…) and its
approximate energy, and the rule that picks today's healthy dishes from them.

The labels are one word list, kept here once: each code with its Chinese and English word.
A dish stores its labels in ``menu_items.labels`` as space-separated codes in the order of
this list, so two cooks ticking the same boxes store the same text, and the public page
shows the badges in one order everywhere.
"""
from __future__ import annotations

from typing import Iterable, Protocol, Sequence, TypeVar

from pos.refusal import Refusal
from subsidies.vocabulary import Names

#: The labels a dish may carry, in the order they are stored and shown.
DISH_LABEL_NAMES: dict[str, Names] = {
    "low_salt": Names("少盐", "low salt"),
    "soft": Names("软烂", "soft"),
    "light": Names("清淡", "light"),
    "spicy": Names("辣", "spicy"),
    "contains_nuts": Names("含坚果", "contains nuts"),
    "contains_peanuts": Names("含花生", "contains peanuts"),
    "contains_seafood": Names("含海鲜", "contains seafood"),
}
DISH_LABELS: tuple[str, ...] = tuple(DISH_LABEL_NAMES)
#: Labels that make a dish a healthy pick (see :func:`healthy_pick`).
HEALTHY_LABELS: frozenset[str] = frozenset({"light", "low_salt"})
#: A meal of more than 5,000 kcal is a typo, not a dish.
MAX_ENERGY_KCAL = 5000
#: How many dishes the healthy pick names at most (a screen by the door, read in passing).
HEALTHY_PICK_SIZE = 3


def check_labels(codes: Iterable[str] | str) -> tuple[str, ...]:
    """The labels ``codes`` names, once each, in list order; refuses (``invalid_labels``)
    a code that is not on the list, naming it.  A string is read as stored (space-separated)."""
    if isinstance(codes, str):
        codes = codes.split()
    try:
        given = set(codes)
    except TypeError:
        raise Refusal("invalid_labels", "菜品标签须为标签列表", "labels must be a list of label codes") from None
    unknown = sorted(str(c) for c in given if c not in DISH_LABEL_NAMES)
    if unknown:
        raise Refusal("invalid_labels", f"没有这个菜品标签：{'、'.join(unknown)}",
                      f"unknown dish label {', '.join(unknown)} (known: {', '.join(DISH_LABELS)})")
    return tuple(code for code in DISH_LABELS if code in given)


def stored_labels(codes: Iterable[str] | str) -> str:
    """``codes`` checked (:func:`check_labels`), as ``menu_items.labels`` keeps them."""
    return " ".join(check_labels(codes))


def parse_labels(text: str | None) -> tuple[str, ...]:
    """A dish's stored labels, in list order.  A code no longer on the list (a label
    retired since the cook set it) is left out rather than shown as a code."""
    return tuple(code for code in DISH_LABELS if code in set((text or "").split()))


def check_energy(value) -> int | None:
    """Approximate energy in whole kcal (0 to :data:`MAX_ENERGY_KCAL`), or None for unknown;
    refuses (``invalid_energy``) anything else."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ENERGY_KCAL:
        raise Refusal("invalid_energy", f"热量须为 0–{MAX_ENERGY_KCAL} 之间的整数（千卡），可不填",
                      f"energy_kcal must be a whole number of kcal from 0 to {MAX_ENERGY_KCAL}, or empty")
    return value


class _Dish(Protocol):
    labels: tuple[str, ...]
    energy_kcal: int | None


D = TypeVar("D", bound=_Dish)


def healthy_pick(dishes: Sequence[D], size: int = HEALTHY_PICK_SIZE) -> list[D]:
    """Today's healthy pick (今日健康推荐) from the dishes on offer (given in menu order).

    The dishes labelled light or low salt, those with both first, then the lower energy
    (an unknown energy after any known one), then menu order; at most ``size``.  When no
    dish carries either label, the dishes of lowest known energy instead; a menu with
    neither labels nor energies has no pick (an empty list), rather than a guess.
    """
    order = {id(d): i for i, d in enumerate(dishes)}
    labelled = [d for d in dishes if HEALTHY_LABELS & set(d.labels)]
    if labelled:
        def rank(d):
            return (-len(HEALTHY_LABELS & set(d.labels)), d.energy_kcal is None, d.energy_kcal or 0, order[id(d)])
        return sorted(labelled, key=rank)[:size]
    known = [d for d in dishes if d.energy_kcal is not None]
    return sorted(known, key=lambda d: (d.energy_kcal, order[id(d)]))[:size]
