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
import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter
from pathlib import Path
from typing import Any, Generic, TypeVar

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, LineChart
from openpyxl.styles import Alignment, Font, PatternFill

from auditor.audit.closed_period import WEEK_NAMED
from auditor.audit.events import closed_moved, net_impact
from auditor.audit.facts import day, week_of
from auditor.audit.model import Event, Violation, Violations
from auditor.audit.rules import RULES
from auditor.audit.settings import Settings
from auditor.audit.weeks import BilledWeek, WorkRequestWeek
from auditor.config import Config
from auditor.diff.model import Diff, RowChange, SheetDiff
from auditor.outputs.changes import answer, billing_line, violation_entries
from auditor.outputs.report import Report, TrendPoint
from auditor.outputs.xlsx_rows import MONEY, Body, Money, save, text_cell
from auditor.outputs.xlsx_tables import (
    FILLS,
    Chart,
    Colouring,
    Column,
    Table,
    new_sheet,
    set_widths,
    shown_width,
    write_table,
)
from auditor.snapshot.model import Row
from auditor.snapshot.normalize import to_decimal
from auditor.text import minutes, money, parse_time, utc

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
class ChangeLine(InSheet[Event]):
    """A line of the Changes sheet: the event, its values as shown (money as money, a
    whole row as its billing line), and who changed it and when, as far as is known."""

    old: Any
    new: Any
    delta: Any
    by: str | None
    at: Any


@dataclass(frozen=True)
class Listed(InSheet[Violation]):
    """A line of the Violations sheet: a violation, its status in the pair, its row's
    billing context where the pair holds the row, and what to do about it."""

    status: str
    work_request: Any = None
    week: dt.date | None = None
    billed: Any = None
    now: Any = None
    difference: Any = None
    action: str = ""


# Columns that several tables share, declared once.
SHEET = Column("Sheet", 10, "sheet")
ROW_KEY = Column("Row key", 12, "item.key")
COLUMN = Column("Column", 10, "item.column")
SEVERITY = Column("Severity", 9, "item.severity")
WORK_REQUEST = Column("Work request", 11, "item.work_request")
MONEY_MOVED = "Money moved"

CHANGES: Table[ChangeLine] = Table(
    "Changes",
    [
        WORK_REQUEST,
        Column("Week ending", 11, "item.week_ending"),
        Column("CU", 6, "item.cu"),
        Column("Pole", 8, "item.pole"),
        Column("Change", 10, "item.kind"),
        COLUMN,
        Column("Old", 8, "old"),
        Column("New", 8, "new"),
        Column("Difference", 10, "delta"),
        Column(MONEY_MOVED, 11, "item.money_impact", MONEY),
        SEVERITY,
        Column("Week closed", 7, "item.closed"),
        Column("Changed by", 12, "by"),
        Column("Changed at (UTC)", 12, "at"),
        Column("Attribution", 9, "item.attribution"),
        SHEET,
        ROW_KEY,
    ],
    colouring=Colouring(severity="Severity"),
)

SCHEMA: Table[SchemaChange] = Table(
    "Schema changes",
    [
        SHEET,
        Column("Change", 10, "change"),
        Column("Column", 10, lambda line: line.old if line.new is None else line.new),
        Column("Old title", 10, "old"),
        Column("New title", 10, "new"),
    ],
)

VIOLATIONS: Table[Listed] = Table(
    "Violations",
    [
        Column("Work request", 11, "work_request"),
        Column("Week ending", 11, "week"),
        Column("Status", 8, "status"),
        SEVERITY,
        Column("Rule", 10, "item.rule"),
        COLUMN,
        Column("Billed", 9, "billed"),
        Column("Now", 9, "now"),
        Column("Difference", 10, "difference"),
        Column("Action", 20, "action"),
        Column("Message", 20, "item.message"),
        SHEET,
        ROW_KEY,
    ],
    colouring=Colouring(severity="Severity", status="Status"),
)

