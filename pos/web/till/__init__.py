"""The touch till: server-rendered pages for a 10-inch landscape tablet.

The sale page carries the menu, today's quota, the open shift and the words the script
needs (as data attributes: the CSP allows no inline script); pos/web/static/till.js does the
rest through the JSON API (/api/v1) with the login session and the CSRF token.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, current_app, make_response, render_template, request
from flask_login import current_user
from sqlalchemy import select

from pos.access import SUPERVISE
from pos.clock import business_date
from pos.models import StaffUser
from pos.store import menu, pricing, sale_views, shifts
from pos.refusal import Refusal
from pos.web.api.answers import shift_out
from pos.web.i18n import current_language, gettext, named
from pos.web.signin import db, require_canteen, settings, user_canteen
from subsidies.money import yuan
from subsidies.vocabulary import TENDER_NAMES

bp = Blueprint("till", __name__, url_prefix="/till")

# Words the script shows, by key: Chinese source, English from pos/web/translations/en/till.po.
SCRIPT_STRINGS = {
    "offline": "无法连接服务器，请检查网络。未完成的收款会在恢复连接后用同一编号重试，不会重复收款。",
    "retry": "重试",
    "no_credential": "未出示餐券或身份证，按菜单价结算",
    "looking_up": "正在识别……",
    "quoting": "正在计算……",
    "empty_cart": "请先点餐",
    "subsidy": "补贴",
    "full_subsidy": "100% 补贴",
    "total": "合计",
    "due": "应收",
    "paid": "实收",
    "change": "找零",
    "insufficient": "实收不足",
    "price_changed": "价格已变化，请向顾客确认新的应收金额：",
    "sale_done": "收款成功",
    "receipt_no": "小票号",
    "voided": "已作废",
    "void_done": "已作废，补贴已撤回",
    "void": "作废",
    "receipt": "小票",
    "completed": "已完成",
    "shift_open": "班次进行中",
    "no_shift": "未开班",
    "float": "备用金",
    "expected": "应有现金",
    "counted": "清点现金",
    "difference": "差额",
    "shift_closed": "已交班",
    "free_meals_left": "今日公益餐剩余",
    "pending_unknown": "上一笔收款未收到服务器确认，请在“最近销售”中核对后再收款。",
    "session_expired": "登录已过期，请重新登录",
    "camera_none": "此设备不支持摄像头扫码，请使用扫码枪或输入短码",
    "camera_error": "无法打开摄像头",
    "id_length": "身份证号码应为18位",
    "cleared": "已清除",
    "unknown_error": "出错了，请重试",
    "sales_empty": "今天还没有销售",
    "pin_required": "请输入主管授权码",
    "reason_required": "请选择或填写作废原因",
    # The connection (pos/web/static/till-shell.js): what the cashier sees when a request fails.
    "online": "在线",
    "offline_state": "离线",
    "network_retrying": "网络中断，正在重试…",
    "lookup_waiting": "网络中断，餐券尚未识别：恢复连接后自动重试",
    "quote_waiting": "网络中断，补贴尚未计算：恢复连接后自动重试",
    "network_down": "网络中断，请检查网络后再点一次",
    "id_not_kept": "身份证号码不在本机保存：刷新后请重新输入",
    # Selling offline (pos/web/static/till-offline.js).
    "offline_meals": "离线名额",
    "queued": "待同步",
    "needs_supervisor": "需主管处理",
    "offline_pending": "离线 · 待同步",
    "offline_no": "离线编号",
    "offline_unknown_voucher": "离线时无法识别此餐券",
    "offline_id_menu_price": "身份证号有效，但离线时无法核对是否登记、今天是否已享受补贴：本单按菜单价收款，不享受补贴",
    "lease_used_up": "本机离线名额已用完",
    "device_name_required": "请输入收银台名称",
    "signout_queued": "本机还有 {n} 笔您的离线销售待同步，只有您再次在本机登录后才会同步。确定退出吗？",
}


def _strings() -> dict[str, str]:
    words = {key: gettext(text) for key, text in SCRIPT_STRINGS.items()}
    words.update({code: named(TENDER_NAMES, code) for code in TENDER_NAMES})  # the tenders, by code
    return words


@bp.route("")
def index():
    """The sale screen: menu grid, cart, scan field, benefit banner, pay, receipt, voids and shifts."""
    canteen = settings().canteen(user_canteen())
    today = business_date(canteen.timezone)
    with db().tx() as tx:
        dishes = menu.for_till(tx, canteen_id=canteen.code)
        free_meals = pricing.free_meals_today(tx, policy=settings().policy.in_force_or_none(today),
                                              canteen_id=canteen.code, business_date=today)
    with db().session() as s:
        shift = shifts.current_shift(session=s, cashier_id=current_user.id, canteen_id=canteen.code)
        supervisors = [{"username": u.username, "name": u.display_name} for u in s.execute(
            select(StaffUser).where(StaffUser.active.is_(True), StaffUser.pin_hash.is_not(None),
                                    StaffUser.role.in_(SUPERVISE),
                                    (StaffUser.canteen_id == canteen.code) | StaffUser.canteen_id.is_(None))
            .order_by(StaffUser.role.desc(), StaffUser.username)).scalars()]
    english = current_language() == "en"
    categories: dict[str, list[dict]] = {}
    for dish in dishes:
        categories.setdefault(dish.category, []).append({
            "id": dish.id, "price_fen": dish.price_fen, "welfare_meal": dish.welfare_meal, "price": yuan(dish.price_fen),
            "label": (dish.name_en or dish.name) if english else dish.name})
    return render_template(
        "till/index.html", canteen=canteen, categories=categories, free_meals=free_meals, supervisors=supervisors,
        shift=shift_out(shifts.ShiftState.of(shift)).model_dump_json() if shift else "null",
        strings=json.dumps(_strings(), ensure_ascii=False), lang=current_language(),
        display_channel=_display_channel(canteen.code))


def _display_channel(canteen_code: str) -> str:
    """The browser channel on which the till tells its diner-facing screen what to show: one
    per canteen and signed-in cashier, so two cashiers' windows in one browser never mix."""
    return f"canteen-till-display:{canteen_code}:{current_user.id}"


