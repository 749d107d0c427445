"""The Excel report for a billing reviewer, written with openpyxl in write-only mode.

Each table sheet is declared once below, as a `Table` of columns (see `xlsx_tables`); the
small Summary and Guide are written cell by cell, the Guide from the configuration (the
money and required columns, the waivers file). The table rows under the headers are
streamed into the file by `xlsx_rows`, which writes them ten times faster than openpyxl's
cells and holds no cell objects. No value from a sheet becomes a formula (see
`xlsx_rows`). Times are UTC (Excel has no time zones), and every header that holds one
says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Any, Generic, TypeVar

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, LineChart
from openpyxl.styles import Alignment, Font, PatternFill

from auditor.audit.events import net_impact
from auditor.audit.model import Event, Violation, Violations
from auditor.config import Config
from auditor.diff.model import Diff, RowChange, SheetDiff
from auditor.outputs.changes import violation_entries
from auditor.outputs.report import Report, TrendPoint
from auditor.outputs.xlsx_rows import Body, save, text_cell
from auditor.outputs.xlsx_tables import (
    FILLS,
    Chart,
    Colouring,
    Column,
    Table,
    new_sheet,
    set_widths,
    write_table,
)
from auditor.text import minutes, parse_time

MONEY = '"$"#,##0.00;[Red]-"$"#,##0.00'
COUNT = "#,##0"
T = TypeVar("T")


@dataclass(frozen=True)
class InSheet(Generic[T]):
    """A line of a table: what it lists, and the name of the sheet it was found in."""

    sheet: str
    item: T


@dataclass(frozen=True)
class SchemaChange:
    """A line of the Schema changes sheet: a column's title before and after (None where
    it was added or removed)."""

    sheet: str
    change: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class Listed(InSheet[Violation]):
    """A line of the Violations sheet: a violation, and its status in the pair."""

    status: str


# Columns that several tables share, declared once.
SHEET = Column("Sheet", 14, "sheet")
ROW_KEY = Column("Row key", 20, "item.key")
COLUMN = Column("Column", 22, "item.column")
SEVERITY = Column("Severity", 10, "item.severity")

CHANGES: Table[InSheet[Event]] = Table(
    "Changes",
    [
        SHEET,
        ROW_KEY,
        Column("Work request", 14, "item.work_request"),
        Column("Change", 16, "item.kind"),
        COLUMN,
        Column("Old", 22, "item.old"),
        Column("New", 22, "item.new"),
        Column("Delta", 10, "item.delta"),
        Column("Money impact (USD)", 16, "item.money_impact", MONEY),
        SEVERITY,
        Column("Week ending", 12, "item.week_ending"),
        Column("Changed by", 26, "item.modified_by"),
        Column("Changed at (UTC)", 20, lambda line: _parse_time(line.item.modified_at)),
        Column("Attribution", 11, "item.attribution"),
    ],
    colouring=Colouring(severity="Severity", money="Money impact (USD)"),
)

SCHEMA: Table[SchemaChange] = Table(
    "Schema changes",
    [
        SHEET,
        Column("Change", 16, "change"),
        Column("Column", 26, lambda line: line.old if line.new is None else line.new),
        Column("Old title", 26, "old"),
        Column("New title", 26, "new"),
    ],
)

VIOLATIONS: Table[Listed] = Table(
    "Violations",
    [
        SHEET,
        Column("Status", 10, "status"),
        SEVERITY,
        Column("Rule", 20, "item.rule"),
        ROW_KEY,
        COLUMN,
        Column("Message", 80, "item.message"),
    ],
    colouring=Colouring(severity="Severity", status="Status"),
)

# Not filtered: a filter would hide snapshots from the charts beside the table.
TREND: Table[TrendPoint] = Table(
    "Trend",
    [
        Column("Snapshot", 12, lambda point: point.commit[:10]),
        Column("Fetched (UTC)", 18, "time"),
        Column("Rows", 10, "rows", COUNT),
        Column("Total billed (USD)", 18, "billed", MONEY),
        Column("Changes", 10, "changes", COUNT),
        Column("Open violations", 16, "open_violations", COUNT),
    ],
    filtered=False,
    categories="Fetched (UTC)",
    charts=[
        Chart(LineChart, "Total billed", ("Total billed (USD)",), axis="USD"),
        Chart(LineChart, "Rows", ("Rows",), axis="rows"),
        Chart(BarChart, "Changes and open violations", ("Changes", "Open violations")),
    ],
)


def write_report(path: Path, report: Report) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)  # a folder that cannot be, fails first
    book = Workbook(write_only=True)
    _summary(book, report)
    sheets = report.diff.sheets
    bodies = [
        write_table(book, CHANGES, _changes(report)),
        _whole_rows(book, "Rows added", sheets, attrgetter("rows_added")),
        _whole_rows(book, "Rows removed", sheets, attrgetter("rows_removed")),
        write_table(book, SCHEMA, _schema_changes(sheets)),
        write_table(book, VIOLATIONS, _listed(report)),
        write_table(book, TREND, reversed(report.trend)),
    ]
    _guide(book, report.settings.config)
    save(book, bodies, path)
    return path


def change_rows(report: Report) -> list[tuple[Any, ...]]:
    """The Changes sheet's rows, in its columns' order."""
    return CHANGES.rows(_changes(report))


def violation_rows(report: Report) -> list[tuple[Any, ...]]:
    """The Violations sheet's rows, in its columns' order."""
    return VIOLATIONS.rows(_listed(report))


def _changes(report: Report) -> list[InSheet[Event]]:
    names = {s.sheet_id: s.name for s in report.diff.sheets}
    return [InSheet(names.get(event.sheet_id, event.sheet_id), event) for event in report.events]


def _listed(report: Report) -> list[Listed]:
    names = {s.sheet_id: s.name for s in report.diff.sheets}
    return [
        Listed(names.get(sheet_id, sheet_id), violation, status)
        for sheet_id, audit in report.violations.items()
        for status, violation in violation_entries(audit)
    ]


def _schema_changes(sheets: Sequence[SheetDiff]) -> list[SchemaChange]:
    lines = []
    for source in sheets:
        name = source.name
        lines += [SchemaChange(name, "column added", None, t) for t in source.columns_added]
        lines += [SchemaChange(name, "column removed", t, None) for t in source.columns_removed]
        lines += [SchemaChange(name, "column renamed", *pair) for pair in source.columns_renamed]
    return lines


def _whole_rows(
    book: Workbook,
    title: str,
    sheets: Sequence[SheetDiff],
    pick: Callable[[SheetDiff], list[RowChange]],
) -> Body:
    """Rows added or removed, with every column any of them has, in the order first seen."""
    lines = [InSheet(sheet.name, change) for sheet in sheets for change in pick(sheet)]
    names = dict.fromkeys(name for line in lines for name in line.item.row)
    columns = [Column(name, 16, _cell_of(name)) for name in names]
    table = Table(title, [SHEET, ROW_KEY, *columns])
    return write_table(book, table, lines)


def _cell_of(column: str) -> Callable[[InSheet[RowChange]], Any]:
    return lambda line: line.item.row.get(column)


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


def _summary(book: Workbook, report: Report) -> None:
    sheet = new_sheet(book, "Summary")
    set_widths(sheet, [30, 16, 80])
    _compared(sheet, report)
    sheet.append([])
    sheet.append([_cell(sheet, text, bold=True) for text in ("Figure", "Value", "What it means")])
    figures = [
        *_change_figures(sheet, report.diff, report.events),
        *_violation_figures(sheet, report.violations.values(), report.settings.config),
    ]
    if report.attribution is not None:
        done = report.attribution
        text = (
            f"Of {done.candidates} changed cells of tracked columns, {done.asked} were looked "
            f"up in Smartsheet's cell history (a budget a run) and {done.attributed} found: "
            "their 'Changed by' is the cell's editor; the others show the row's last modifier."
        )
        figures.append(_figure(sheet, "Cells attributed", done.attributed, text))
    for figure in figures:
        sheet.append(figure)
    sheet.append([])
    high, medium = report.settings.high, report.settings.medium
    sheet.append(
        [f"Severity: high over ${high:,}, medium over ${medium:,} of money impact; times are UTC."]
    )


def _compared(sheet: Any, report: Report) -> None:
    """The title, and what was compared: the two snapshots and each sheet's versions."""
    title = WriteOnlyCell(sheet, value="Billing audit report")
    title.font = Font(bold=True, size=16)
    sheet.append([title])
    old, new = report.diff.old, report.diff.new
    sheet.append([f"From snapshot {old.commit[:10]}, fetched {_utc(old.time)}"])
    sheet.append([f"To snapshot {new.commit[:10]}, fetched {_utc(new.time)}"])
    for versions in report.sheets:
        line = (
            f"Sheet {versions.name} ({versions.sheet_id}): version {versions.old or '-'} -> "
            f"{versions.new or '-'}"
        )
        sheet.append([_cell(sheet, line)])