# Not filtered: a filter would hide snapshots from the charts beside the table.
TREND: Table[TrendPoint] = Table(
    "Trend",
    [
        Column("Snapshot", 10, lambda point: point.commit[:10]),
        Column("Fetched (UTC)", 12, "time"),
        Column("Rows", 6, "rows", COUNT),
        Column("Total billed", 12, "billed", MONEY),
        Column("Changes", 8, "changes", COUNT),
        Column("Open violations", 9, "open_violations", COUNT),
    ],
    filtered=False,
    categories="Fetched (UTC)",
    charts=[
        Chart(LineChart, "Total billed", ("Total billed",), axis="USD", from_zero=True),
        Chart(BarChart, "Changes and open violations", ("Changes", "Open violations")),
    ],
)


@dataclass(frozen=True)
class WeekLine(InSheet[BilledWeek]):
    """A line of the Billed weeks sheet: a week, how its baseline was chosen, and its
    severity where its billed difference is not zero."""

    baseline: str
    severity: str | None


@dataclass(frozen=True)
class RequestLine(InSheet[WorkRequestWeek]):
    """A work request of a week that moved since it was billed."""

    week: dt.date


# A week's and a work request's figures (`Figures`), billed against now.
BILLED_NOW = [
    Column("Billed", 12, "item.billed_total", MONEY),
    Column("Now", 12, "item.current_total", MONEY),
    Column("Difference", 11, "item.delta", MONEY),
]
SINCE_BILLED = [
    Column("Rows added", 7, "item.rows_added", COUNT),
    Column("Rows removed", 7, "item.rows_removed", COUNT),
    Column("Rows changed", 7, "item.rows_changed", COUNT),
]

BILLED_WEEKS: Table[WeekLine] = Table(
    "Billed weeks",
    [
        Column("Week ending", 11, "item.week_ending"),
        SHEET,
        Column("Baseline", 16, "baseline"),
        *BILLED_NOW,
        Column("Severity", 9, "severity"),
        *SINCE_BILLED,
    ],
    colouring=Colouring(severity="Severity"),
    filtered=False,
    categories="Week ending",
    charts=[Chart(BarChart, "Difference from the bill, by week", ("Difference",), axis="USD")],
)

BILLED_BY_REQUEST: Table[RequestLine] = Table(
    "Billed by work request",
    [
        Column("Week ending", 11, "week"),
        Column("Work request", 11, "item.work_request"),
        *BILLED_NOW,
        *SINCE_BILLED,
        SHEET,
    ],
)


def _week_lines(report: Report) -> list[WeekLine]:
    """Every week closed or invoiced at the newer snapshot, oldest first."""
    names = {sheet.sheet_id: sheet.name for sheet in report.diff.sheets}
    lines = []
    for week in report.weeks.weeks if report.weeks else []:
        base = week.baseline
        how = f"invoice {base.tag}" if base.tag else f"{base.kind} {base.commit[:10]}"
        rated = report.settings.severity(week.delta, closed=True) if week.delta else None
        lines.append(WeekLine(names.get(week.sheet_id, week.sheet_id), week, how, rated))
    return lines


def _request_lines(report: Report) -> list[RequestLine]:
    """The work requests that moved, of the weeks that moved."""
    names = {sheet.sheet_id: sheet.name for sheet in report.diff.sheets}
    return [
        RequestLine(names.get(week.sheet_id, week.sheet_id), request, week.week_ending)
        for week in (report.weeks.weeks if report.weeks else [])
        for request in week.work_requests
        if week.moved and request.moved
    ]


def write_report(path: Path, report: Report) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)  # a folder that cannot be, fails first
    book = Workbook(write_only=True)
    _summary(book, report)
    bodies = [
        write_table(book, CHANGES, _changes(report)),
        _whole_rows(book, "Rows added", report, attrgetter("rows_added")),
        _whole_rows(book, "Rows removed", report, attrgetter("rows_removed")),
        write_table(book, SCHEMA, _schema_changes(report.diff.sheets)),
        write_table(book, VIOLATIONS, _listed(report)),
        write_table(book, BILLED_WEEKS, _week_lines(report)),
        write_table(book, BILLED_BY_REQUEST, _request_lines(report)),
        write_table(book, TREND, reversed(report.trend)),
    ]
    _guide(book, report.settings)
    save(book, bodies, path)
    return path


