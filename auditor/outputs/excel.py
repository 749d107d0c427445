"""The Excel report for a billing reviewer, written with openpyxl in write-only mode.

Write-only mode streams rows to the file instead of holding a cell object per value, so a
report of 10,000 changes costs little memory. No value from a sheet becomes a formula: text
that starts with `=`, `+`, `-` or `@` is written as a string with Excel's quote prefix.
Times are UTC (Excel has no time zones), and every header that holds one says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from copy import copy
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from auditor.audit.model import Event, Violations
from auditor.diff.model import Diff
from auditor.outputs.changes import shown, violation_entries

MONEY = '"$"#,##0.00;[Red]-"$"#,##0.00'
DATE = "yyyy-mm-dd"
DATETIME = "yyyy-mm-dd hh:mm"
SEVERITY_COLOURS = {"high": "FFC7CE", "medium": "FFEB9C", "low": "E2EFDA"}
# Both colours set: Excel reads a conditional format's solid fill from its background colour.
FILLS = {
    severity: PatternFill("solid", start_color=colour, end_color=colour)
    for severity, colour in SEVERITY_COLOURS.items()
}
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_FONT = Font(bold=True, color="FFFFFF")
FORMULA_START = ("=", "+", "-", "@")


@dataclass(frozen=True)
class TrendPoint:
    commit: str
    time: dt.datetime
    rows: int
    billed: Decimal | None
    changes: int
    open_violations: int


@dataclass(frozen=True)
class SheetVersions:
    sheet_id: str
    name: str
    old: int | None
    new: int | None


@dataclass
class Report:
    diff: Diff
    violations: dict[str, Violations]
    events: list[Event]
    sheets: list[SheetVersions]
    trend: list[TrendPoint]
    thresholds: tuple[Decimal, Decimal]


def write_report(path: Path, report: Report) -> Path:
    book = Workbook(write_only=True)
    _summary(book, report)
    _changes(book, report)
    _rows(book, report, "Rows added", lambda s: s.rows_added)
    _rows(book, report, "Rows removed", lambda s: s.rows_removed)
    _schema(book, report)
    _violations(book, report)
    _trend(book, report)
    _guide(book)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def _cell(
    sheet: Any,
    value: Any,
    fmt: str | None = None,
    fill: PatternFill | None = None,
    bold: bool = False,
) -> Any:
    """A value for `append`: the plain value where it needs no style (most of them, and
    far cheaper to write), else a styled cell."""
    if isinstance(value, list | dict):
        value = shown(value)
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    formula_like = isinstance(value, str) and value.startswith(FORMULA_START)
    if fmt and (value is None or isinstance(value, str | bool)):
        fmt = None
    if not (formula_like or fmt or fill is not None or bold):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    if formula_like:
        cell.data_type = "s"
    cell._style = copy(_style(sheet, fmt, fill, bold, formula_like))
    return cell


_STYLES: WeakKeyDictionary[Workbook, dict[tuple, Any]] = WeakKeyDictionary()


def _style(sheet: Any, fmt: str | None, fill: PatternFill | None, bold: bool, quote: bool) -> Any:
    """The style array of a combination, registered with the workbook once: assigning a fill
    or format to each cell makes openpyxl hash it each time (most of the writing time)."""
    styles = _STYLES.setdefault(sheet.parent, {})
    key = (fmt, id(fill), bold, quote)
    if key not in styles:
        template = WriteOnlyCell(sheet)
        if fmt:
            template.number_format = fmt
        if fill is not None:
            template.fill = fill
        if bold:
            template.font = Font(bold=True)
        if quote:
            template.quotePrefix = True
        styles[key] = template._style
    return styles[key]


def _new(book: Workbook, title: str) -> Any:
    """A worksheet that prints landscape, one page wide: readable on paper and as PDF."""
    sheet = book.create_sheet(title)
    sheet.page_setup.orientation = "landscape"
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    return sheet


def _sheet(book: Workbook, title: str, headers: Sequence[str], widths: Sequence[int]) -> Any:
    sheet = _new(book, title)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    header = []
    for text in headers:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        header.append(cell)
    sheet.append(header)
    return sheet


def _colour_by_severity(
    sheet: Any,
    column: str,
    columns: int,
    rows: int,
    money_column: str | None = None,
    status_column: str | None = None,
) -> None:
    """Rows coloured by their severity cell, by conditional formatting: one rule per
    severity instead of a style on every cell (which costs most of the writing time)."""
    if not rows:
        return
    area = f"A2:{get_column_letter(columns)}{rows + 1}"
    for severity, fill in FILLS.items():
        condition = f'${column}2="{severity}"'
        if money_column:
            condition = f"AND({condition},${money_column}2<>0)"
        if status_column:
            condition = f'AND({condition},OR(${status_column}2="new",${status_column}2="ongoing"))'
        sheet.conditional_formatting.add(area, FormulaRule(formula=[condition], fill=fill))


def _filter(sheet: Any, columns: int, rows: int) -> None:
    sheet.auto_filter.ref = f"A1:{get_column_letter(columns)}{rows + 1}"


def _summary(book: Workbook, report: Report) -> None:
    diff, high, medium = report.diff, *report.thresholds
    sheet = _new(book, "Summary")
    for column, width in (("A", 30), ("B", 16), ("C", 80)):
        sheet.column_dimensions[column].width = width
    title = WriteOnlyCell(sheet, value="Billing audit report")
    title.font = Font(bold=True, size=16)
    sheet.append([title])
    sheet.append([f"From snapshot {diff.old.commit[:10]}, fetched {_utc(diff.old.time)}"])
    sheet.append([f"To snapshot {diff.new.commit[:10]}, fetched {_utc(diff.new.time)}"])
    for versions in report.sheets:
        sheet.append(
            [
                f"Sheet {versions.name} ({versions.sheet_id}): version {versions.old or '-'} -> "
                f"{versions.new or '-'}"
            ]
        )
    sheet.append([])
    sheet.append(
        [
            _cell(sheet, "Figure", bold=True),
            _cell(sheet, "Value", bold=True),
            _cell(sheet, "What it means", bold=True),
        ]
    )
    changed_rows = {(e.sheet_id, e.key) for e in report.events if e.kind == "cell changed"}
    impact = sum((e.money_impact for e in report.events if e.money_impact is not None), Decimal(0))
    figures: list[tuple[str, Any, str | None, str]] = [
        (
            "Rows added",
            sum(len(s.rows_added) for s in diff.sheets),
            None,
            "Rows present in the later snapshot and not in the earlier one.",
        ),
        (
            "Rows removed",
            sum(len(s.rows_removed) for s in diff.sheets),
            None,
            "Rows present in the earlier snapshot and gone from the later one.",
        ),
        (
            "Rows changed",
            len(changed_rows),
            None,
            "Rows in both snapshots with at least one changed cell.",
        ),
        (
            "Cells changed",
            sum(len(s.cells_changed) for s in diff.sheets),
            None,
            "Cells whose value differs; the Changes sheet lists each one.",
        ),
        (
            "Net money impact (USD)",
            impact,
            MONEY,
            "Sum of price changes, plus prices of added rows, minus prices of removed rows.",
        ),
    ]
    for status in ("new", "resolved", "ongoing", "waived"):
        for severity in ("high", "medium", "low"):
            count = sum(
                1
                for audit in report.violations.values()
                for violation in getattr(audit, status)
                if violation.severity == severity
            )
            figures.append(
                (f"Violations {status}, {severity}", count, None, _VIOLATION_TEXT[status])
            )
    for name, value, fmt, text in figures:
        severity = name.rsplit(", ", 1)[-1] if name.startswith("Violations new") else None
        fill = FILLS.get(severity) if severity and value else None
        sheet.append(
            [_cell(sheet, name, fill=fill), _cell(sheet, value, fmt, fill), _cell(sheet, text)]
        )
    sheet.append([])
    sheet.append(
        [f"Severity: high over ${high:,}, medium over ${medium:,} of money impact; times are UTC."]
    )


_VIOLATION_TEXT = {
    "new": "Rule violations that hold in the later snapshot and did not in the earlier one.",
    "resolved": "Violations of the earlier snapshot that no longer hold.",
    "ongoing": "Violations that hold in both snapshots (not yet fixed).",
    "waived": "Violations covered by an approved waiver (waivers.csv); not counted as open.",
}


def _changes(book: Workbook, report: Report) -> None:
    headers = [
        "Sheet",
        "Row key",
        "Work request",
        "Change",
        "Column",
        "Old",
        "New",
        "Delta",
        "Money impact (USD)",
        "Severity",
        "Week ending",
        "Row last modified by",
        "Row last modified at (UTC)",
    ]
    sheet = _sheet(book, "Changes", headers, [14, 20, 14, 16, 22, 22, 22, 10, 16, 10, 12, 26, 20])
    names = {s.sheet_id: s.name for s in report.diff.sheets}
    for event in report.events:
        values = [
            (names.get(event.sheet_id, event.sheet_id), None),
            (event.key, None),
            (event.work_request, None),
            (event.kind, None),
            (event.column, None),
            (event.old, None),
            (event.new, None),
            (event.delta, None),
            (event.money_impact, MONEY),
            (event.severity, None),
            (event.week_ending, DATE),
            (event.modified_by, None),
            (_parse_time(event.modified_at), DATETIME),
        ]
        sheet.append([_cell(sheet, value, fmt) for value, fmt in values])
    _filter(sheet, len(headers), len(report.events))
    _colour_by_severity(sheet, "J", len(headers), len(report.events), money_column="I")


def _rows(book: Workbook, report: Report, title: str, pick: Any) -> None:
    changes = [(s, change) for s in report.diff.sheets for change in pick(s)]
    columns: list[str] = []
    for _, change in changes:
        columns += [column for column in change.row if column not in columns]
    headers = ["Sheet", "Row key", *columns]
    sheet = _sheet(book, title, headers, [14, 20] + [16] * len(columns))
    for source, change in changes:
        sheet.append(
            [_cell(sheet, source.name), _cell(sheet, change.key)]
            + [_cell(sheet, change.row.get(column)) for column in columns]
        )
    _filter(sheet, len(headers), len(changes))


def _schema(book: Workbook, report: Report) -> None:
    headers = ["Sheet", "Change", "Column", "Old title", "New title"]
    sheet = _sheet(book, "Schema changes", headers, [14, 16, 26, 26, 26])
    count = 0
    for source in report.diff.sheets:
        entries = [("column added", title, None, title) for title in source.columns_added]
        entries += [("column removed", title, title, None) for title in source.columns_removed]
        entries += [("column renamed", new, old, new) for old, new in source.columns_renamed]
        for entry in entries:
            sheet.append([_cell(sheet, value) for value in (source.name, *entry)])
            count += 1
    _filter(sheet, len(headers), count)


def _violations(book: Workbook, report: Report) -> None:
    headers = ["Sheet", "Status", "Severity", "Rule", "Row key", "Column", "Message"]
    sheet = _sheet(book, "Violations", headers, [14, 10, 10, 20, 20, 22, 80])
    names = {s.sheet_id: s.name for s in report.diff.sheets}
    count = 0
    for sheet_id, audit in report.violations.items():
        for status, violation in violation_entries(audit):
            values = (
                names.get(sheet_id, sheet_id),
                status,
                violation.severity,
                violation.rule,
                violation.key,
                violation.column,
                violation.message,
            )
            sheet.append([_cell(sheet, value) for value in values])
            count += 1
    _filter(sheet, len(headers), count)
    _colour_by_severity(sheet, "C", len(headers), count, status_column="B")


def _trend(book: Workbook, report: Report) -> None:
    headers = [
        "Snapshot",
        "Fetched (UTC)",
        "Rows",
        "Total billed (USD)",
        "Changes",
        "Open violations",
    ]
    sheet = _sheet(book, "Trend", headers, [12, 18, 10, 18, 10, 16])
    points = list(reversed(report.trend))
    for point in points:
        sheet.append(
            [
                _cell(sheet, point.commit[:10]),
                _cell(sheet, point.time, DATETIME),
                _cell(sheet, point.rows, "#,##0"),
                _cell(sheet, point.billed, MONEY),
                _cell(sheet, point.changes, "#,##0"),
                _cell(sheet, point.open_violations, "#,##0"),
            ]
        )
    if not points:
        return
    last = len(points) + 1
    categories = Reference(sheet, min_col=2, min_row=2, max_row=last)
    billed = LineChart()
    billed.title, billed.y_axis.title, billed.height, billed.width = "Total billed", "USD", 8, 18
    billed.add_data(Reference(sheet, min_col=4, min_row=1, max_row=last), titles_from_data=True)
    billed.set_categories(categories)
    rows = LineChart()
    rows.title, rows.y_axis.title, rows.height, rows.width = "Rows", "rows", 8, 18
    rows.add_data(Reference(sheet, min_col=3, min_row=1, max_row=last), titles_from_data=True)
    rows.set_categories(categories)
    bars = BarChart()
    bars.title, bars.height, bars.width = "Changes and open violations", 8, 18
    bars.add_data(
        Reference(sheet, min_col=5, max_col=6, min_row=1, max_row=last), titles_from_data=True
    )
    bars.set_categories(categories)
    for chart in (billed, rows):
        for series in chart.series:
            series.smooth = False
    sheet.add_chart(billed, "H2")
    sheet.add_chart(rows, "H19")
    sheet.add_chart(bars, "H36")


GUIDE = [
    (
        "Summary",
        "What was compared (the two snapshots, their fetch times and sheet versions) "
        "and the key figures, each explained beside it.",
    ),
    (
        "Changes",
        "One row per change: a changed cell, an added or removed row, a changed "
        "formula or column. Delta is new minus old where both are numbers; money impact counts "
        "the money column (Units Total Price) only. Rows are coloured by severity where there is "
        "money impact: red high, yellow medium, green low. 'Row last modified by/at' is the "
        "row's last modifier in Smartsheet, not necessarily who changed this cell.",
    ),
    ("Rows added / Rows removed", "The whole rows, one per line, with every column."),
    ("Schema changes", "Columns added, removed or renamed (renames are detected by column id)."),
    (
        "Violations",
        "Billing-rule violations: new (holds now, did not before), resolved, "
        "ongoing (still open) and waived (covered by waivers.csv).",
    ),
    (
        "Trend",
        "The last snapshots: row count, total billed, changes and open violations, "
        "read from the snapshots' summaries and commit trailers.",
    ),
    (
        "Rules",
        "closed-period-edit: a row of a closed billing week differs from what was "
        "billed (the last snapshot before the week closed), or was added or removed after. "
        "price-mismatch: the price differs from quantity x unit price of the rate table. "
        "missing-required: Work Request # or the week-ending date is empty. duplicate-line: two "
        "rows with the same work request, CU, pole, week and quantity. invalid-date: a date "
        "column holds something else, or a date over a year ahead. negative-amount: a quantity "
        "or price below zero. formula-overwritten: a constant where the column's cells hold "
        "formulas.",
    ),
    ("Times", "Every time is UTC; Excel stores them without a zone."),
]


def _guide(book: Workbook) -> None:
    sheet = _new(book, "Guide")
    sheet.column_dimensions["A"].width = 26
    sheet.column_dimensions["B"].width = 110
    for name, text in GUIDE:
        cell = WriteOnlyCell(sheet, value=text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.append([_cell(sheet, name, bold=True), cell])


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
