"""The claim as CSV for the spreadsheet: UTF-8 with a byte-order mark (so Excel and WPS
show the Chinese), CRLF line ends, amounts as plain yuan (``12.50``).

* per-grant CSV: one row per subsidy grant of the month, voided grants included with a
  claimed amount of 0.00, so the claimed column sums to the claim total;
* summary CSV: one row per canteen and business date, then a total row.
"""
from __future__ import annotations

import csv
import io
from typing import Iterable, Iterator

from reports.claim_queries import ClaimReport, GrantRow
from reports.layout import local
from subsidies.money import plain_yuan

CSV = "text/csv; charset=utf-8"
BOM = "\ufeff"
KIND_ZH = {"age_tier": "老龄立减", "free_meal": "公益免费餐"}
GRANT_HEADER = ("食堂编号", "食堂", "营业日", "时间", "单号", "就餐者（假名）", "身份证（掩码）", "补贴类别", "政策版本", "规则",
                "餐段", "补贴金额（元）", "是否作废", "申领金额（元）", "日结状态")
SUMMARY_HEADER = ("食堂编号", "食堂", "营业日", "日结状态", "立减笔数", "立减金额（元）", "免费餐笔数", "免费餐金额（元）",
                  "当日申领合计（元）", "已完成销售笔数")


def _grant_cells(g: GrantRow, tz: str) -> tuple:
    return (g.canteen, g.canteen_name, g.business_date.isoformat(), local(g.granted_at, tz), g.receipt_no, g.diner,
            g.masked_id, KIND_ZH.get(g.kind, g.kind), g.policy_version, g.rule_id, g.period, plain_yuan(g.amount_fen),
            "是" if g.voided else "否", plain_yuan(g.claimed_fen), "已日结" if g.closed else "暂定")


def iter_grants_csv(rows: Iterable[GrantRow], tz: str, chunk_rows: int = 2000) -> Iterator[bytes]:
    """The per-grant CSV as UTF-8 byte chunks, written while the rows stream from the database."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write(BOM)
    writer.writerow(GRANT_HEADER)
    for n, g in enumerate(rows, start=1):
        writer.writerow(_grant_cells(g, tz))
        if n % chunk_rows == 0:
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode("utf-8")


def grants_csv(rows: Iterable[GrantRow], report: ClaimReport) -> tuple[str, str, bytes]:
    """The per-grant CSV as ``(filename, mimetype, bytes)``."""
    return grants_filename(report), CSV, b"".join(iter_grants_csv(rows, report.timezone))


def grants_filename(report: ClaimReport) -> str:
    """``claim-<canteen or community>-<YYYY-MM>-grants.csv``."""
    d = report.data
    scope = d.canteens[0].code if len(d.canteens) == 1 else "community"
    return f"claim-{scope}-{d.month:%Y-%m}-grants.csv"


def summary_csv(report: ClaimReport) -> tuple[str, str, bytes]:
    """One row per canteen and business date, then the total, as ``(filename, mimetype, bytes)``."""
    d = report.data
    names = {c.code: c.name for c in d.canteens}
    buf = io.StringIO()
    buf.write(BOM)
    writer = csv.writer(buf)
    writer.writerow(SUMMARY_HEADER)
    for x in d.days:
        writer.writerow((x.canteen, names[x.canteen], x.business_date.isoformat(), "已日结" if x.closed else "暂定",
                         x.age_count, plain_yuan(x.age_fen), x.free_count, plain_yuan(x.free_fen),
                         plain_yuan(x.total_fen), x.sales))
    writer.writerow(("合计", report.scope, f"{d.month:%Y-%m}", "暂定" if d.provisional else "已日结", d.age_count,
                     plain_yuan(d.age_fen), d.free_count, plain_yuan(d.free_fen), plain_yuan(d.total_fen),
                     sum(x.sales for x in d.days)))
    scope = d.canteens[0].code if len(d.canteens) == 1 else "community"
    return f"claim-{scope}-{d.month:%Y-%m}-summary.csv", CSV, buf.getvalue().encode("utf-8")
