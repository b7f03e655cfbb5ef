"""The PDF a diner gets when they ask to see what the registry holds about them: the
export of :func:`pos.store.diner_rights.export_diner` laid out for a person to read —
registration, changes, vouchers, subsidised meals, the record's audit trail, erasure.
The renderer receives the export's data and never queries the database."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reportlab.lib.units import mm

from reports.layout import PdfRenderer, local, para, table
from subsidies.money import yuan
from subsidies.vocabulary import WORKER_CATEGORY_NAMES

KIND_ZH = {"age_tier": "老年助餐优惠", "free_meal": "公益免费餐"}
STATUS_ZH = {"active": "有效", "revoked": "已作废", "superseded": "已被取代", "completed": "已完成", "voided": "已作废"}
TENDER_ZH = {"cash": "现金", "wechat": "微信", "alipay": "支付宝", "free": "免费"}
FIELD_ZH = {"name": "姓名", "id_number": "身份证号", "birth_date": "出生日期", "resident": "本社区居民",
            "worker_category": "户外劳动者类别", "worker_proof": "核验凭证", "phone": "电话", "community": "所属社区",
            "suspended": "停用"}
#: Fields the registry has grown since the first release, as the person reads them.
EXTRA_ZH = {"worker_proof_type": "工作证明类型", "worker_verified_on": "工作证明核验日期",
            "residency_proof_type": "居住证明类型", "residency_verified_by": "居住核验人",
            "residency_verified_on": "居住证明核验日期", "left_kind": "身故或迁出", "left_on": "身故或迁出日期",
            "left_by": "身故或迁出登记人", "left_recorded_at": "身故或迁出登记时间", "left_note": "身故或迁出备注"}
LEFT_ZH = {"deceased": "身故", "moved_away": "迁出"}
ACTION_ZH = {"diner_registered": "登记", "diner_edited": "修改", "diner_suspended": "停用", "diner_reinstated": "恢复",
             "diner_exported": "导出个人信息", "diner_erased": "删除个人信息", "diner_life_event": "登记身故或迁出",
             "diner_verified": "核验证明"}


@dataclass(frozen=True)
class DinerExportDocument:
    """The export and the time zone its times are shown in."""

    export: dict[str, Any]
    timezone: str


def _when(text: str | None, tz: str) -> str:
    if not text:
        return "—"
    return local(datetime.fromisoformat(text), tz, "%Y-%m-%d %H:%M")


def _yes(value: Any) -> str:
    return "是" if value else "否"


class DinerExportRenderer(PdfRenderer):
    title = "个人信息副本"

    def filename(self, doc: DinerExportDocument) -> str:
        return f"diner-{doc.export['diner']['id']}.pdf"

    def footer_lines(self, doc: DinerExportDocument) -> list[str]:
        return [f"个人信息副本 · 生成于 {_when(doc.export['generated_at'], doc.timezone)}",
                "本系统从不保存身份证号码原文，只保存其加密假名与遮盖后的号码。"]

    def story(self, doc: DinerExportDocument, font: str, st):
        e, tz = doc.export, doc.timezone
        d = e["diner"]
        cell = st["cell"]
        out = [para("就餐者个人信息副本", st["title"]),
               para(f"依据《个人信息保护法》第四十五条，向本人提供本系统保存的全部个人信息。"
                    f"生成于 {_when(e['generated_at'], tz)}。", st["subtitle"])]
        if e.get("erasure"):
            er = e["erasure"]
            out.append(para(f"个人信息已于 {_when(er['erased_at'], tz)} 由 {er['erased_by_name']} 删除；"
                            f"原因：{er['reason']}" + (f"；{_when(er['purged_at'], tz)} 已清除假名" if er.get("purged_at")
                                                        else ""), st["stamp"]))
        out.append(self.heading("登记信息", st))
        facts = [("姓名", d["name"]), ("身份证号（遮盖）", d["masked_id"]), ("出生日期", d["birth_date"]),
                 ("所属社区", d["community"]), ("本社区居民", _yes(d["resident"])),
                 ("户外劳动者类别", WORKER_CATEGORY_NAMES[d["worker_category"]].zh if d["worker_category"] else "—"),
                 ("核验凭证", d["worker_proof"] or "—"), ("核验人", d["worker_verified_by"] or "—"),
                 ("核验时间", _when(d["worker_verified_at"], tz)), ("电话", d["phone"] or "—"),
                 ("停用", _yes(d["suspended"])), ("登记人", d["registered_by"] or "—"),
                 ("登记时间", _when(d["registered_at"], tz)), ("最近修改", _when(d["updated_at"], tz))]
        named = {"id", "name", "masked_id", "birth_date", "community", "resident", "worker_category", "worker_proof",
                 "worker_verified_by", "worker_verified_at", "phone", "suspended", "registered_by", "registered_at",
                 "updated_at"}
        for key, value in d.items():
            if key not in named:
                shown = LEFT_ZH.get(value, value) if key == "left_kind" else value
                facts.append((EXTRA_ZH.get(key, key), "—" if shown in (None, "") else shown))
        out.append(table(["项目", "内容"], [(k, para(str(v), cell)) for k, v in facts], [40 * mm, 140 * mm], font=font))

        out.append(self.heading("修改记录", st))
        if e["changes"]:
            out.append(table(["时间", "经办人", "项目", "原值", "新值"],
                             [(_when(c["at"], tz), c["by"] or "—", FIELD_ZH.get(c["field"], c["field"]),
                               para(c["old_value"], cell), para(c["new_value"], cell)) for c in e["changes"]],
                             [30 * mm, 25 * mm, 30 * mm, 47 * mm, 48 * mm], font=font))
        else:
            out.append(para("登记后没有修改过。", st["body"]))

        out.append(self.heading("餐券", st))
        if e["vouchers"]:
            out.append(table(["版本", "短码", "状态", "有效期至", "发放人", "发放时间", "作废时间"],
                             [(str(v["version"]), v["code"], STATUS_ZH.get(v["status"], v["status"]), v["valid_until"],
                               v["issued_by"] or "—", _when(v["issued_at"], tz), _when(v["revoked_at"], tz))
                              for v in e["vouchers"]],
                             [12 * mm, 25 * mm, 20 * mm, 24 * mm, 25 * mm, 37 * mm, 37 * mm], font=font))
        else:
            out.append(para("没有发放过餐券。", st["body"]))

        out.append(self.heading("享受补贴的用餐", st))
        meals = e["subsidised_meals"]
        if meals:
            rows = [(m["business_date"], m["canteen"], str(m["receipt_no"]), KIND_ZH.get(m["kind"], m["kind"]),
                     yuan(m["amount_fen"]), m["policy_version"], "已作废" if m["voided"] else "")
                    for m in meals]
            rows.append(("合计", "", "", f"{e['totals']['subsidised_meals']} 次", yuan(e["totals"]["subsidy_fen"]), "",
                         ""))
            out.append(table(["营业日", "食堂", "小票号", "补贴类别", "补贴金额", "政策版本", "状态"], rows,
                             [24 * mm, 50 * mm, 16 * mm, 30 * mm, 22 * mm, 20 * mm, 18 * mm], font=font, right=(4,),
                             bold_last=True))
        else:
            out.append(para("没有享受补贴的用餐记录。", st["body"]))

        sales = e["sales"]
        if sales:
            out.append(self.heading("用餐消费", st))
            out.append(table(["营业日", "食堂", "小票号", "金额", "补贴", "应付", "支付方式", "状态"],
                             [(s["business_date"], s["canteen"], str(s["receipt_no"]), yuan(s["gross_fen"]),
                               yuan(s["subsidy_fen"]), yuan(s["due_fen"]), TENDER_ZH.get(s["tender_method"], ""),
                               STATUS_ZH.get(s["status"], s["status"])) for s in sales],
                             [22 * mm, 46 * mm, 15 * mm, 20 * mm, 20 * mm, 20 * mm, 20 * mm, 17 * mm], font=font,
                             right=(3, 4, 5)))

        out.append(self.heading("对本记录的操作", st))
        if e["audit"]:
            out.append(table(["时间", "操作人", "操作"], [(_when(a["at"], tz), a["actor"], ACTION_ZH.get(a["action"], a["action"]))
                                                for a in e["audit"]],
                             [40 * mm, 40 * mm, 100 * mm], font=font))
        else:
            out.append(para("无。", st["body"]))
        for name, rows in e.get("other_records", {}).items():
            out.append(self.heading("其他记录", st))
            for r in rows:
                out.append(para("；".join(f"{k}：{v}" for k, v in r.items() if k != "diner_id"), cell))
        return out


def render_diner_export(export: dict[str, Any], *, timezone: str) -> bytes:
    """The export as a PDF for the person."""
    return DinerExportRenderer().render(DinerExportDocument(export, timezone))[2]
