"""A workbook table declared once, as a list of columns, and written as a worksheet.

A `Table` names its columns (header, width, number format, how a line's value is read) and,
by header, the columns its severity colouring and its charts use. Everything else is
derived from that list: the header row, the widths, the filter, the column letters of the
conditional formats, the charts' ranges and where they stand. Moving, adding or dropping a
column is one edit to a table's declaration.

openpyxl writes each sheet's frame; the rows under the header are streamed by `xlsx_rows`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter
from typing import Any, Generic, TypeVar

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from auditor.outputs.changes import shown
from auditor.outputs.xlsx_rows import MONEY, Body, Money, body, text_cell
from auditor.text import money

T = TypeVar("T")

SEVERITY_COLOURS = {"high": "FFC7CE", "medium": "FFEB9C", "low": "E2EFDA"}
# Both colours set: Excel reads a conditional format's solid fill from its background colour.
FILLS = {
    severity: PatternFill("solid", start_color=colour, end_color=colour)
    for severity, colour in SEVERITY_COLOURS.items()
}
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_FONT = Font(bold=True, color="FFFFFF")
# Rows whose values set the columns' widths; the header's lines; the widest column.
SAMPLE, HEADER_LINES, WIDEST = 2_000, 2, 100
HEADER_HEIGHT = 30
NONE = "None in this pair"
"""What an empty table sheet says under its header."""
# A chart's size in centimetres, and the sheet rows it covers with the gap below it.
CHART_HEIGHT, CHART_WIDTH, CHART_ROWS = 8, 18, 17


@dataclass(frozen=True)
class Column(Generic[T]):
    """A column: its header, its least width in characters (it widens to its content, see
    `fitted`), how a line's value is read (a dotted attribute path such as `item.key`, or a
    function of the line), and the number format of its numbers (dates and times get
    theirs from `xlsx_rows`)."""

    header: str
    width: int
    value: str | Callable[[T], Any]
    fmt: str | None = None


@dataclass(frozen=True)
class Colouring:
    """Rows coloured by the severity in column `severity`; with `status`, only open
    violations (new or ongoing)."""

    severity: str
    status: str | None = None


@dataclass(frozen=True)
class Chart:
    """A chart of the table, one series a column in `series`, over the table's
    `categories` column."""

    kind: type[LineChart] | type[BarChart]
    title: str
    series: tuple[str, ...]
    axis: str | None = None
    from_zero: bool = False
    """The value axis starts at zero: a 1% dip drawn from $308,000 looks like a crash."""


@dataclass(frozen=True)
class Table(Generic[T]):
    """A table sheet: its title, its columns, and by header the columns its colouring and
    charts read. `filtered` puts a filter on the header row."""

    title: str
    columns: Sequence[Column[T]]
    colouring: Colouring | None = None
    filtered: bool = True
    categories: str | None = None
    charts: Sequence[Chart] = ()

    def number(self, header: str) -> int:
        """The column's number, 1 for A; a header the table lacks is a mistake in its
        declaration (KeyError)."""
        for number, column in enumerate(self.columns, start=1):
            if column.header == header:
                return number
        raise KeyError(f"{self.title} has no column {header!r}")

    def letter(self, header: str) -> str:
        return get_column_letter(self.number(header))

    def rows(self, lines: Iterable[T]) -> list[list[Any]]:
        """The table's rows, one a line, in its columns' order.

        The columns read by path are read by one `attrgetter` in one call a line, and the
        computed ones put in between: a call a cell took 7 times as long (30 ms for 10,000
        changes against 4 ms)."""
        paths = [column.value for column in self.columns if isinstance(column.value, str)]
        read = _reader(paths)
        computed = [
            (number, column.value)
            for number, column in enumerate(self.columns)
            if not isinstance(column.value, str)
        ]
        rows = []
        for line in lines:
            row = list(read(line))
            for number, compute in computed:
                row.insert(number, compute(line))
            rows.append(row)
        return rows


def _reader(paths: Sequence[str]) -> Callable[[Any], tuple[Any, ...]]:
    """A line's values at `paths`, always as a tuple (`attrgetter` of one path is not)."""
    if len(paths) > 1:
        return attrgetter(*paths)
    if paths:
        get = attrgetter(paths[0])
        return lambda line: (get(line),)
    return lambda line: ()


def new_sheet(book: Workbook, title: str) -> Any:
    """A worksheet that prints landscape, one page wide: readable on paper and as PDF."""
    sheet = book.create_sheet(title)
    sheet.page_setup.orientation = "landscape"
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    return sheet


