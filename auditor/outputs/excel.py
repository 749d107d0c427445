"""The Excel report for a billing reviewer, written with openpyxl in write-only mode.

openpyxl writes the frame of every sheet (styles, header rows, filters, conditional formats,
charts) and the small Summary and Guide; the table rows under the headers are streamed into
the file by `xlsx_rows`, which writes them ten times faster and holds no cell objects. No
value from a sheet becomes a formula (see `xlsx_rows`). Times are UTC (Excel has no time
zones), and every header that holds one says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from auditor.outputs.changes import violation_entries
from auditor.outputs.report import Report
from auditor.outputs.xlsx_rows import Body, body, save, text_cell
from auditor.text import minutes, parse_time

MONEY = '"$"#,##0.00;[Red]-"$"#,##0.00'
COUNT = "#,##0"
SEVERITY_COLOURS = {"high": "FFC7CE", "medium": "FFEB9C", "low": "E2EFDA"}
# Both colours set: Excel reads a conditional format's solid fill from its background colour.
FILLS = {
    severity: PatternFill("solid", start_color=colour, end_color=colour)
    for severity, colour in SEVERITY_COLOURS.items()
}
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_FONT = Font(bold=True, color="FFFFFF")


def write_report(path: Path, report: Report) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)  # a folder that cannot be, fails first
    book = Workbook(write_only=True)
    _summary(book, report)
    bodies = [
        _changes(book, report),
        _rows(book, report, "Rows added", lambda s: s.rows_added),
        _rows(book, report, "Rows removed", lambda s: s.rows_removed),
        _schema(book, report),
        _violations(book, report),
        _trend(book, report),
    ]
    _guide(book)
    save(book, bodies, path)
    return path


def _cell(
    sheet: Any,
    value: Any,
    fmt: str | None = None,
    fill: PatternFill | None = None,
    bold: bool = False,
) -> WriteOnlyCell:
    """A cell of the Summary or Guide, where a few dozen values carry their own style."""
    cell = text_cell(sheet, value) if isinstance(value, str) else WriteOnlyCell(sheet, value)
    if fmt:
        cell.number_format = fmt
    if fill is not None:
        cell.fill = fill
    if bold:
        cell.font = Font(bold=True)
    return cell


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
    sheet.row_dimensions[1].height = 30
    header = []
    for text in headers:
        cell = text_cell(sheet, text)
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
        line = (
            f"Sheet {versions.name} ({versions.sheet_id}): version {versions.old or '-'} -> "
            f"{versions.new or '-'}"
        )
        sheet.append([_cell(sheet, line)])
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
    if report.attribution is not None:
        done = report.attribution
        figures.append(
            (
                "Cells attributed",
                done.attributed,
                None,
                f"Of {done.candidates} changed cells of tracked columns, {done.asked} were "
                f"looked up in Smartsheet's cell history (a budget a run) and "
                f"{done.attributed} found: their 'Changed by' is the cell's editor; the "
                "others show the row's last modifier.",
            )
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


def _changes(book: Workbook, report: Report) -> Body:
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
        "Changed by",
        "Changed at (UTC)",
        "Attribution",
    ]
    widths = [14, 20, 14, 16, 22, 22, 22, 10, 16, 10, 12, 26, 20, 11]
    sheet = _sheet(book, "Changes", headers, widths)
    rows = change_rows(report)
    _filter(sheet, len(headers), len(rows))
    _colour_by_severity(sheet, "J", len(headers), len(rows), money_column="I")
    return body(sheet, rows, [None] * 8 + [MONEY])


def change_rows(report: Report) -> list[tuple]:
    """The Changes sheet's rows, in its columns' order."""
    names = {s.sheet_id: s.name for s in report.diff.sheets}
    return [
        (
            names.get(event.sheet_id, event.sheet_id),
            event.key,
            event.work_request,
            event.kind,
            event.column,
            event.old,
            event.new,
            event.delta,
            event.money_impact,
            event.severity,
            event.week_ending,
            event.modified_by,
            _parse_time(event.modified_at),
            event.attribution,
        )
        for event in report.events
    ]


def violation_rows(report: Report) -> list[tuple]:
    """The Violations sheet's rows, in its columns' order."""
    names = {s.sheet_id: s.name for s in report.diff.sheets}
    return [
        (
            names.get(sheet_id, sheet_id),
            status,
            violation.severity,
            violation.rule,
            violation.key,
            violation.column,
            violation.message,
        )
        for sheet_id, audit in report.violations.items()
        for status, violation in violation_entries(audit)
    ]


def _rows(book: Workbook, report: Report, title: str, pick: Any) -> Body:
    changes = [(s, change) for s in report.diff.sheets for change in pick(s)]
    columns: list[str] = []
    for _, change in changes:
        columns += [column for column in change.row if column not in columns]
    headers = ["Sheet", "Row key", *columns]
    sheet = _sheet(book, title, headers, [14, 20] + [16] * len(columns))
    rows = [
        (source.name, change.key, *(change.row.get(column) for column in columns))
        for source, change in changes
    ]
    _filter(sheet, len(headers), len(rows))
    return body(sheet, rows)


def _schema(book: Workbook, report: Report) -> Body:
    headers = ["Sheet", "Change", "Column", "Old title", "New title"]
    sheet = _sheet(book, "Schema changes", headers, [14, 16, 26, 26, 26])
    rows = []
    for source in report.diff.sheets:
        entries = [("column added", title, None, title) for title in source.columns_added]
        entries += [("column removed", title, title, None) for title in source.columns_removed]
        entries += [("column renamed", new, old, new) for old, new in source.columns_renamed]
        rows += [(source.name, *entry) for entry in entries]
    _filter(sheet, len(headers), len(rows))
    return body(sheet, rows)


def _violations(book: Workbook, report: Report) -> Body:
    headers = ["Sheet", "Status", "Severity", "Rule", "Row key", "Column", "Message"]
    sheet = _sheet(book, "Violations", headers, [14, 10, 10, 20, 20, 22, 80])
    rows = violation_rows(report)
    _filter(sheet, len(headers), len(rows))
    _colour_by_severity(sheet, "C", len(headers), len(rows), status_column="B")
    return body(sheet, rows)


def _trend(book: Workbook, report: Report) -> Body:
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
    rows = [(p.commit[:10], p.time, p.rows, p.billed, p.changes, p.open_violations) for p in points]
    trend = body(sheet, rows, [None, None, COUNT, MONEY, COUNT, COUNT])
    if not points:
        return trend
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
    return trend


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
        "money impact: red high, yellow medium, green low. 'Changed by/at' is who changed the "
        "cell where Attribution says 'cell' (from Smartsheet's cell history); where it says "
        "'row', it is the row's last modifier, who may have changed another cell of the row.",
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
    return f"{minutes(moment)} UTC"


def _parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None
