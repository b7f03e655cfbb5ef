"""The demo canteen: a Chinese menu with a welfare set meal, staff accounts for every
role, about twenty diners across ages and worker categories, their vouchers, and a week
of history (:mod:`pos.demo.history`) — all recorded through the store, as live data is.

Demo passwords are printed by `canteen demo` and listed in the README; they are for a
development database only.  Nothing in the app depends on this package.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import select

from pos.clock import business_date, naive_utc
from pos.config import Settings
from pos.db import Database
from pos.demo import history
from pos.models import Diner, MenuItem, StaffUser
from pos.store import tokens
from pos.store.audit import audit
from pos.store.canteens import sync_canteens
from pos.store.diners import mask_name, register_diner
from pos.store.dish_labels import stored_labels
from pos.store.notices import NoticeDraft, post_notice
from pos.store.staff import create_user
from pos.store.vouchers import active_voucher, issue_voucher
from subsidies.resident_id import check_character

# (username, role, canteen, display name, PIN)
STAFF = [
    ("admin", "admin", None, "系统管理员", "9999"),
    ("cashier", "cashier", "YLW01", "收银员小王", None),
    ("cashier2", "cashier", "YLW01", "收银员小李", None),
    ("supervisor", "supervisor", "YLW01", "值班主管陈姐", "1234"),
    ("accountant", "accountant", None, "社区会计周老师", None),
    ("registrar", "registrar", "YLW01", "社工小赵", None),
    ("jm-cashier", "cashier", "JM01", "景明收银员", None),
    ("jm-supervisor", "supervisor", "JM01", "景明主管", "4321"),
    ("approver", "approver", None, "社区审核人刘主任", None),
    ("platform", "platform", None, "区民政平台接口", None),
]
DEMO_PASSWORD_SUFFIX = "-demo-pass"  # password = username + suffix, e.g. cashier-demo-pass

# (name, name_en, category, price_fen, welfare_meal)
MENU = [
    ("公益套餐（两荤一素+饭）", "Welfare set meal", "套餐", 1500, True),
    ("荤素套餐", "Set meal", "套餐", 1600, False),
    ("红烧肉", "Braised pork", "荤菜", 1200, False),
    ("糖醋排骨", "Sweet and sour ribs", "荤菜", 1400, False),
    ("宁波烤菜", "Ningbo braised greens", "素菜", 500, False),
    ("番茄炒蛋", "Tomato and egg", "素菜", 800, False),
    ("清炒时蔬", "Seasonal greens", "素菜", 500, False),
    ("米饭", "Rice", "主食", 100, False),
    ("馒头", "Steamed bun", "主食", 100, False),
    ("紫菜蛋花汤", "Seaweed egg soup", "汤", 200, False),
    ("绿豆汤", "Mung bean soup", "汤", 300, False),
]
# What the cook says about each dish: its labels and approximate energy (kcal), shown on
# the public "today" page.
DISH_FACTS = {
    "公益套餐（两荤一素+饭）": (("low_salt",), 720),
    "荤素套餐": ((), 780),
    "红烧肉": (("soft",), 520),
    "糖醋排骨": (("contains_peanuts",), 480),
    "宁波烤菜": (("soft",), 150),
    "番茄炒蛋": (("light", "soft"), 210),
    "清炒时蔬": (("light", "low_salt"), 90),
    "米饭": ((), 230),
    "馒头": ((), 220),
    "紫菜蛋花汤": (("light", "contains_seafood"), 60),
    "绿豆汤": (("light",), 110),
}
# Notices staff posted: (canteen, place, topic, title, body).
NOTICES = [
    ("YLW01", "today", "general", "本周五午餐加菜：宁波汤圆", "每位就餐者加送一碗，送完为止。"),
    ("YLW01", "riders", "health", "每周三下午免费量血压", "社区卫生服务站医生 14:00–16:00 在食堂门口，骑手、环卫工随到随测。"),
    ("YLW01", "riders", "rest_point", "骑手驿站：热水、充电、歇脚", "食堂东侧驿站 06:30–19:30 开放，可免费接热水、给手机充电。"),
    ("YLW01", "riders", "safe_riding", "雨天路滑，慢行让行", "请戴好头盔，路口减速，不闯红灯。"),
    ("JM01", "today", "general", "长者助餐日：每周二送汤", "年满 60 岁的居民每周二午餐加送一份汤。"),
]

# (name, years before the demo date, resident, worker category)
DINERS = [
    ("张金娴", 82, True, None), ("王阿婆", 80, True, None), ("李老伯", 79, True, None), ("陈奶奶", 88, True, None),
    ("周大爷", 60, True, None), ("吴阿姨", 59, True, None), ("郑伯伯", 67, True, None), ("孙奶奶", 73, True, None),
    ("钱老师", 65, False, None), ("冯师傅", 62, True, "sanitation_worker"), ("何师傅", 45, False, "sanitation_worker"),
    ("许阿姨", 51, False, "cleaner"), ("吕大姐", 48, True, "cleaner"), ("施小哥", 28, False, "delivery_rider"),
    ("张小哥", 31, False, "delivery_rider"), ("曹师傅", 39, False, "delivery_rider"), ("严大姐", 56, False, "cleaner"),
    ("华小妹", 24, False, "delivery_rider"), ("金师傅", 50, False, "sanitation_worker"), ("魏老太", 91, True, None),
]


def demo_resident_id(n: int, birth: date) -> str:
    """A well-formed resident ID number for demo diner n (Ningbo Jiangbei region code)."""
    first17 = f"330205{birth:%Y%m%d}{n:02d}{(n * 7) % 10}"
    return first17 + check_character(first17)


def load_demo(settings: Settings, database: Database) -> str:
    """Load the demo canteen into an empty database; returns what to print.  Does nothing
    when staff accounts exist already."""
    canteen = settings.default_canteen
    today = business_date(canteen.timezone)
    with database.transaction() as s:
        if s.exec(select(StaffUser.id)).first():
            return "demo data already present; nothing changed"
        sync_canteens(session=s, settings=settings)
        users = {}
        for username, role, code, display, pin in STAFF:
            users[username] = create_user(session=s, username=username, password=username + DEMO_PASSWORD_SUFFIX,
                                          role=role, canteen_id=code, display_name=display, pin=pin,
                                          community=canteen.community if code is None else None)
        now = naive_utc()
        for c in settings.canteens:
            for i, (name, name_en, cat, price, welfare) in enumerate(MENU):
                labels, kcal = DISH_FACTS.get(name, ((), None))
                s.add(MenuItem(canteen_id=c.code, name=name, name_en=name_en, category=cat, price_fen=price,
                               welfare_meal=welfare, sort_order=i, labels=stored_labels(labels), energy_kcal=kcal,
                               created_at=now, updated_at=now))
        posters = {"YLW01": users["supervisor"], "JM01": users["jm-supervisor"]}
        for code, place, topic, title, body in NOTICES:
            if code in posters and any(c.code == code for c in settings.canteens):
                post_notice(session=s, canteen_id=code, actor=posters[code],
                            draft=NoticeDraft(place, topic, title, body, today, today + timedelta(days=30)))
        for n, (name, years, resident, category) in enumerate(DINERS, start=1):
            # Birthdays spread around the year; index 1 has a birthday today.
            birth = date(today.year - years, today.month, min(today.day, 28)) - timedelta(days=(n * 37) % 300 if n > 1 else 0)
            register_diner(session=s, id_key=settings.id_key, staff_id=users["registrar"].id,
                           community=canteen.community, name=name, id_number=demo_resident_id(n, birth),
                           resident=resident, today=today, worker_category=category,
                           worker_proof="单位工作证已核验" if category else "")
        audit(tx=s, action="demo_loaded", actor="cli")
    lines = ["demo canteen loaded. Sign in at /login with (username / password):"]
    lines += [f"  {u:<14} {u + DEMO_PASSWORD_SUFFIX:<24} {r:<11}{' PIN ' + p if p else ''}" for u, r, _, _, p in STAFF]
    lines.append(_issue_vouchers(settings, database))
    lines.append(history.load_history(settings, database))
    lines.append(history.close_past_days(settings, database))
    return "\n".join(line for line in lines if line)


def _issue_vouchers(settings: Settings, database: Database) -> str:
    """Issue a voucher to each demo diner; return a few URLs and codes to try at the till."""
    today = business_date(settings.default_canteen.timezone)
    with database.transaction() as s:
        registrar = s.exec(select(StaffUser).where(StaffUser.username == "registrar")).first()
        if registrar is None:
            return ""
        diners = list(s.exec(select(Diner).order_by(Diner.created_at, Diner.id)))
        out = [issue_voucher(session=s, settings=settings, diner_id=d.id, staff_id=registrar.id, today=today)
               for d in diners if active_voucher(session=s, diner_id=d.id) is None]
        names = {d.id: d.name for d in diners}
    if not out:
        return ""
    lines = [f"meal vouchers issued to the {len(out)} demo diners; try these at the till (URL or short code):"]
    for v in out[:3]:
        lines.append(f"  {mask_name(names[v.voucher.diner_id])}  {tokens.display_code(v.code)}  {v.url}")
    return "\n".join(lines)
