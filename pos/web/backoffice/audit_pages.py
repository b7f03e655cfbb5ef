"""The audit log page: admins and accountants read who did what, filtered by local date,
person, action and canteen, newest first, a page at a time.

An accountant sees the entries of their community's canteens; an admin sees every
canteen and the entries tied to none (sign-ins of district staff, commands run on the
server).  Entries never hold a resident ID number; the store masks one all the same.
"""
from __future__ import annotations

import json
from datetime import date, timezone
from zoneinfo import ZoneInfo

from flask import render_template, request
from flask_login import current_user

from pos.refusal import Refusal
from pos.store.audit_log import AuditFilter, LoggedAction, read_audit_log
from pos.store.neighbourhood_reports import STATUS_NAMES as REPORT_STATUS_NAMES
from pos.web.backoffice.common import bp, canteen_named, message, scope, settings, visible_canteens
from pos.web.i18n import gettext as _, named, role_name
from pos.web.input_policy import check_day
from pos.web.refusals import status_of
from pos.web.signin import db
from subsidies.money import yuan
from subsidies.vocabulary import SUBSIDY_KIND_NAMES, WORKER_CATEGORY_NAMES

PAGE_SIZE = 50
# Detail values that are codes of one of the product's word lists, shown by their names.
_CODE_NAMES = {"worker_category": WORKER_CATEGORY_NAMES, "subsidy_kind": SUBSIDY_KIND_NAMES,
               "report_status": REPORT_STATUS_NAMES, "report_from_status": REPORT_STATUS_NAMES}

#: The actions the product records, with their Chinese names (English in
#: pos/web/translations/en/audit.po).  An action missing here is shown by its code.
ACTION_NAMES: dict[str, str] = {
    "login": "登录成功",
    "logout": "已退出登录",
    "token_issued": "接口令牌已签发",
    "token_revoked": "接口令牌已吊销",
    "shift_opened": "班次已开班",
    "shift_closed": "班次已交班",
    "sale_recorded": "收款已记录",
    "sale_voided": "销售已作废",
    "day_closed": "营业日已日结",
    "correction_booked": "更正已登记",
    "claim_exported": "申领表已导出",
    "claim_submitted": "申领已提交",
    "claim_approved": "申领已批准",
    "claim_returned": "申领已退回",
    "claim_paid": "申领已付款",
    "diner_registered": "就餐者已登记",
    "diner_edited": "就餐者信息已修改",
    "diner_exported": "就餐者个人信息已导出",
    "diner_erased": "就餐者个人信息已删除",
    "diners_purged": "保存期满的就餐者已清除",
    "diner_suspended": "就餐者已停用",
    "diner_reinstated": "就餐者已恢复",
    "diner_left": "就餐者已登记身故或迁出",
    "expiring_exported": "证明到期名单已导出",
    "voucher_issued": "餐券已发放",
    "voucher_revoked": "餐券已吊销",
    "voucher_cards_printed": "餐券卡片已打印",
    "tickets_issued": "公益餐票已发放",
    "ticket_sheet_printed": "公益餐票已打印",
    "menu_item_created": "菜品已添加",
    "menu_item_updated": "菜品已修改",
    "staff_created": "员工账号已新建",
    "staff_password_reset": "员工密码已重置",
    "staff_enabled": "员工账号已启用",
    "staff_disabled": "员工账号已停用",
    "staff_password_change_required": "员工改密码要求已更改",
    "password_changed": "已修改自己的密码",
    "pin_changed": "已修改主管授权码",
    "demo_loaded": "演示数据已载入",
    "demo_history_loaded": "演示历史已载入",
    "neighbourhood_report_updated": "居民反映已处理",
}


