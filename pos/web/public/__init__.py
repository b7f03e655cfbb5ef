"""The public screen: what is on today at a canteen, for the TV by the door and for phones,
with no sign-in.

``/today/<code>`` shows the canteen's dishes with prices, labels and energy, the welfare meals
left today, opening hours and meal periods, the staff's notices, and the riders' corner
(骑行中的议事厅: its notices by topic, today's healthy pick, a link to report a problem in the
neighbourhood).  ``/today/<code>/live.json`` is the free-meal count the page's script polls.
Nothing here names anyone: no diner, no member of staff, nothing about who ate.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, jsonify, make_response, redirect, render_template, url_for

from pos.clock import business_date, now_utc
from pos.config import CanteenConfig
from pos.models import MenuItem
from pos.refusal import Refusal
from pos.store import menu, pricing
from pos.store import notices as nstore
from pos.store.dish_labels import DISH_LABEL_NAMES, healthy_pick, parse_labels
from pos.web.i18n import current_language
from pos.web.signin import db, settings
from subsidies.vocabulary import MEAL_PERIOD_NAMES, WORKER_CATEGORY_NAMES, name_of

bp = Blueprint("public", __name__)

#: Where the riders' corner sends someone reporting a problem in the neighbourhood.
REPORT_FORM = "/neighbourhood/new?canteen={code}"
#: The page may be kept for 10 seconds by the browser (and a proxy): it holds nothing
#: personal and is the same for everyone reading one language, and the free-meal number on
#: it is brought up to date by the script anyway.  Vary on the cookie that holds the language.
PAGE_CACHE = "public, max-age=10"
_WEEKDAYS_ZH = "一二三四五六日"


@dataclass(frozen=True)
class PublicDish:
    """A dish as the public screen shows it."""

    name: str
    name_en: str
    category: str
    price_fen: int
    welfare_meal: bool
    labels: tuple[str, ...]
    energy_kcal: int | None

    @classmethod
    def of(cls, item: MenuItem) -> "PublicDish":
        return cls(item.name, item.name_en, item.category, item.price_fen, item.welfare_meal,
                   parse_labels(item.labels), item.energy_kcal)


def _canteen(code: str) -> CanteenConfig:
    try:
        return settings().canteen(code)
    except KeyError:
        raise Refusal("unknown_canteen", "没有这个食堂", f"unknown canteen {code!r}") from None


def _free_meals(canteen: CanteenConfig, day: date) -> pricing.FreeMeals:
    """The welfare meals left today: the counter the till claims from, as the back office shows it."""
    policy = settings().policy.in_force_or_none(day)
    with db().tx() as tx:
        return pricing.free_meals_today(tx, policy=policy, canteen_id=canteen.code, business_date=day)


def long_date(day: date, language: str) -> str:
    """``2026年3月5日 星期四`` / ``Thursday 5 March 2026``."""
    if language == "en":
        return f"{day:%A} {day.day} {day:%B %Y}"
    return f"{day.year}年{day.month}月{day.day}日 星期{_WEEKDAYS_ZH[day.weekday()]}"


def _by_category(dishes: list[PublicDish]) -> list[tuple[str, list[PublicDish]]]:
    groups: dict[str, list[PublicDish]] = {}
    for d in dishes:
        groups.setdefault(d.category, []).append(d)
    return list(groups.items())


@bp.route("/today")
def today_index():
    """One canteen: straight to its page; several: the list to choose from."""
    canteens = settings().canteens
    if len(canteens) == 1:
        return redirect(url_for("public.today", code=canteens[0].code))
    return render_template("public/index.html", canteens=canteens)


@bp.route("/today/<code>")
def today(code: str):
    canteen = _canteen(code)
    moment = now_utc()
    day = business_date(canteen.timezone, moment)
    policy = settings().policy.in_force_or_none(day)
    with db().session() as s:
        rows = menu.items(session=s, canteen_id=canteen.code, available_only=True)
        today_notices = nstore.current_notices(session=s, canteen_id=canteen.code, day=day, place="today")
        rider_notices = nstore.current_notices(session=s, canteen_id=canteen.code, day=day, place="riders")
    dishes = [PublicDish.of(r) for r in sorted(rows, key=lambda r: (r.sort_order, r.name))]
    by_topic = [(topic, [n for n in rider_notices if n.topic == topic]) for topic in nstore.NOTICE_TOPICS]
    language = current_language()
    who = ("、" if language == "zh" else ", ").join(
        name_of(WORKER_CATEGORY_NAMES, c, language) for c in WORKER_CATEGORY_NAMES
        if policy is not None and c in policy.welfare_categories)
    html = render_template(
        "public/today.html", canteen=canteen, day=day, day_text=long_date(day, language), who=who,
        now_text=f"{moment.astimezone(ZoneInfo(canteen.timezone)):%H:%M:%S}",
        meals=_free_meals(canteen, day), policy=policy, groups=_by_category(dishes),
        pick=healthy_pick(dishes), notices=today_notices,
        rider_topics=[(t, ns) for t, ns in by_topic if ns], topics=nstore.NOTICE_TOPIC_NAMES,
        labels=DISH_LABEL_NAMES, periods=MEAL_PERIOD_NAMES,
        refresh_seconds=settings().public.refresh_seconds, report_url=REPORT_FORM.format(code=canteen.code))
    resp = make_response(html)
    resp.headers["Cache-Control"] = PAGE_CACHE
    resp.headers["Vary"] = "Cookie"
    return resp


@bp.route("/today/<code>/live.json")
def live(code: str):
    """``{business_date, free_meals_left, free_meals_cap, as_of}`` and nothing else.  Never
    cached (the app's default no-store): a count kept by a cache would be wrong at once."""
    canteen = _canteen(code)
    moment = now_utc()
    day = business_date(canteen.timezone, moment)
    meals = _free_meals(canteen, day)
    as_of = moment.astimezone(ZoneInfo(canteen.timezone)).replace(microsecond=0)
    return jsonify({"business_date": day.isoformat(), "free_meals_left": meals.left, "free_meals_cap": meals.cap,
                    "as_of": as_of.isoformat()})


def register(app: Flask) -> None:
    app.register_blueprint(bp)