def change_rows(report: Report) -> list[list[Any]]:
    """The Changes sheet's rows, in its columns' order."""
    return CHANGES.rows(_changes(report))


def violation_rows(report: Report) -> list[list[Any]]:
    """The Violations sheet's rows, in its columns' order."""
    return VIOLATIONS.rows(_listed(report))


def amount(value: Any, config: Config, column: str | None) -> Any:
    """A value of a money column as money (written with the currency format); any other
    value as it is."""
    if column not in config.money_columns or isinstance(value, bool):
        return value
    number = value if isinstance(value, Decimal) else to_decimal(value)
    return Money(number) if number is not None else value


def _changes(report: Report) -> list[ChangeLine]:
    names = {s.sheet_id: s.name for s in report.diff.sheets}
    config = report.settings.config
    rows = ("row added", "row removed")
    lines = []
    for event in report.events:
        whole = event.kind in rows
        old, new = (
            (_line(event.old, config), _line(event.new, config))
            if whole
            else (amount(event.old, config, event.column), amount(event.new, config, event.column))
        )
        delta = amount(event.delta, config, event.column)
        by, at = _who(event, report)
        name = names.get(event.sheet_id, event.sheet_id)
        lines.append(ChangeLine(name, event, old, new, delta, by, at))
    return lines


def _line(row: Any, config: Config) -> str | None:
    return billing_line(row, config) if isinstance(row, dict) else None


def _who(event: Event, report: Report) -> tuple[str | None, Any]:
    """Who changed it and when: for a removed row only its last editor before, and the two
    fetches it was deleted between (Smartsheet keeps no record of a deletion)."""
    if event.kind != "row removed":
        return event.modified_by, _parse_time(event.modified_at)
    diff = report.diff
    by = f"{event.modified_by} (last editor)" if event.modified_by else None
    return by, f"deleted between {minutes(diff.old.time)} and {utc(diff.new.time)}"


def _listed(report: Report) -> list[Listed]:
    names = {s.sheet_id: s.name for s in report.diff.sheets}
    rows = {
        s.sheet_id: {
            **report.violated_rows.get(s.sheet_id, {}),
            **{k: r.cells for k, r in s.old_rows.items()},
            **{k: r.cells for k, r in s.new_rows.items()},
        }
        for s in report.diff.sheets
    }
    settings = report.settings
    config = settings.config
    lines = []
    for sheet_id, audit in report.violations.items():
        for status, violation in violation_entries(audit):
            cells = rows.get(sheet_id, {}).get(violation.key, {})
            weeks = WEEK_NAMED.search(violation.message)
            week = week_of(cells, settings) or (day(weeks[1]) if weeks else None)
            column = violation.column if violation.column is not None else config.price_column
            billed = amount(violation.billed, config, column)
            now = amount(violation.now, config, column)
            lines.append(
                Listed(
                    names.get(sheet_id, sheet_id),
                    violation,
                    status,
                    cells.get(config.work_request_column),
                    week,
                    billed,
                    now,
                    _difference(violation, config, column),
                    RULES[violation.rule].action if violation.rule in RULES else "",
                )
            )
    return lines