def set_widths(sheet: Any, widths: Sequence[int]) -> None:
    for number, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(number)].width = width


def write_table(book: Workbook, table: Table[T], lines: Iterable[T]) -> Body:
    """The table's sheet with its header, filter, colouring and charts; its rows are
    returned to be streamed when the workbook is saved. An empty table says so."""
    sheet = new_sheet(book, table.title)
    rows = table.rows(lines)
    set_widths(sheet, fitted(table, rows))
    sheet.freeze_panes = "A2"
    sheet.row_dimensions[1].height = HEADER_HEIGHT
    sheet.append([_header(sheet, column.header) for column in table.columns])
    if not rows:
        return body(sheet, [[NONE]])
    if table.filtered:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{len(rows) + 1}"
    if table.colouring:
        _colour(sheet, table, table.colouring, len(rows))
    for place, chart in enumerate(table.charts):
        _chart(sheet, table, chart, place, len(rows))
    return body(sheet, rows, [column.fmt for column in table.columns])


def fitted(table: Table[Any], rows: Sequence[Sequence[Any]]) -> list[int]:
    """Each column's width: its longest value in the first rows shows whole on one line,
    and its header on at most two lines, never cut inside a word; at least the declared
    width, at most `WIDEST`."""
    widths = []
    for number, column in enumerate(table.columns):
        longest = max(column.header.split(), key=len, default="")
        header = max(shown_width(longest), shown_width(column.header) // HEADER_LINES + 3)
        content = max((shown_width(row[number], column.fmt) for row in rows[:SAMPLE]), default=0)
        widths.append(min(WIDEST, max(column.width, header, content)))
    return widths


def shown_width(value: Any, fmt: str | None = None) -> int:
    """The width a value takes as the workbook shows it, in characters of the default font
    (proportional: capitals and digits run wider than the average letter, hence the
    margin)."""
    if value is None:
        return 0
    if isinstance(value, bool):
        text = "Yes"
    elif isinstance(value, dt.datetime):
        text = "2026-11-23 08:00"
    elif isinstance(value, dt.date):
        text = "2026-11-23"
    elif isinstance(value, Money) or (fmt == MONEY and isinstance(value, int | float | Decimal)):
        text = money(value) + " "
    elif isinstance(value, int | float | Decimal):
        text = f"{value:,}"
    else:
        text = value if isinstance(value, str) else shown(value)
    return math.ceil(len(text) * 1.15) + 3


def _header(sheet: Any, text: str) -> Any:
    cell = text_cell(sheet, text)
    cell.font = HEADER_FONT
    cell.fill = HEADER_FILL
    cell.alignment = Alignment(wrap_text=True, vertical="center")
    return cell


def _colour(sheet: Any, table: Table[Any], colouring: Colouring, rows: int) -> None:
    """By conditional formatting: one rule per severity instead of a style on every cell
    (which costs most of the writing time)."""
    area = f"A2:{get_column_letter(len(table.columns))}{rows + 1}"
    for severity, fill in FILLS.items():
        condition = f'${table.letter(colouring.severity)}2="{severity}"'
        if colouring.status:
            status = f"${table.letter(colouring.status)}2"
            condition = f'AND({condition},OR({status}="new",{status}="ongoing"))'
        sheet.conditional_formatting.add(area, FormulaRule(formula=[condition], fill=fill))


def _chart(sheet: Any, table: Table[Any], spec: Chart, place: int, rows: int) -> None:
    """The chart `place`-th from the top, in a column of charts right of the table."""
    assert table.categories is not None, f"{table.title} charts with no categories column"
    last = rows + 1
    chart = spec.kind()
    chart.title, chart.height, chart.width = spec.title, CHART_HEIGHT, CHART_WIDTH
    if spec.axis:
        chart.y_axis.title = spec.axis
    if spec.from_zero:
        chart.y_axis.scaling.min = 0
    for header in spec.series:
        number = table.number(header)
        chart.add_data(
            Reference(sheet, min_col=number, min_row=1, max_row=last), titles_from_data=True
        )
    number = table.number(table.categories)
    chart.set_categories(Reference(sheet, min_col=number, min_row=2, max_row=last))
    if isinstance(chart, LineChart):
        # Straight lines between snapshots: a smoothed curve shows values no snapshot held.
        for series in chart.series:
            series.smooth = False
    anchor = get_column_letter(len(table.columns) + 2)
    sheet.add_chart(chart, f"{anchor}{2 + CHART_ROWS * place}")
