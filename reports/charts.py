"""Charts drawn with reportlab.graphics: the hourly sales of a day (in the daily PDF) and
the subsidies of each day of a month (in the claim PDF, and as SVG for the accountant's
page — server-side, so the page needs no script)."""
from __future__ import annotations

from typing import Sequence

from reportlab.graphics import renderSVG
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.units import mm

BAR = colors.HexColor("#c0392b")
BAR2 = colors.HexColor("#e6a23c")


def _nice_top(value: int) -> int:
    """A round axis maximum at or above ``value`` (1, 2 or 5 times a power of ten)."""
    value = max(value, 1)
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return m * step
        step *= 10


def _chart(labels: Sequence[str], series: Sequence[Sequence[float]], font: str, width: float, height: float,
           unit: str, fills: Sequence) -> Drawing:
    drawing = Drawing(width, height)
    # Without this the drawing starts in Helvetica, which the PDF would then name unembedded.
    drawing.initialFontName = font
    chart = VerticalBarChart()
    chart.x, chart.y = 34, 22
    chart.width, chart.height = width - 44, height - 36
    chart.data = [list(s) for s in series] if any(any(s) for s in series) else [[0] * len(labels)]
    chart.categoryAxis.categoryNames = list(labels)
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 6.5
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 6.5
    chart.valueAxis.valueMin = 0
    top = _nice_top(int(max((max(s) for s in series if s), default=0) or 0))
    chart.valueAxis.valueMax = top
    chart.valueAxis.valueStep = max(top / 5, 1)
    chart.valueAxis.gridStrokeColor = colors.HexColor("#dddddd")
    chart.valueAxis.visibleGrid = True
    chart.barSpacing = 0.5
    chart.groupSpacing = 3
    for i, fill in enumerate(fills[:len(chart.data)]):
        chart.bars[i].fillColor = fill
        chart.bars[i].strokeColor = None
    drawing.add(chart)
    drawing.add(String(2, height - 10, unit, fontName=font, fontSize=7, fillColor=colors.HexColor("#555555")))
    return drawing


def hourly_sales_chart(hours: Sequence[tuple[int, int, int]], font: str, width: float = 180 * mm,
                       height: float = 55 * mm) -> Drawing:
    """Bars of completed sales per local hour; ``hours`` is ``(hour, sales, gross_fen)``
    rows.  The axis runs from the first to the last trading hour (at least 06–20)."""
    counts = {h: n for h, n, _ in hours}
    first = min([6, *counts])
    last = max([20, *counts])
    labels = [f"{h:02d}" for h in range(first, last + 1)]
    return _chart(labels, [[counts.get(h, 0) for h in range(first, last + 1)]], font, width, height,
                  "笔数 / 时", [BAR])


def daily_subsidy_chart(days: Sequence[tuple[int, int, int]], days_in_month: int, font: str,
                        width: float = 180 * mm, height: float = 60 * mm) -> Drawing:
    """Stacked view of a month: age-discount and free-meal subsidy per day in yuan;
    ``days`` is ``(day of month, age_fen, free_fen)`` rows."""
    # Bar heights only: the chart draws yuan as floats, nothing is added up from them.
    by_day = {d: (a, f) for d, a, f in days}
    labels = [str(d) for d in range(1, days_in_month + 1)]
    age = [by_day.get(d, (0, 0))[0] / 100 for d in range(1, days_in_month + 1)]
    free = [by_day.get(d, (0, 0))[1] / 100 for d in range(1, days_in_month + 1)]
    return _chart(labels, [age, free], font, width, height, "元 / 日", [BAR, BAR2])


def svg(drawing: Drawing) -> str:
    """The drawing as an SVG document (text)."""
    return renderSVG.drawToString(drawing)