def _difference(violation: Violation, config: Config, column: str) -> Any:
    """Now minus billed where either is a number (an added row was billed nothing)."""
    if violation.billed is None and violation.now is None:
        return None
    before, after = to_decimal(violation.billed), to_decimal(violation.now)
    if (before is None and violation.billed is not None) or (
        after is None and violation.now is not None
    ):
        return None
    return amount((after or Decimal(0)) - (before or Decimal(0)), config, column)


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
    report: Report,
    pick: Callable[[SheetDiff], list[RowChange]],
) -> Body:
    """Rows added or removed, the billing columns first (work request, week, CU, pole,
    quantity, price), then who and when, then every other column in the order first
    seen; money as money, dates as dates."""
    config = report.settings.config
    lines = [InSheet(sheet.name, change) for sheet in report.diff.sheets for change in pick(sheet)]
    billing = (
        config.work_request_column,
        config.week_column,
        config.cu_column,
        config.pole_column,
        config.quantity_column,
        *config.money_columns,
    )
    seen = dict.fromkeys(name for line in lines for name in line.item.row)
    lead = [name for name in dict.fromkeys(billing) if name in seen]
    names = dict.fromkeys([*lead, *seen])
    columns = [Column(name, 8, _cell_of(name, config)) for name in names]
    if title == "Rows removed":
        times = f"{minutes(report.diff.old.time)} and {utc(report.diff.new.time)}"
        rows = {k: r for s in report.diff.sheets for k, r in s.old_rows.items()}
        who = [
            Column("Last editor", 12, lambda line: _editor(rows, line.item.key)),
            Column("Deleted between", 12, lambda line: times),
        ]
    else:
        rows = {k: r for s in report.diff.sheets for k, r in s.new_rows.items()}
        who = [
            Column("Added by", 12, lambda line: _editor(rows, line.item.key)),
            Column("Added at (UTC)", 12, lambda line: _stamp(rows, line.item.key)),
        ]
    table = Table(title, [*columns[: len(lead)], *who, *columns[len(lead) :], SHEET, ROW_KEY])
    return write_table(book, table, lines)


def _editor(rows: dict[str, Row], key: str) -> str | None:
    row = rows.get(key)
    return row.modified_by if row else None


def _stamp(rows: dict[str, Row], key: str) -> dt.datetime | None:
    row = rows.get(key)
    return _parse_time(row.modified_at) if row else None


def _cell_of(column: str, config: Config) -> Callable[[InSheet[RowChange]], Any]:
    dates = column in config.date_columns

    def value(line: InSheet[RowChange]) -> Any:
        cell = line.item.row.get(column)
        if dates and isinstance(cell, str):
            return day(cell) or cell
        return amount(cell, config, column)

    return value


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
    sheet.append([_cell(sheet, answer(report.events, weeks=report.weeks), bold=True)])
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
    sheet.append([_severity_text(report.settings) + " Times are UTC."])


def _severity_text(settings: Settings) -> str:
    """`Settings.severity` in words, for the Summary and the Guide."""
    return (
        f"Severity: by the money a change or violation moves (high over "
        f"{money(settings.high)}, medium over {money(settings.medium)}, else low), one step "
        "higher where its week is closed: a $0 edit of a closed week is medium."
    )


