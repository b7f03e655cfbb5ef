"""The monthly subsidy claim PDF (补贴申领表) for one canteen or every canteen of a community.

Totals by benefit kind, the month's corrections and the net amount claimed, per-canteen
totals (several canteens only), per-day counts and amounts, the policy versions in force,
edit checks (failures in red), a per-diner summary with a total row (pseudonymous key
prefix and masked ID only) and signature lines.  Days not yet closed are marked 暂定
(provisional), and so is the whole claim while any day is open.  Sections are numbered in
the order they appear, and every word on the page is Chinese (codes and digests aside).
"""
from __future__ import annotations

from calendar import monthrange

from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, KeepTogether, Spacer

from reports.charts import daily_subsidy_chart
from reports.claim_queries import ClaimReport
from reports.daily import checks_table, diner_zh, kind_zh, signature_block
from reports.layout import LedgerTable, PdfRenderer, local, para, table, zone_zh
from subsidies.money import yuan


class MonthlyRenderer(PdfRenderer):
    """Renders a :class:`reports.claim_queries.ClaimReport`; override the ``section_*``
    hooks to change one part."""

    title = "补贴申领表"

    def filename(self, report: ClaimReport) -> str:
        """The download name of the PDF."""
        d = report.data
        scope = d.canteens[0].code if len(d.canteens) == 1 else "community"
        return f"claim-{scope}-{d.month:%Y-%m}.pdf"

    def footer_lines(self, report: ClaimReport) -> list[str]:
        """The lines printed at the foot of every page (generation time, ledger head, data hash)."""
        generated = local(report.generated_at, report.timezone, "%Y-%m-%d %H:%M:%S")
        state = "暂定（有未日结的营业日）" if report.data.provisional else "全部营业日已日结"
        zone = zone_zh(report.timezone, report.generated_at)
        return [f"{report.scope} · 补贴申领表 {report.data.month:%Y-%m} · 生成于 {generated}（{zone}）· {state}",
                f"食堂：{'、'.join(c.code for c in report.data.canteens)}",
                f"报表数据 SHA-256 {report.sha256}"]

    def story(self, report: ClaimReport, font: str, st):
        """The flowables of the whole report, section by section."""
        out = self.section_heading(report, font, st)
        for section in (self.section_totals, self.section_adjustments, self.section_canteens, self.section_days,
                        self.section_chart, self.section_policies, self.section_checks, self.section_diners):
            out += section(report, font, st)
        out.append(signature_block(st, roles=("运营方", "社区会计", "审核人")))
        return out

    def section_heading(self, report: ClaimReport, font: str, st):
        """Title, subtitle and any warning stamp."""
        d = report.data
        out = [para(f"{report.scope}　补贴申领表", st["title"]),
               para(f"申领月份 {d.month:%Y年%m月} · 食堂 {len(d.canteens)} 个 · 社区 "
                    f"{'、'.join(sorted({c.community for c in d.canteens}))}", st["subtitle"])]
        if d.provisional:
            open_days = sum(1 for x in d.days if not x.closed)
            out.append(para(f"暂定：本月有 {open_days} 个食堂营业日尚未日结，金额可能变化。", st["stamp"]))
        if not d.all_ok:
            out.append(para("核对未通过：请查看红色项目后再签字。", st["stamp"]))
        return out

    def section_totals(self, report: ClaimReport, font: str, st):
        """Counts and amounts by benefit kind, the total, and what was left out."""
        d = report.data
        rows = [(kind_zh("age_tier"), f"{d.age_count:,}", yuan(d.age_fen)),
                (kind_zh("free_meal"), f"{d.free_count:,}", yuan(d.free_fen)),
                ("申领合计", f"{d.age_count + d.free_count:,}", yuan(d.total_fen))]
        notes = [f"已作废的补贴不计入：{d.voided_count:,} 笔，{yuan(d.voided_fen)}。"]
        exceptions = sum(x.exception_count for x in d.days)
        if exceptions:
            notes.append(f"离线补贴例外不申报：{exceptions:,} 笔，{yuan(sum(x.exception_fen for x in d.days))}"
                         f"（收银机离线时给予、服务器不予认定的补贴，见各日对账单）。")
        if d.corrections_count:
            notes.append(f"本月更正冲减：{d.corrections_count:,} 笔，{yuan(d.corrections_subsidy_fen)}；"
                         f"扣除后净申领 {yuan(d.net_fen)}（明细见“本月更正调整”）。")
        return [self.heading("申领汇总", st),
                table(("补贴类别", "笔数", "金额"), rows, (70 * mm, 40 * mm, 50 * mm), font=font, right=(1, 2),
                      bold_last=True),
                Spacer(1, 2 * mm), *[para(n, st["body"]) for n in notes]]

    def section_adjustments(self, report: ClaimReport, font: str, st):
        """The month's corrections of sales of earlier, closed dates, and the net claim."""
        d = report.data
        out = [self.heading("本月更正调整", st)]
        if not d.adjustments:
            return out + [para(f"本月没有更正调整；净申领 {yuan(d.net_fen)}。", st["body"])]
        rows = [(a.canteen, a.business_date.isoformat(), a.original_date.isoformat(), str(a.original_receipt_no),
                 para(a.reason, st["cell"]), yuan(a.refund_fen), yuan(a.reversed_subsidy_fen)) for a in d.adjustments]
        rows.append(("合计", "", "", "", f"{len(d.adjustments):,} 笔", yuan(sum(a.refund_fen for a in d.adjustments)),
                     yuan(d.corrections_subsidy_fen)))
        summary = (f"申领合计 {yuan(d.total_fen)} − 更正冲减补贴 {yuan(d.corrections_subsidy_fen)} "
                   f"= 净申领 {yuan(d.net_fen)}")
        return out + [table(("食堂", "更正营业日", "原营业日", "原单号", "原因", "退款", "冲减补贴"), rows,
                            (16 * mm, 22 * mm, 22 * mm, 15 * mm, 61 * mm, 22 * mm, 22 * mm), font=font,
                            right=(3, 5, 6), bold_last=True, size=7.5),
                      Spacer(1, 2 * mm), para(summary, st["body"])]

    def section_canteens(self, report: ClaimReport, font: str, st):
        """Per-canteen totals (only when the claim covers several canteens)."""
        d = report.data
        if len(d.canteens) < 2:
            return []
        rows = [(c.canteen.name, c.canteen.code, str(c.days), str(c.closed_days), f"{c.age_count:,}", yuan(c.age_fen),
                 f"{c.free_count:,}", yuan(c.free_fen), yuan(c.total_fen)) for c in d.by_canteen]
        rows.append(("合计", "", str(sum(c.days for c in d.by_canteen)), str(sum(c.closed_days for c in d.by_canteen)),
                     f"{d.age_count:,}", yuan(d.age_fen), f"{d.free_count:,}", yuan(d.free_fen), yuan(d.total_fen)))
        return [self.heading("按食堂", st),
                table(("食堂", "编号", "营业天数", "已日结", "立减笔数", "立减金额", "免费餐", "免费餐金额", "合计"), rows,
                      (44 * mm, 16 * mm, 14 * mm, 13 * mm, 16 * mm, 21 * mm, 14 * mm, 21 * mm, 21 * mm),
                      font=font, right=range(2, 9), bold_last=True, size=7.5)]

    def section_days(self, report: ClaimReport, font: str, st):
        """Per-date totals across the chosen canteens, provisional days marked."""
        d = report.data
        rows = [(x.business_date.isoformat(), "暂定" if x.provisional else "已日结", f"{x.age_count:,}", yuan(x.age_fen),
                 f"{x.free_count:,}", yuan(x.free_fen), yuan(x.total_fen)) for x in d.by_date]
        rows.append(("合计", "暂定" if d.provisional else "", f"{d.age_count:,}", yuan(d.age_fen), f"{d.free_count:,}",
                     yuan(d.free_fen), yuan(d.total_fen)))
        return [self.heading("按日（各食堂合计）", st),
                table(("营业日", "状态", "立减笔数", "立减金额", "免费餐", "免费餐金额", "当日合计"), rows,
                      (28 * mm, 18 * mm, 22 * mm, 28 * mm, 20 * mm, 28 * mm, 28 * mm), font=font,
                      right=range(2, 7), bold_last=True)]

    def section_chart(self, report: ClaimReport, font: str, st):
        """The chart section."""
        d = report.data
        days = [(x.business_date.day, x.age_fen, x.free_fen) for x in d.by_date]
        return [CondPageBreak(75 * mm),
                self.heading(f"每日补贴金额（元；红：{kind_zh('age_tier')}，橙：{kind_zh('free_meal')}）", st),
                daily_subsidy_chart(days, monthrange(d.month.year, d.month.month)[1], font)]

    def section_policies(self, report: ClaimReport, font: str, st):
        """The policy versions the grants were decided under."""
        rows = [(p.version, kind_zh(p.kind), f"{p.count:,}", yuan(p.amount_fen), p.first_date.isoformat(),
                 p.last_date.isoformat()) for p in report.data.policies]
        out = [self.heading("适用的政策版本（按销售时记录）", st)]
        if not rows:
            return out + [para("本月没有补贴。", st["small"])]
        return out + [table(("政策版本", "补贴类别", "笔数", "金额", "首个营业日", "最后营业日"), rows,
                            (30 * mm, 30 * mm, 22 * mm, 30 * mm, 34 * mm, 34 * mm), font=font, right=(2, 3))]

    def section_checks(self, report: ClaimReport, font: str, st):
        """The edit checks, failures in red."""
        return [KeepTogether([self.heading("核对", st), checks_table(report.data.checks, font)])]

    def section_diners(self, report: ClaimReport, font: str, st):
        """Per-diner totals (key prefix and masked ID only) and their total row, which
        equals the claim total."""
        diners = report.data.diners
        rows = [(diner_zh(x.diner), x.masked_id, f"{x.meals}", f"{x.age_count}", f"{x.free_count}",
                 yuan(x.amount_fen), f"{x.canteens}", f"{x.days}") for x in diners]
        out = [CondPageBreak(30 * mm),
               self.heading(f"按就餐者汇总（{len(diners):,} 人；假名与掩码，不含姓名和身份证号）", st)]
        if not rows:
            return out + [para("本月没有补贴。", st["small"])]
        # Canteens and days are per diner; a sum of them would count nothing, so they stay blank.
        rows.append(("合计", f"{len(diners):,} 人", f"{sum(x.meals for x in diners):,}",
                     f"{sum(x.age_count for x in diners):,}", f"{sum(x.free_count for x in diners):,}",
                     yuan(sum(x.amount_fen for x in diners)), "", ""))
        return out + [LedgerTable(("就餐者（假名）", "身份证（掩码）", "补贴餐次", "立减", "免费餐", "金额", "食堂数", "天数"), rows,
                                  (28 * mm, 40 * mm, 18 * mm, 16 * mm, 16 * mm, 24 * mm, 18 * mm, 16 * mm),
                                  font=font, right=range(2, 8), total_last=True)]


def render_monthly(report: ClaimReport) -> tuple[str, str, bytes]:
    """The monthly claim as ``(filename, 'application/pdf', bytes)``."""
    return MonthlyRenderer().render(report)
