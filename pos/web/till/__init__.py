"""The touch till: server-rendered pages for a 10-inch landscape tablet.

The sale page carries the menu, today's quota, the open shift and the words the script
needs (as data attributes: the CSP allows no inline script); pos/web/static/till.js does the
rest through the JSON API (/api/v1) with the login session and the CSRF token.
"""
from __future__ import annotations

import json
from datetime import timezone
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, render_template, request
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
    "pin_required": "请输入主管 PIN",
    "reason_required": "请选择或填写作废原因",
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
        strings=json.dumps(_strings(), ensure_ascii=False), lang=current_language())


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


def register(app: Flask) -> None:
    app.register_blueprint(bp)