def _compared(sheet: Any, report: Report) -> None:
    """The title, and what was compared: the two snapshots and each sheet's versions."""
    title = WriteOnlyCell(sheet, value="Billing audit report")
    title.font = Font(bold=True, size=16)
    sheet.append([title])
    old, new = report.diff.old, report.diff.new
    sheet.append([f"From snapshot {old.commit[:10]}, fetched {utc(old.time)}"])
    sheet.append([f"To snapshot {new.commit[:10]}, fetched {utc(new.time)}"])
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
    moved = closed_moved(events)
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
            "Money moved in closed weeks, gross",
            moved.gross,
            "Every change of a closed week's price, added or removed row, counted by its size: "
            "what must be credited or re-billed.",
            MONEY,
        ),
        _figure(
            sheet,
            "Money moved in closed weeks, net",
            moved.net,
            "The same changes summed: credits and re-bills cancel out.",
            MONEY,
        ),
        _figure(
            sheet,
            "Money moved, net",
            net_impact(events),
            "Sum of price changes, plus prices of added rows, minus prices of removed rows, in "
            "every week.",
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


GUIDE_WIDTHS = (28, 110)
LINE_HEIGHT = 15
"""Points a line of the default 11-point font takes: Excel and LibreOffice do not grow a
row written with wrapped text, so the Guide sets each row's height from its lines."""


def _guide(book: Workbook, settings: Settings) -> None:
    sheet = new_sheet(book, "Guide")
    set_widths(sheet, GUIDE_WIDTHS)
    for number, (name, text, fill) in enumerate(_guide_text(settings), start=1):
        sheet.row_dimensions[number].height = LINE_HEIGHT * wrapped_lines(text, GUIDE_WIDTHS[1])
        cell = _cell(sheet, text, fill=fill)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        heading = _cell(sheet, name, bold=True)
        heading.alignment = Alignment(vertical="top")
        sheet.append([heading, cell])


def wrapped_lines(text: str, width: int) -> int:
    """The lines `text` takes wrapped in a column `width` characters wide (with a margin
    for a proportional font), each of its own lines at least one."""
    return sum(max(1, math.ceil(shown_width(line) / width)) for line in text.split("\n"))


def _guide_text(settings: Settings) -> list[tuple[str, str, PatternFill | None]]:
    """What each sheet shows, what severity and each rule mean, in the configuration's
    terms: the rules' text is their own (`RULES`)."""
    config = settings.config
    rows: list[tuple[str, str, PatternFill | None]] = [
        (name, text, None) for name, text in _sheet_texts(settings).items()
    ]
    rows += [
        (
            f"Colour: {severity}",
            f"{severity.capitalize()} severity: changes, and open violations.",
            fill,
        )
        for severity, fill in FILLS.items()
    ]
    rows += [
        (
            f"Rule: {rule.id}",
            f"Holds when {rule.describe(config)}.\nMoney moved: {rule.money}.\n"
            f"Action: {rule.action}.",
            None,
        )
        for rule in RULES.values()
    ]
    rows.append(("Times", "Every time is UTC; Excel stores them without a zone.", None))
    return rows


def _sheet_texts(settings: Settings) -> dict[str, str]:
    """What each sheet of the workbook shows, by name."""
    config = settings.config
    money_columns = config.money_columns
    counted = (
        f"the money {'column' if len(money_columns) == 1 else 'columns'} "
        f"({', '.join(money_columns)}) only"
        if money_columns
        else "no column (no money column is configured)"
    )
    return {
        "Summary": "What was compared (the two snapshots, their fetch times and sheet "
        "versions), the money moved in closed weeks, and the key figures, each explained "
        "beside it.",
        "Changes": "One row per change: a changed cell, an added or removed row (shown as "
        "its billing line: work request, CU x quantity, price), a changed formula or "
        f"column. Difference is new minus old where both are numbers; money moved counts "
        f"{counted}. 'Changed by/at' is who changed the cell where Attribution says 'cell' "
        "(from Smartsheet's cell history); where it says 'row', it is the row's last "
        "modifier, who may have changed another cell of the row. A removed row shows its "
        "last editor and the two fetches it was deleted between: Smartsheet keeps no "
        "record of who deleted it, or when.",
        "Rows added / Rows removed": "The whole rows, one per line, the billing columns first.",
        "Schema changes": "Columns added, removed or renamed (renames are detected by column id).",
        "Violations": "Billing-rule violations: new (holds now, did not before), resolved, "
        f"ongoing (still open) and waived (covered by {config.waivers}); Billed and Now are "
        "the two values the rule compares (for price-mismatch, quantity x the rate table's "
        "unit price and the price on the sheet), Difference is Now minus Billed, and Action "
        "what to do about it.",
        "Billed weeks": "Every week closed or invoiced at the later snapshot: what was "
        "billed (the week's baseline: the snapshot its invoice mark names, made with "
        "`auditor invoice`, else the one current when the week closed), what the sheet "
        "holds now, the difference (coloured by its severity) and the rows added, removed "
        "or changed since.",
        "Billed by work request": "The work requests of the weeks that moved since they "
        "were billed, with the same figures.",
        "Trend": "The last snapshots: row count, total billed, changes and open violations, "
        "read from the snapshots' summaries and commit trailers.",
        "Severity": _severity_text(settings),
    }


def _parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None
