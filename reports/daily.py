"""The daily reconciliation PDF (日结对账单) of one canteen and business date.

Sections: summary and tenders; free meals used of the cap; edit checks (failures in red);
each shift's cash; voids; corrections and serving exceptions (only when there are any);
the hourly sales chart;
every subsidy grant; and signature lines.  Sections are numbered in the order they
appear, and every word on the page is Chinese (codes, digests and pseudonyms aside).
The footer carries the generation time, the ledger position and head at close, and the
SHA-256 of the report data (what the day close stored).
"""
from __future__ import annotations

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, KeepTogether, Spacer

from reports.charts import hourly_sales_chart
from reports.layout import RED, LedgerTable, PdfRenderer, local, para, table, zone_zh
from reports.queries import DailyReport
from subsidies.money import yuan
from subsidies.vocabulary import SUBSIDY_KIND_NAMES, TENDER_NAMES, name_of


def kind_zh(kind: str) -> str:
    """A subsidy kind's Chinese name (the reports are for the community's accountant)."""
    return name_of(SUBSIDY_KIND_NAMES, kind)


def tender_zh(method: str) -> str:
    """A tender's Chinese name."""
    return name_of(TENDER_NAMES, method)


def diner_zh(pseudonym: str) -> str:
    """A diner's pseudonym as the Chinese report shows it: a one-time paper ticket's
    ``ticket:`` prefix reads 餐票 (the pseudonym itself is unchanged in the data)."""
    return "餐票 " + pseudonym[7:] if pseudonym.startswith("ticket:") else pseudonym


def checks_table(checks, font: str):
    """The edit checks as a table: what was checked, the figures, passed or FAILED (red).
    The figures wrap inside their column (a day with four tenders does not fit one line)."""
    figures = ParagraphStyle("check-figures", fontName=font, fontSize=8.5, leading=10.5, wordWrap="CJK")
    failed = ParagraphStyle("check-figures-failed", parent=figures, textColor=RED)
    rows = [(c.label_zh, para(c.detail_zh, figures if c.ok else failed), "通过" if c.ok else "未通过 ✗")
            for c in checks]
    red = [i for i, c in enumerate(checks) if not c.ok]
    return table(("核对项目", "数据", "结果"), rows, (88 * mm, 70 * mm, 22 * mm), font=font, red_rows=red)


def signature_block(st, roles=("收银员", "主管", "会计")):
    """Signature and date lines for the people who sign the report."""
    line = "　　".join(f"{r}签字：________________" for r in roles)
    return KeepTogether([Spacer(1, 8 * mm), para(line, st["body"]), Spacer(1, 5 * mm),
                         para("日期：______年____月____日", st["body"])])


