"""The monthly claim as an XLSX workbook with typed cells: amounts are numbers (yuan, two
decimals shown), counts and receipt numbers are numbers, business dates are dates, times
are times, and identifiers and words are text, so no spreadsheet has to guess.

Sheets: 申领信息 (the claim's figures and edit checks), 按日汇总 (one row per canteen and
business date, then the total), 补贴明细 (one row per grant, voided ones claiming 0), 按就餐者
(one row per diner) and 更正调整 (the month's corrections).  The columns are
:mod:`reports.claim_columns`', the same as the CSV's.

Written with XlsxWriter in constant-memory mode: each row goes to a temporary file as it
is written, so a district month (hundreds of thousands of grants) streams from the
database without being held in memory.  A sheet holds at most 1,048,576 rows; the grants
go on in 补贴明细（2） and so on.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from datetime import date, datetime, time
from io import BytesIO
from pathlib import Path
from typing import IO, Iterable

import xlsxwriter

from reports.claim_columns import (ADJUSTMENT_COLUMNS, DINER_COLUMNS, GRANT_COLUMNS, SUMMARY_COLUMNS, Cell,
                                   Column, Fen, Id, adjustment_cells, claim_scope_code, diner_cells, facts,
                                   grant_cells, header, summary_rows)
from reports.claim_grants import GrantRow
from reports.claim_queries import ClaimReport

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROWS = 1_048_576  # rows of one sheet in Excel (and LibreOffice)


def xlsx_filename(report: ClaimReport) -> str:
    """``claim-<canteen or community>-<YYYY-MM>.xlsx``."""
    return f"claim-{claim_scope_code(report)}-{report.data.month:%Y-%m}.xlsx"


#: Excel's day 0 in its 1900 date system: a date is stored as the days since, a time as the
#: fraction of a day (valid from 1900-03-01 on, far before any business date).
EXCEL_DAY_0 = date(1899, 12, 30).toordinal()


def _day_fraction(t: time) -> float:
    return (t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6) / 86400


class _Book:
    """The workbook and its cell formats; :meth:`put` writes one typed cell."""

    def __init__(self, out: str | IO[bytes], tmpdir: str):
        self.wb = xlsxwriter.Workbook(out, {"constant_memory": True, "tmpdir": tmpdir})
        add = self.wb.add_format
        self.head = add({"bold": True, "bg_color": "#EEEAE3", "border": 1, "text_wrap": True, "valign": "top"})
        self.id_fmt = add({"num_format": "@"})  # keeps an identifier text even when someone edits the cell
        self.money = add({"num_format": "0.00"})
        self.date = add({"num_format": "yyyy-mm-dd"})
        self.time = add({"num_format": "hh:mm:ss"})
        self.datetime = add({"num_format": "yyyy-mm-dd hh:mm:ss"})

    def put(self, ws, row: int, col: int, value: Cell) -> None:
        """One typed cell (the one place that decides how a cell is written).  Dates and
        times are written as the numbers Excel stores for them, with a date format: what
        ``write_datetime`` does, without its per-cell conversion cost."""
        kind = type(value)
        if kind is Id:
            ws.write_string(row, col, value, self.id_fmt)
        elif kind is str:
            ws.write_string(row, col, value)
        elif kind is Fen:
            ws.write_number(row, col, value / 100, self.money)  # the nearest double to the yuan amount
        elif kind is int:
            ws.write_number(row, col, value)
        elif kind is date:
            ws.write_number(row, col, value.toordinal() - EXCEL_DAY_0, self.date)
        elif kind is time:
            ws.write_number(row, col, _day_fraction(value), self.time)
        elif kind is datetime:
            ws.write_number(row, col, value.toordinal() - EXCEL_DAY_0 + _day_fraction(value.time()), self.datetime)
        else:
            raise TypeError(f"no XLSX form for {value!r}")

    def rows(self, ws, first: int, rows: Iterable[tuple[Cell, ...]]) -> int:
        """Write ``rows`` from row ``first``; the next free row."""
        n = first
        for cells in rows:
            for col, value in enumerate(cells):
                self.put(ws, n, col, value)
            n += 1
        return n

    def table(self, name: str, columns: tuple[Column, ...], rows: Iterable[tuple[Cell, ...]]) -> int:
        """A table on a sheet of its own: the header row (frozen, filterable, widths for
        Chinese headers), then ``rows``; past a sheet's last row it goes on in a sheet
        named ``name（2）`` and so on.  Returns the number of rows written."""
        part, count, ws, n = 1, 0, self._sheet(name, columns), 1
        for cells in rows:
            if n == MAX_ROWS:
                ws.autofilter(0, 0, n - 1, len(columns) - 1)
                part += 1
                ws, n = self._sheet(f"{name}（{part}）", columns), 1
            for col, value in enumerate(cells):
                self.put(ws, n, col, value)
            n += 1
            count += 1
        ws.autofilter(0, 0, n - 1, len(columns) - 1)
        return count

    def _sheet(self, name: str, columns: tuple[Column, ...]):
        ws = self.wb.add_worksheet(name)
        for col, title in enumerate(header(columns)):
            ws.set_column(col, col, max(10, 2 * len(title) + 2))
            ws.write_string(0, col, title, self.head)
        ws.freeze_panes(1, 0)
        return ws


def _facts_sheet(book: _Book, report: ClaimReport) -> None:
    ws = book.wb.add_worksheet("申领信息")
    ws.set_column(0, 0, 28)
    ws.set_column(1, 1, 68)
    ws.set_column(2, 2, 40)
    n = book.rows(ws, 0, facts(report))
    n += 1
    for col, title in enumerate(("核对项目", "结果", "详情")):
        ws.write_string(n, col, title, book.head)
    book.rows(ws, n + 1, ((c.label_in("zh"), "通过" if c.ok else "未通过", c.detail_in("zh"))
                          for c in report.data.checks))


TMP_PREFIX = "claim-xlsx-"


def remove_stale_folders(tmp: str | None = None) -> int:
    """Remove the row folders a killed process left behind (``kill -9`` skips the clean-up
    above): those whose process is gone.  `canteen serve` calls it at start; returns how many."""
    removed = 0
    for folder in Path(tmp or tempfile.gettempdir()).glob(f"{TMP_PREFIX}*-*"):
        pid = folder.name[len(TMP_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def write_claim_xlsx(report: ClaimReport, grants: Iterable[GrantRow], out: str | IO[bytes]) -> int:
    """Write the claim's workbook to ``out`` (a path or a binary file), reading ``grants``
    (the month's grant rows, streamed) once; returns how many grants it wrote."""
    # The rows' temporary files go in a folder of our own, removed even when writing fails
    # half-way (XlsxWriter deletes them only when the workbook is closed).
    with tempfile.TemporaryDirectory(prefix=f"{TMP_PREFIX}{os.getpid()}-") as tmpdir:
        book = _Book(out, tmpdir)
        _facts_sheet(book, report)
        book.table("按日汇总", SUMMARY_COLUMNS, summary_rows(report))
        count = book.table("补贴明细", GRANT_COLUMNS, (grant_cells(g, report.timezone) for g in grants))
        book.table("按就餐者", DINER_COLUMNS, (diner_cells(d) for d in report.data.diners))
        book.table("更正调整", ADJUSTMENT_COLUMNS, (adjustment_cells(a) for a in report.data.adjustments))
        book.wb.close()
    return count


def claim_xlsx(report: ClaimReport, grants: Iterable[GrantRow]) -> tuple[str, str, bytes]:
    """The claim's workbook as ``(filename, mimetype, bytes)`` (for a month that fits in
    memory; the web view and the CLI write to a file with :func:`write_claim_xlsx`)."""
    buf = BytesIO()
    write_claim_xlsx(report, grants, buf)
    return xlsx_filename(report), XLSX, buf.getvalue()