FigureRow = list[WriteOnlyCell]


def _figure(
    sheet: Any,
    name: str,
    value: Any,
    text: str,
    fmt: str | None = None,
    fill: PatternFill | None = None,
) -> FigureRow:
    """A line of the Summary's figures: its name, its value and what it means."""
    return [_cell(sheet, name, fill=fill), _cell(sheet, value, fmt, fill), _cell(sheet, text)]


def _change_figures(sheet: Any, diff: Diff, events: list[Event]) -> list[FigureRow]:
    changed_rows = {(e.sheet_id, e.key) for e in events if e.kind == "cell changed"}
    added = sum(len(s.rows_added) for s in diff.sheets)
    removed = sum(len(s.rows_removed) for s in diff.sheets)
    cells = sum(len(s.cells_changed) for s in diff.sheets)
    return [
        _figure(
            sheet,
            "Rows added",
            added,
            "Rows present in the later snapshot and not in the earlier one.",
        ),
        _figure(
            sheet,
            "Rows removed",
            removed,
            "Rows present in the earlier snapshot and gone from the later one.",
        ),
        _figure(
            sheet,
            "Rows changed",
            len(changed_rows),
            "Rows in both snapshots with at least one changed cell.",
        ),
        _figure(
            sheet,
            "Cells changed",
            cells,
            "Cells whose value differs; the Changes sheet lists each one.",
        ),
        _figure(
            sheet,
            "Net money impact (USD)",
            net_impact(events),
            "Sum of price changes, plus prices of added rows, minus prices of removed rows.",
            MONEY,
        ),
    ]