@bp.route("/display")
def display():
    """The diner-facing screen: a second window of the till's browser (a monitor or tablet
    turned to the diner) showing the dishes, the total, the subsidy amount and what is due,
    as the till publishes them (pos/web/static/display.js).  Never who the diner is or why
    a subsidy applies; the queue can see it too."""
    canteen = settings().canteen(user_canteen())
    return render_template("till/display.html", canteen=canteen, channel=_display_channel(canteen.code))


@bp.route("/receipt/<sale_id>")
def receipt(sale_id: str):
    """A printable receipt, 80 mm wide (``?paper=58`` for 58 mm rolls).  It shows the
    subsidy amount only — never who the diner is or why they qualify."""
    with db().tx() as tx:
        sale = sale_views.get_sale(tx, sale_id=sale_id)
    if sale is None:
        raise Refusal("unknown_sale", "没有这笔销售", "no such sale")
    require_canteen(sale.canteen)
    canteen = settings().canteen(sale.canteen)
    paper = "58" if request.args.get("paper") == "58" else "80"
    local_time = sale.sold_at.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(canteen.timezone)).strftime("%H:%M")
    english = current_language() == "en"
    names = {line.line_no: (line.name_en or line.name) if english else line.name for line in sale.lines}
    return render_template("till/receipt.html", sale=sale, canteen=canteen, yuan=yuan, paper=paper,
                           local_time=local_time, names=names, tender=named(TENDER_NAMES, sale.tender_method))


#: The files the till page loads, which its service worker keeps for a reload with the network
#: gone (tests/till/test_till_shell.py checks that every /static/ file the page links is here).
SHELL_FILES = ("app.css", "till.css", "favicon.svg", "money.js", "display.js", "till-shell.js", "decide.js",
               "resident_id.js", "rules_words.json", "till-queue.js", "till-offline.js", "till-cart.js",
               "till-pay.js", "till-void.js", "till-shift.js", "till.js",
               "till.webmanifest", "till-icon.svg", "till-icon-192.png", "till-icon-512.png")


@dataclass(frozen=True)
class ServiceWorker:
    """The worker script as served: pos/web/static/till-sw.js after one line naming the page,
    the files and their version (a hash of the files, so a release with changed files makes
    the browser install the new worker, which replaces the old cache)."""

    version: str
    script: str

    @classmethod
    def of(cls, static_folder: str, static_url_path: str) -> "ServiceWorker":
        static = Path(static_folder)
        digest = hashlib.sha256()
        for name in (*SHELL_FILES, "till-sw.js"):
            digest.update(name.encode() + b"\0" + (static / name).read_bytes())
        version = digest.hexdigest()[:16]
        shell = {"version": version, "page": bp.url_prefix,
                 "assets": [f"{static_url_path}/{name}" for name in SHELL_FILES]}
        return cls(version, f"var TILL_SHELL = {json.dumps(shell)};\n" + (static / "till-sw.js").read_text("utf-8"))


@bp.route("/sw.js")
def service_worker():
    """The till's service worker.  Public in pos/access.py: it holds no data (file names and
    a hash), and the browser fetches it again by itself, signed in or not, to find a release."""
    resp = make_response(current_app.extensions["till_service_worker"].script)
    resp.headers["Content-Type"] = "text/javascript; charset=utf-8"
    resp.headers["Cache-Control"] = "no-cache"  # a new release is found at the next page load
    # From /till/sw.js a worker's scope may only be /till/…, which leaves out the page at /till.
    resp.headers["Service-Worker-Allowed"] = bp.url_prefix
    return resp


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    app.extensions["till_service_worker"] = ServiceWorker.of(app.static_folder, app.static_url_path)