class DailyRenderer(PdfRenderer):
    """Renders a :class:`reports.queries.DailyReport`; override the ``section_*`` hooks
    to change one part of the page."""

    title = "日结对账单"

    def filename(self, report: DailyReport) -> str:
        """The download name of the PDF."""
        d = report.data
        return f"daily-{d.canteen.code}-{d.business_date.isoformat()}.pdf"

    def footer_lines(self, report: DailyReport) -> list[str]:
        """The lines printed at the foot of every page (generation time, ledger head, data hash)."""
        d = report.data
        generated = local(report.generated_at, d.canteen.timezone, "%Y-%m-%d %H:%M:%S")
        if report.close is not None:
            chain = f"日结时账本位置 #{report.close.chain_seq} 链头 {report.close.chain_head or '-'}"
        else:
            chain = f"未日结；当前账本位置 #{report.chain_seq} 链头 {report.chain_head or '-'}"
        return [f"{d.canteen.name}（{d.canteen.code}）日结对账单 · 营业日 {d.business_date.isoformat()} · "
                f"生成于 {generated}（{zone_zh(d.canteen.timezone, report.generated_at)}）", chain,
                f"报表数据 SHA-256 {report.sha256}"]

    def story(self, report: DailyReport, font: str, st):
        """The flowables of the whole report, section by section."""
        out = self.section_heading(report, font, st)
        for section in (self.section_summary, self.section_checks, self.section_shifts, self.section_voids,
                        self.section_corrections, self.section_exceptions, self.section_chart,
                        self.section_grants):
            out += section(report, font, st)
        out.append(signature_block(st))
        return out

    def section_heading(self, report: DailyReport, font: str, st):
        """Title, subtitle and any warning stamp."""
        d = report.data
        if report.close is not None:
            status = (f"已日结：{local(report.close.closed_at, d.canteen.timezone, '%Y-%m-%d %H:%M')} "
                      f"由 {report.close.closed_by}")
        else:
            status = "未日结（暂定）"
        out = [para(f"{d.canteen.name}　日结对账单", st["title"]),
               para(f"营业日 {d.business_date.isoformat()} · 食堂编号 {d.canteen.code} · {d.canteen.community} · {status}",
                    st["subtitle"])]
        if not report.all_ok:
            out.append(para("核对未通过：请查看下方红色项目后再签字。", st["stamp"]))
        return out

    def section_summary(self, report: DailyReport, font: str, st):
        """Sales, gross, subsidy by kind, net due, tenders and free meals used of the cap."""
        s, f = report.data.summary, report.data.free_meals
        rows = [("销售笔数（已完成）", f"{s.sales:,}", "营业额（原价合计）", yuan(s.gross_fen)),
                ("补贴合计", yuan(s.subsidy_fen), "实收（应收合计）", yuan(s.due_fen))]
        for k in s.by_kind:
            rows.append((f"其中{kind_zh(k.kind)}（笔）", f"{k.count:,}", f"{kind_zh(k.kind)}金额", yuan(k.amount_fen)))
        rows.append(("作废（笔）", f"{s.voided_sales:,}", "作废原价合计", yuan(s.voided_gross_fen)))
        rows.append(("公益免费餐已用 / 上限", f"{f.used} / {f.cap}", "免费餐剩余", f"{max(f.cap - f.used, 0)}"))
        tenders = [(tender_zh(t.method), f"{t.count:,}", yuan(t.due_fen), yuan(t.tendered_fen), yuan(t.change_fen))
                   for t in s.by_tender]
        tenders.append(("合计", f"{sum(t.count for t in s.by_tender):,}", yuan(sum(t.due_fen for t in s.by_tender)),
                        yuan(sum(t.tendered_fen for t in s.by_tender)), yuan(sum(t.change_fen for t in s.by_tender))))
        return [self.heading("汇总", st),
                table(("项目", "数值", "项目", "金额"), rows, (45 * mm, 40 * mm, 50 * mm, 45 * mm), font=font,
                      right=(1, 3)),
                Spacer(1, 3 * mm),
                table(("支付方式", "笔数", "实收", "收到金额", "找零"), tenders,
                      (50 * mm, 25 * mm, 35 * mm, 35 * mm, 35 * mm), font=font, right=(1, 2, 3, 4), bold_last=True)]

    def section_checks(self, report: DailyReport, font: str, st):
        """The edit checks, failures in red."""
        return [KeepTogether([self.heading("核对", st), checks_table(report.checks, font)])]

    def section_shifts(self, report: DailyReport, font: str, st):
        """Each shift's cash: float + cash taken − change − voided cash = expected, against counted."""
        tz = report.data.canteen.timezone
        shifts = report.data.shifts
        rows, red = [], []
        for i, sh in enumerate(shifts):
            diff = sh.over_short_fen
            rows.append((sh.cashier, local(sh.opened_at, tz, "%H:%M"), local(sh.closed_at, tz, "%H:%M") or "未交班",
                         yuan(sh.opening_float_fen), yuan(sh.cash_taken_fen), yuan(sh.change_fen),
                         yuan(sh.voided_cash_fen), yuan(sh.expected_fen),
                         yuan(sh.counted_fen) if sh.counted_fen is not None else "—",
                         yuan(diff) if diff is not None else "—"))
            if diff is None or diff != 0:
                red.append(i)
        out = [self.heading("班次现金：备用金 + 现金收款 − 找零 − 作废退款 = 应有现金；与实点现金比较", st)]
        if not rows:
            return out + [para("本日没有班次。", st["small"])]
        return out + [table(("收银员", "开班", "交班", "备用金", "现金收款", "找零", "作废退款", "应有现金", "实点现金", "长短款"),
                            rows, (24 * mm, 12 * mm, 14 * mm, 17 * mm, 20 * mm, 17 * mm, 17 * mm, 20 * mm,
                                   20 * mm, 19 * mm), font=font, right=range(3, 10), red_rows=red, size=7.5)]

    def section_voids(self, report: DailyReport, font: str, st):
        """The voids with reason, who asked and who approved."""
        tz = report.data.canteen.timezone
        rows = [(local(v.voided_at, tz, "%H:%M"), str(v.receipt_no), para(v.reason, st["cell"]), v.requested_by,
                 v.approved_by, tender_zh(v.tender_method), yuan(v.refund_fen), yuan(v.reversed_subsidy_fen))
                for v in report.data.voids]
        out = [self.heading("作废", st)]
        if not rows:
            return out + [para("本日没有作废。", st["small"])]
        return out + [table(("时间", "单号", "原因", "申请人", "批准主管", "支付", "退款", "冲回补贴"), rows,
                            (12 * mm, 12 * mm, 48 * mm, 22 * mm, 22 * mm, 20 * mm, 22 * mm, 22 * mm),
                            font=font, right=(1, 6, 7), size=7.5)]

    def section_corrections(self, report: DailyReport, font: str, st):
        """Corrections booked on this date for sales of closed dates."""
        tz = report.data.canteen.timezone
        rows = [(local(c.created_at, tz, "%H:%M"), c.original_date.isoformat(), str(c.original_receipt_no),
                 para(c.reason, st["cell"]), yuan(c.refund_fen), yuan(c.reversed_subsidy_fen))
                for c in report.data.corrections]
        if not rows:
            return []
        return [self.heading("更正（指向已日结的原销售）", st),
                table(("时间", "原营业日", "原单号", "原因", "退款", "冲减补贴"), rows,
                      (14 * mm, 24 * mm, 16 * mm, 74 * mm, 26 * mm, 26 * mm), font=font, right=(2, 4, 5), size=7.5)]

    def section_exceptions(self, report: DailyReport, font: str, st):
        """Subsidies given offline that the server would not grant: paid without, never claimed."""
        tz = report.data.canteen.timezone
        rows = [(local(x.sold_at, tz, "%H:%M"), str(x.receipt_no), kind_zh(x.kind), yuan(x.amount_fen),
                 para(x.reason_zh, st["cell"]), "已处理" if x.resolved else ("已作废" if not x.sale_completed else "待处理"))
                for x in report.data.exceptions]
        if not rows:
            return []
        return [self.heading(f"离线补贴例外（{len(rows)} 笔；不申报补贴）", st),
                table(("时间", "单号", "补贴类别", "金额", "原因", "状态"), rows,
                      (14 * mm, 14 * mm, 24 * mm, 20 * mm, 90 * mm, 18 * mm), font=font, right=(1, 3), size=7.5)]

    def section_chart(self, report: DailyReport, font: str, st):
        """The chart section."""
        hours = [(h.hour, h.sales, h.gross_fen) for h in report.data.hours]
        return [CondPageBreak(70 * mm), self.heading("分时段销售（已完成笔数）", st), hourly_sales_chart(hours, font)]

    def section_grants(self, report: DailyReport, font: str, st):
        """Every subsidy grant of the day, pseudonymous."""
        tz = report.data.canteen.timezone
        grants = report.data.grants
        rows = [(local(g.granted_at, tz), str(g.receipt_no), diner_zh(g.diner), g.masked_id, kind_zh(g.kind),
                 yuan(g.amount_fen), g.policy_version, "已作废" if g.voided else "")
                for g in grants]
        grey = frozenset(i for i, g in enumerate(grants) if g.voided)
        out = [CondPageBreak(30 * mm),
               self.heading(f"补贴明细（{len(grants)} 条；已作废的不计入合计）", st)]
        if not rows:
            return out + [para("本日没有补贴。", st["small"])]
        return out + [LedgerTable(("时间", "单号", "就餐者（假名）", "身份证（掩码）", "补贴类别", "金额", "政策版本", "状态"),
                                  rows, (17 * mm, 14 * mm, 24 * mm, 36 * mm, 23 * mm, 20 * mm, 24 * mm, 20 * mm),
                                  font=font, right=(1, 5), grey_rows=grey)]


def render_daily(report: DailyReport) -> tuple[str, str, bytes]:
    """The daily reconciliation as ``(filename, 'application/pdf', bytes)``."""
    return DailyRenderer().render(report)