def _violation_figures(
    sheet: Any, audits: Collection[Violations], config: Config
) -> list[FigureRow]:
    """A count per status and severity; new ones coloured by severity where there are any."""
    meaning = {
        "new": "Rule violations that hold in the later snapshot and did not in the earlier one.",
        "resolved": "Violations of the earlier snapshot that no longer hold.",
        "ongoing": "Violations that hold in both snapshots (not yet fixed).",
        "waived": f"Violations covered by an approved waiver ({config.waivers}); not counted "
        "as open.",
    }
    figures = []
    for status, text in meaning.items():
        for severity in ("high", "medium", "low"):
            count = sum(
                1
                for audit in audits
                for violation in getattr(audit, status)
                if violation.severity == severity
            )
            fill = FILLS[severity] if status == "new" and count else None
            figures.append(
                _figure(sheet, f"Violations {status}, {severity}", count, text, fill=fill)
            )
    return figures


def _guide(book: Workbook, config: Config) -> None:
    sheet = new_sheet(book, "Guide")
    set_widths(sheet, [26, 110])
    for name, text in _guide_text(config).items():
        cell = _cell(sheet, text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.append([_cell(sheet, name, bold=True), cell])


def _guide_text(config: Config) -> dict[str, str]:
    """What each sheet shows and what each rule means, in the configuration's terms."""
    money = config.money_columns
    counted = (
        f"the money {'column' if len(money) == 1 else 'columns'} ({', '.join(money)}) only"
        if money
        else "no column (no money column is configured)"
    )
    return {
        "Summary": "What was compared (the two snapshots, their fetch times and sheet "
        "versions) and the key figures, each explained beside it.",
        "Changes": "One row per change: a changed cell, an added or removed row, a changed "
        "formula or column. Delta is new minus old where both are numbers; money impact "
        f"counts {counted}. Rows are coloured by severity where there is money impact: red "
        "high, yellow medium, green low. 'Changed by/at' is who changed the cell where "
        "Attribution says 'cell' (from Smartsheet's cell history); where it says 'row', it "
        "is the row's last modifier, who may have changed another cell of the row.",
        "Rows added / Rows removed": "The whole rows, one per line, with every column.",
        "Schema changes": "Columns added, removed or renamed (renames are detected by column id).",
        "Violations": "Billing-rule violations: new (holds now, did not before), resolved, "
        f"ongoing (still open) and waived (covered by {config.waivers}).",
        "Trend": "The last snapshots: row count, total billed, changes and open violations, "
        "read from the snapshots' summaries and commit trailers.",
        "Rules": _rules_text(config),
        "Times": "Every time is UTC; Excel stores them without a zone.",
    }


def _rules_text(config: Config) -> str:
    """The rules in a paragraph; columns with a role in the rules are called by the role
    ("the week-ending date"), the others by their configured names."""
    required = _either(config.required_columns, {config.week_column: "the week-ending date"})
    amounts = _either(
        config.amount_columns, {config.quantity_column: "quantity", config.price_column: "price"}
    )
    return (
        "closed-period-edit: a row of a closed billing week differs from what was "
        "billed (the last snapshot before the week closed), or was added or removed after. "
        "price-mismatch: the price differs from quantity x unit price of the rate table. "
        f"missing-required: {required} is empty. duplicate-line: two "
        "rows with the same work request, CU, pole, week and quantity. invalid-date: a date "
        "column holds something else, or a date over a year ahead. negative-amount: a "
        f"{amounts} below zero. formula-overwritten: a constant where the column's cells hold "
        "formulas."
    )


def _either(columns: Sequence[str], roles: dict[str, str]) -> str:
    """`A, B or C`: each column by its role where it has one, else by its name."""
    words = [roles.get(column, column) for column in columns] or ["(no column configured)"]
    if len(words) == 1:
        return words[0]
    return f"{', '.join(words[:-1])} or {words[-1]}"


def _utc(moment: dt.datetime) -> str:
    return f"{minutes(moment)} UTC"


def _parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None
