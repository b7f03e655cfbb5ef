"""The monthly claim as tables for spreadsheets: each table's columns listed once, every
Chinese header beside its cell, and every cell *typed*, so that the CSV writer
(:mod:`reports.csvs`) and the XLSX writer (:mod:`reports.xlsx`) show the same columns and
each knows what a cell is:

* :class:`Id` — an identifier (diner pseudonym, masked ID, canteen code, policy version,
  raw rule or period code).  It is text and must stay text in a spreadsheet, whatever it
  looks like: ``0123456789`` must keep its leading zero, ``12345e6789`` is not a number
  and ``2026-01`` is not a date;
* :class:`Fen` — money in integer fen; spreadsheets get it as a number of yuan;
* ``int`` (a count or a receipt number), ``date``, ``time`` and ``datetime`` — numbers,
  dates and times;
* ``str`` — words for people, in Chinese.

Codes (``age_tier:80``, ``lunch``, ``ticket:…``) are shown by their Chinese names; the
raw rule and period codes stay in the last two columns of the per-grant table, for
filtering and for programs.
"""
from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, Callable, NamedTuple, Union

from reports.claim_grants import GrantRow
from reports.claim_queries import Adjustment, ClaimDay, ClaimReport, DinerTotal
from reports.layout import local
from subsidies.vocabulary import SUBSIDY_KIND_NAMES, meal_period_name, name_of, rule_name

TICKET_PREFIX = "ticket:"  # how reports.queries.pseudonym() marks a one-time paper ticket
TICKET_ZH = "公益餐券"


class Id(str):
    """An identifier: text a spreadsheet must keep as text, character for character."""

    __slots__ = ()


class Fen(int):
    """An amount of money in integer fen (shown as yuan)."""

    __slots__ = ()


Cell = Union[Id, Fen, int, str, date, time, datetime]


class Column(NamedTuple):
    """A column: its header, how a row's cell is made and (where the table has a total
    row) the total row's cell.  The header is derived from the same line as the cell, so
    the two cannot drift apart."""

    header: str
    cell: Callable[..., Cell]
    total: Callable[[ClaimReport], Cell] | None = None


def diner_label(pseudonym: str) -> Id:
    """A diner as the spreadsheet shows them: the pseudonym, or "公益餐券 <last 6>" for a
    one-time paper ticket (``ticket:…`` in the reports' data)."""
    if pseudonym.startswith(TICKET_PREFIX):
        return Id(f"{TICKET_ZH} {pseudonym[len(TICKET_PREFIX):]}")
    return Id(pseudonym)


def local_time(moment: datetime, tz: str) -> time:
    """A stored naive-UTC moment as the canteen's local clock time."""
    return time.fromisoformat(local(moment, tz))


def local_datetime(moment: datetime, tz: str) -> datetime:
    """A stored naive-UTC moment as the canteen's local date and time (naive)."""
    return datetime.fromisoformat(local(moment, tz, "%Y-%m-%d %H:%M:%S"))


def closed_zh(closed: bool) -> str:
    """A day's (or the claim's) close state: 已日结 or 暂定."""
    return "已日结" if closed else "暂定"


#: The per-grant table, one row per grant of the month (voided grants claim 0);
#: ``cell(grant, tz)``.  New columns go at the end: people and scripts count them.
GRANT_COLUMNS = (
    Column("食堂编号", lambda g, tz: Id(g.canteen)),
    Column("食堂", lambda g, tz: g.canteen_name),
    Column("营业日", lambda g, tz: g.business_date),
    Column("时间", lambda g, tz: local_time(g.granted_at, tz)),
    Column("单号", lambda g, tz: g.receipt_no),
    Column("就餐者（假名）", lambda g, tz: diner_label(g.diner)),
    Column("身份证（掩码）", lambda g, tz: Id(g.masked_id)),
    Column("补贴类别", lambda g, tz: name_of(SUBSIDY_KIND_NAMES, g.kind)),
    Column("政策版本", lambda g, tz: Id(g.policy_version)),
    Column("规则", lambda g, tz: rule_name(g.rule_id)),
    Column("餐段", lambda g, tz: meal_period_name(g.period)),
    Column("补贴金额（元）", lambda g, tz: Fen(g.amount_fen)),
    Column("是否作废", lambda g, tz: "是" if g.voided else "否"),
    Column("申领金额（元）", lambda g, tz: Fen(g.claimed_fen)),
    Column("日结状态", lambda g, tz: closed_zh(g.closed)),
    Column("规则代码", lambda g, tz: Id(g.rule_id)),
    Column("餐段代码", lambda g, tz: Id(g.period)),
)

#: One row per canteen and business date, then the total row; ``cell(day, canteen_name)``.
SUMMARY_COLUMNS = (
    Column("食堂编号", lambda x, name: Id(x.canteen), lambda r: "合计"),
    Column("食堂", lambda x, name: name, lambda r: r.scope),
    Column("营业日", lambda x, name: x.business_date, lambda r: Id(f"{r.data.month:%Y-%m}")),
    Column("日结状态", lambda x, name: closed_zh(x.closed), lambda r: closed_zh(not r.data.provisional)),
    Column("立减笔数", lambda x, name: x.age_count, lambda r: r.data.age_count),
    Column("立减金额（元）", lambda x, name: Fen(x.age_fen), lambda r: Fen(r.data.age_fen)),
    Column("免费餐笔数", lambda x, name: x.free_count, lambda r: r.data.free_count),
    Column("免费餐金额（元）", lambda x, name: Fen(x.free_fen), lambda r: Fen(r.data.free_fen)),
    Column("当日申领合计（元）", lambda x, name: Fen(x.total_fen), lambda r: Fen(r.data.total_fen)),
    Column("已完成销售笔数", lambda x, name: x.sales, lambda r: sum(x.sales for x in r.data.days)),
)

