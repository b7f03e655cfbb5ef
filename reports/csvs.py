"""The claim as CSV for the spreadsheet: UTF-8 with a byte-order mark (so Excel and WPS
show the Chinese), CRLF line ends, amounts as plain yuan (``12.50``), dates as
``YYYY-MM-DD`` and times as ``HH:MM:SS`` (which spreadsheets read as numbers, dates and
times, as they should).

* per-grant CSV: one row per subsidy grant of the month, voided grants included with a
  claimed amount of 0.00, so the claimed column sums to the claim total;
* summary CSV: one row per canteen and business date, then a total row.

The columns are :mod:`reports.claim_columns`' (the XLSX has the same ones).

**Identifiers stay text.**  A CSV has no types: Excel, WPS and LibreOffice guess each
cell's, so a pseudonym ``0123456789`` would lose its leading zero, ``12345e6789`` would
become 1.8E+308 and a policy version ``2026-01`` a date.  Every identifier cell (an
:class:`~reports.claim_columns.Id`) is therefore written as a text formula,
``="0123456789"``, which all three show as exactly that text (LibreOffice evaluates
formulas when it opens a CSV unless told not to; then it shows the formula, still
unchanged).  A word cell that a spreadsheet would take for a formula or a number (a
canteen name beginning with ``=``, ``-`` or a digit) is written the same way.  Programs
should read the XLSX, whose cells are typed; ``tests/reports/test_spreadsheets.py``
proves both files with LibreOffice.
"""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, time
from typing import Iterable, Iterator

from reports.claim_columns import (GRANT_COLUMNS, SUMMARY_COLUMNS, Cell, Fen, Id, claim_scope_code, grant_cells,
                                   header, summary_rows)
from reports.claim_grants import GrantRow
from reports.claim_queries import ClaimReport
from subsidies.money import plain_yuan

CSV = "text/csv; charset=utf-8"
BOM = "\ufeff"
# A word starting with one of these is a formula or a number to a spreadsheet.
_MISREAD_START = tuple("=+-@\t\r0123456789.($¥￥")


def as_text(value: str) -> str:
    """``value`` as a CSV cell that spreadsheets show as this exact text: ``="…"``."""
    return '="' + value.replace('"', '""') + '"'


def _word(value: str) -> str:
    return as_text(value) if value.startswith(_MISREAD_START) else value


#: How each type of cell is written, by exact type (a dict lookup per cell: a district
#: month is millions of cells).
_FORMS = {
    Id: lambda v: as_text(v) if v else "",
    str: _word,
    Fen: plain_yuan,
    int: str,
    date: date.isoformat,
    time: time.isoformat,
    datetime: lambda v: v.isoformat(sep=" ", timespec="seconds"),
}


def csv_cell(value: Cell) -> str:
    """One typed cell as CSV text (the one place that decides how a cell is written)."""
    form = _FORMS.get(type(value))
    if form is None:
        raise TypeError(f"no CSV form for {value!r}")
    return form(value)


def _row(cells: Iterable[Cell]) -> list[str]:
    try:
        return [_FORMS[type(v)](v) for v in cells]  # csv_cell, inlined for speed
    except KeyError:
        return [csv_cell(v) for v in cells]  # raises TypeError naming the cell


GRANT_HEADER = header(GRANT_COLUMNS)
SUMMARY_HEADER = header(SUMMARY_COLUMNS)


def iter_grants_csv(rows: Iterable[GrantRow], tz: str, chunk_rows: int = 2000) -> Iterator[bytes]:
    """The per-grant CSV as UTF-8 byte chunks, written while the rows stream from the database."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write(BOM)
    writer.writerow(GRANT_HEADER)
    for n, g in enumerate(rows, start=1):
        writer.writerow(_row(grant_cells(g, tz)))
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
    return f"claim-{claim_scope_code(report)}-{report.data.month:%Y-%m}-grants.csv"


def summary_csv(report: ClaimReport) -> tuple[str, str, bytes]:
    """One row per canteen and business date, then the total, as ``(filename, mimetype, bytes)``."""
    buf = io.StringIO()
    buf.write(BOM)
    writer = csv.writer(buf)
    writer.writerow(SUMMARY_HEADER)
    writer.writerows(_row(cells) for cells in summary_rows(report))
    filename = f"claim-{claim_scope_code(report)}-{report.data.month:%Y-%m}-summary.csv"
    return filename, CSV, buf.getvalue().encode("utf-8")