#: What the common keys of an entry's detail mean (English in audit.po); any other key
#: is shown as it is written.
DETAIL_NAMES: dict[str, str] = {
    "amount_fen": "金额", "approved_by": "批准人", "at": "时间", "balance_fen": "余额", "booked_on": "登记日期",
    "business_date": "营业日", "canteen": "食堂", "canteens": "涉及食堂", "chain_seq": "账链位置",
    "checks_failed": "未通过的核对", "content_sha256": "内容摘要", "count": "张数", "counted_cash_fen": "清点现金",
    "days": "天数", "difference_fen": "差额", "diner_id": "就餐者编号", "due_fen": "应收",
    "expected_cash_fen": "应有现金", "fields": "修改的项目", "gross_fen": "合计", "kind": "导出格式",
    "masked_id": "身份证号（遮盖）", "month": "月份",
    "must_change_password": "下次登录须改密码", "net_fen": "净额", "opening_float_fen": "备用金",
    "original_date": "原营业日", "paid_on": "付款日期", "price_fen": "价格", "reason": "原因",
    "receipt_no": "小票号", "reference": "付款单号", "refund_fen": "退款", "report_sha256": "对账单摘要",
    "reversed_subsidy_fen": "撤回的补贴", "revision": "修订版", "role": "角色", "sales": "销售笔数",
    "sessions_ended": "退出的其他登录",
    "subsidy_fen": "补贴", "subsidy_kind": "补贴类别", "username": "用户名", "version": "餐券版本",
    "welfare_meal": "公益套餐", "worker_category": "户外劳动者类别",
    "vouchers_revoked": "作废的餐券", "changes_cleared": "清除的修改记录", "audit_entries_cleared": "清除的日志条目",
    "diners": "就餐者", "retention_years": "保存年限", "kept_from": "保留起始", "format": "格式",
    "life_event": "身故或迁出", "event_date": "事件日期", "rows": "行数",
    "report_number": "反映编号", "report_status": "处理状态", "report_from_status": "原处理状态",
    "passed_to": "转交单位", "note_given": "附说明",
}

def action_name(code: str) -> str:
    """An action's name in the current language; the code itself when it has none."""
    return _(ACTION_NAMES[code]) if code in ACTION_NAMES else code


def _date_arg(name: str, label_zh: str, label_en: str) -> date | None:
    text = (request.args.get(name) or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise Refusal("bad_date", f"{label_zh}格式应为 YYYY-MM-DD，例如 2026-03-01",
                      f"{label_en} must be YYYY-MM-DD, e.g. 2026-03-01; got {text!r}") from None
    return check_day(day, name)


def _filters() -> AuditFilter:
    code = (request.args.get("canteen") or "").strip() or None
    canteen = canteen_named(code) if code else settings().default_canteen
    return AuditFilter(since=_date_arg("since", "开始日期", "The start date"),
                       until=_date_arg("until", "结束日期", "The end date"),
                       timezone=canteen.timezone, canteen_id=code,
                       actor=(request.args.get("actor") or "").strip() or None,
                       action=(request.args.get("action") or "").strip() or None)


def _value(key: str, value) -> str:
    """A detail value for people: amounts in fen also in yuan, codes by their names, yes
    and no in words, lists joined, anything else as JSON."""
    if key.endswith("_fen") and type(value) is int:
        return _("{amount}（{fen} 分）", amount=yuan(value), fen=value)
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if key == "role" and isinstance(value, str):
        return role_name(value)
    if key in _CODE_NAMES and isinstance(value, str):
        return named(_CODE_NAMES[key], value)
    if isinstance(value, str):
        return value
    if value is None:
        return "—"
    if isinstance(value, list) and all(isinstance(v, (str, int)) for v in value):
        return "、".join(str(v) for v in value) if value else "—"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _row(entry: LoggedAction, canteens: dict) -> dict:
    # In the entry's canteen's time (a canteen no longer configured, or none: the default's).
    canteen = canteens.get(entry.canteen_id)
    tz = (canteen or settings().default_canteen).timezone
    local = entry.at.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz))
    return {"at": local.strftime("%Y-%m-%d %H:%M:%S"), "actor": entry.actor, "action": entry.action,
            "action_name": action_name(entry.action), "target": entry.target, "address": entry.address,
            "canteen": canteen.name if canteen else (entry.canteen_id or ""),
            "detail": [(_(DETAIL_NAMES[k]) if k in DETAIL_NAMES else k, _value(k, v))
                       for k, v in sorted(entry.detail.items())]}


@bp.route("/audit")
def audit_log():
    """Admins and accountants: the audit log, newest first, with filters and pages."""
    visible = visible_canteens()
    error, page = None, None
    try:
        filters = _filters()
        with db().session() as s:
            page = read_audit_log(
                session=s, filters=filters, limit=PAGE_SIZE, before=request.args.get("before") or None,
                canteen_ids=None if scope().district_wide else [c.code for c in visible],
                include_unplaced=current_user.role == "admin")
    except Refusal as e:
        error = e
    query = {k: v for k in ("since", "until", "actor", "action", "canteen") if (v := request.args.get(k, "").strip())}
    canteens = {c.code: c for c in settings().canteens}
    rows = [_row(e, canteens) for e in page.entries] if page else []
    return render_template(
        "backoffice/audit.html", rows=rows, query=query, canteens=visible,
        actions=[(code, action_name(code)) for code in ACTION_NAMES],
        next_query={**query, "before": page.next_cursor} if page and page.next_cursor else None,
        paged=bool(request.args.get("before")), error_message=message(error) if error else ""), \
        (status_of(error.code) if error else 200)