#: One row per diner subsidised in the month; ``cell(diner)``.
DINER_COLUMNS = (
    Column("就餐者（假名）", lambda d: diner_label(d.diner)),
    Column("身份证（掩码）", lambda d: Id(d.masked_id)),
    Column("补贴餐数", lambda d: d.meals),
    Column("立减笔数", lambda d: d.age_count),
    Column("免费餐笔数", lambda d: d.free_count),
    Column("补贴金额（元）", lambda d: Fen(d.amount_fen)),
    Column("就餐食堂数", lambda d: d.canteens),
    Column("就餐天数", lambda d: d.days),
)

#: The month's corrections of sales of earlier, closed dates; ``cell(adjustment)``.
ADJUSTMENT_COLUMNS = (
    Column("食堂编号", lambda a: Id(a.canteen)),
    Column("更正营业日", lambda a: a.business_date),
    Column("原营业日", lambda a: a.original_date),
    Column("原单号", lambda a: a.original_receipt_no),
    Column("原因", lambda a: a.reason),
    Column("退款（元）", lambda a: Fen(a.refund_fen)),
    Column("冲减补贴（元）", lambda a: Fen(a.reversed_subsidy_fen)),
)


def header(columns: tuple[Column, ...]) -> tuple[str, ...]:
    """The header row of a table."""
    return tuple(c.header for c in columns)


def grant_cells(g: GrantRow, tz: str) -> tuple[Cell, ...]:
    """A grant's row of :data:`GRANT_COLUMNS`."""
    return tuple(c.cell(g, tz) for c in GRANT_COLUMNS)


def summary_cells(day: ClaimDay, canteen_name: str) -> tuple[Cell, ...]:
    """A canteen's business date as a row of :data:`SUMMARY_COLUMNS`."""
    return tuple(c.cell(day, canteen_name) for c in SUMMARY_COLUMNS)


def summary_total(report: ClaimReport) -> tuple[Cell, ...]:
    """The total row of :data:`SUMMARY_COLUMNS`."""
    return tuple(c.total(report) for c in SUMMARY_COLUMNS)


def summary_rows(report: ClaimReport) -> list[tuple[Cell, ...]]:
    """Every row of the summary table after its header: each canteen and date, then the total."""
    names = {c.code: c.name for c in report.data.canteens}
    return [summary_cells(x, names[x.canteen]) for x in report.data.days] + [summary_total(report)]


def diner_cells(d: DinerTotal) -> tuple[Cell, ...]:
    """A diner's row of :data:`DINER_COLUMNS`."""
    return tuple(c.cell(d) for c in DINER_COLUMNS)


def adjustment_cells(a: Adjustment) -> tuple[Cell, ...]:
    """A correction's row of :data:`ADJUSTMENT_COLUMNS`."""
    return tuple(c.cell(a) for c in ADJUSTMENT_COLUMNS)


def claim_scope_code(report: ClaimReport) -> str:
    """The claim's name in file names: the canteen's code, or ``community`` for several."""
    d = report.data
    return d.canteens[0].code if len(d.canteens) == 1 else "community"


def facts(report: ClaimReport) -> list[tuple[str, Any]]:
    """The claim's key figures as ``(label, cell)`` pairs: scope, month, state, totals by
    kind, what was left out, corrections, the net claim, when generated and its SHA-256."""
    d = report.data
    return [
        ("申领范围", report.scope),
        ("食堂", "、".join(f"{c.name}（{c.code}）" for c in d.canteens)),
        ("月份", Id(f"{d.month:%Y-%m}")),
        ("状态", "暂定：有未日结的营业日" if d.provisional else "已全部日结"),
        (f"{name_of(SUBSIDY_KIND_NAMES, 'age_tier')}笔数", d.age_count),
        (f"{name_of(SUBSIDY_KIND_NAMES, 'age_tier')}金额（元）", Fen(d.age_fen)),
        (f"{name_of(SUBSIDY_KIND_NAMES, 'free_meal')}笔数", d.free_count),
        (f"{name_of(SUBSIDY_KIND_NAMES, 'free_meal')}金额（元）", Fen(d.free_fen)),
        ("申领合计（元）", Fen(d.total_fen)),
        ("已作废笔数（不计入）", d.voided_count),
        ("已作废金额（元，不计入）", Fen(d.voided_fen)),
        ("更正笔数", d.corrections_count),
        ("更正冲减补贴（元）", Fen(d.corrections_subsidy_fen)),
        ("净申领（元）", Fen(d.net_fen)),
        ("生成时间", local_datetime(report.generated_at, report.timezone)),
        ("数据 SHA-256", Id(report.sha256)),
    ]
