"""The claim as CSV for the spreadsheet: UTF-8 with a byte-order mark (so Excel and WPS
show the Chinese), CRLF line ends, amounts as plain yuan (``12.50``).

* per-grant CSV: one row per subsidy grant of the month, voided grants included with a
  claimed amount of 0.00, so the claimed column sums to the claim total;
* summary CSV: one row per canteen and business date, then a total row.
"""
from __future__ import annotations

import csv
import io
from typing import Any, Callable, Iterable, Iterator, NamedTuple

from reports.claim_queries import ClaimDay, ClaimReport, GrantRow
from reports.layout import local
from subsidies.money import plain_yuan
from subsidies.vocabulary import SUBSIDY_KIND_NAMES, name_of

CSV = "text/csv; charset=utf-8"
BOM = "\ufeff"


class Column(NamedTuple):
    """A CSV column: its header, how a row's cell is made and (for the summary) the
    total row's cell.  Each file's columns are listed once, header beside cell, so the
    two cannot drift apart."""

    header: str
    cell: Callable[..., Any]
    total: Callable[[ClaimReport], Any] | None = None


#: The per-grant CSV, one row per grant; ``cell(grant, tz)``.
GRANT_COLUMNS = (
    Column("食堂编号", lambda g, tz: g.canteen),
    Column("食堂", lambda g, tz: g.canteen_name),
    Column("营业日", lambda g, tz: g.business_date.isoformat()),
    Column("时间", lambda g, tz: local(g.granted_at, tz)),
    Column("单号", lambda g, tz: g.receipt_no),
    Column("就餐者（假名）", lambda g, tz: g.diner),
    Column("身份证（掩码）", lambda g, tz: g.masked_id),
    Column("补贴类别", lambda g, tz: name_of(SUBSIDY_KIND_NAMES, g.kind)),
    Column("政策版本", lambda g, tz: g.policy_version),
    Column("规则", lambda g, tz: g.rule_id),
    Column("餐段", lambda g, tz: g.period),
    Column("补贴金额（元）", lambda g, tz: plain_yuan(g.amount_fen)),
    Column("是否作废", lambda g, tz: "是" if g.voided else "否"),
    Column("申领金额（元）", lambda g, tz: plain_yuan(g.claimed_fen)),
    Column("日结状态", lambda g, tz: "已日结" if g.closed else "暂定"),
)
#: The summary CSV, one row per canteen and business date; ``cell(day, canteen_name)``.
SUMMARY_COLUMNS = (
    Column("食堂编号", lambda x, name: x.canteen, lambda r: "合计"),
    Column("食堂", lambda x, name: name, lambda r: r.scope),
    Column("营业日", lambda x, name: x.business_date.isoformat(), lambda r: f"{r.data.month:%Y-%m}"),
    Column("日结状态", lambda x, name: "已日结" if x.closed else "暂定",
           lambda r: "暂定" if r.data.provisional else "已日结"),
    Column("立减笔数", lambda x, name: x.age_count, lambda r: r.data.age_count),
    Column("立减金额（元）", lambda x, name: plain_yuan(x.age_fen), lambda r: plain_yuan(r.data.age_fen)),
    Column("免费餐笔数", lambda x, name: x.free_count, lambda r: r.data.free_count),
    Column("免费餐金额（元）", lambda x, name: plain_yuan(x.free_fen), lambda r: plain_yuan(r.data.free_fen)),
    Column("当日申领合计（元）", lambda x, name: plain_yuan(x.total_fen), lambda r: plain_yuan(r.data.total_fen)),
    Column("已完成销售笔数", lambda x, name: x.sales, lambda r: sum(x.sales for x in r.data.days)),
)
GRANT_HEADER = tuple(c.header for c in GRANT_COLUMNS)
SUMMARY_HEADER = tuple(c.header for c in SUMMARY_COLUMNS)


def _grant_cells(g: GrantRow, tz: str) -> tuple:
    return tuple(c.cell(g, tz) for c in GRANT_COLUMNS)


def _summary_cells(day: ClaimDay, canteen_name: str) -> tuple:
    return tuple(c.cell(day, canteen_name) for c in SUMMARY_COLUMNS)


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
        writer.writerow(_summary_cells(x, names[x.canteen]))
    writer.writerow(tuple(c.total(report) for c in SUMMARY_COLUMNS))
    scope = d.canteens[0].code if len(d.canteens) == 1 else "community"
    return f"claim-{scope}-{d.month:%Y-%m}-summary.csv", CSV, buf.getvalue().encode("utf-8")
