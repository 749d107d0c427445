"""`auditor weeks` as a terminal table, JSON and markdown, from one model
(auditor.audit.weeks.BilledWeeks).

Money is shown with two decimals and thousands separators, and given exactly in JSON, as
decimal text (`"-430.1"`), never as a float. Work requests are sheet text: inert in the
table, escaped in markdown, exact in JSON.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from auditor.audit.weeks import BilledWeek, BilledWeeks, Figures, WeekBaseline
from auditor.markup import escape
from auditor.store.invoices import Mark
from auditor.text import inert, iso, plural, shorten

NO_REQUEST = "(none)"
REQUEST_SHOWN = 60


def amount(value: Decimal, signed: bool = False) -> str:
    """`1,234.50`; with `signed`, `+1,234.50` and `-0.10` (and `0.00` for nothing)."""
    text = f"{value:,.2f}"
    return f"+{text}" if signed and value > 0 else text


def baseline_text(baseline: WeekBaseline) -> str:
    """`invoice (a283d8187f)` or `calendar (6d858f8629)`: the tag is the week's own,
    `billed/<sheet_id>/<week ending>`, and the JSON names it."""
    return f"{baseline.kind} ({baseline.commit[:10]})"


def _figures(figures: Figures) -> dict[str, Any]:
    return {
        "billed_total": str(figures.billed_total),
        "current_total": str(figures.current_total),
        "delta": str(figures.delta),
        "rows_added": figures.rows_added,
        "rows_removed": figures.rows_removed,
        "rows_changed": figures.rows_changed,
    }


def weeks_document(weeks: BilledWeeks) -> dict[str, Any]:
    """The JSON document: the snapshot compared, then one entry per sheet's week."""
    return {
        "commit": weeks.commit,
        "time": iso(weeks.time),
        "delta": str(weeks.delta),
        "weeks": [
            {
                "sheet_id": week.sheet_id,
                "week_ending": week.week_ending.isoformat(),
                "baseline": {
                    "kind": week.baseline.kind,
                    "commit": week.baseline.commit,
                    "tag": week.baseline.tag,
                },
                **_figures(week),
                "work_requests": [
                    {"work_request": request.work_request, **_figures(request)}
                    for request in week.work_requests
                ],
            }
            for week in weeks.weeks
        ],
    }


def _row(figures: Figures) -> list[str]:
    return [
        amount(figures.billed_total),
        amount(figures.current_total),
        amount(figures.delta, signed=True),
        str(figures.rows_added),
        str(figures.rows_removed),
        str(figures.rows_changed),
    ]


def _request(week: BilledWeek, by_request: bool) -> list[tuple[str, Figures]]:
    """The work requests shown under a week: with `--by work-request`, those that moved."""
    if not by_request:
        return []
    return [
        (shorten(request.work_request or NO_REQUEST, REQUEST_SHOWN), request)
        for request in week.work_requests
        if request.moved
    ]


def print_weeks(console: Console, weeks: BilledWeeks, by_request: bool) -> None:
    """One line per week (and under it, with `by_request`, one per work request that
    moved), then the total difference."""
    table = Table(
        "sheet", "week ending", "work request", "baseline", "billed", "now", "delta",
        "+rows", "-rows", "changed",
    )  # fmt: skip
    for week in weeks.weeks:
        table.add_row(
            week.sheet_id, str(week.week_ending), "", baseline_text(week.baseline), *_row(week)
        )
        for name, request in _request(week, by_request):
            table.add_row("", "", inert(name), "", *_row(request))
    console.print(f"Billed weeks at {weeks.commit[:10]} ({iso(weeks.time)})")
    console.print(table)
    console.print(summary_line(weeks))


def summary_line(weeks: BilledWeeks) -> str:
    """`-430.10 moved in 1 of 3 billed weeks (1 work request)`."""
    requests = plural(len(weeks.moved_requests), "work request")
    return (
        f"{amount(weeks.delta, signed=True)} moved in {len(weeks.moved)} of "
        f"{plural(len(weeks.weeks), 'billed week')} ({requests})"
    )


def weeks_markdown(weeks: BilledWeeks, by_request: bool) -> str:
    """A markdown table of the weeks, as the terminal table."""
    header = ["Sheet", "Week ending", "Work request", "Baseline", "Billed", "Now", "Delta"]
    header += ["+rows", "-rows", "Changed"]
    lines = [
        f"## Billed weeks at `{weeks.commit[:10]}` ({iso(weeks.time)})",
        "",
        summary_line(weeks),
        "",
        "| " + " | ".join(header) + " |",
        "|" + " --- |" * len(header),
    ]
    for week in weeks.weeks:
        base = baseline_text(week.baseline)
        lines.append(_md([week.sheet_id, str(week.week_ending), "", base, *_row(week)]))
        for name, request in _request(week, by_request):
            lines.append(_md(["", "", escape(name), "", *_row(request)]))
    return "\n".join(lines) + "\n"


def _md(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def print_marks(console: Console, marks: list[Mark]) -> None:
    """`invoice --list`: each mark, its snapshot, its note, and the targets it replaced."""
    table = Table("mark", "snapshot", "fetched (UTC)", "note", "moved from")
    for mark in marks:
        moved = ", ".join(commit[:10] for commit in mark.replaced)
        table.add_row(mark.tag, mark.commit[:10], iso(mark.time), inert(mark.note), moved)
    console.print(table)
    if not marks:
        console.print("no invoice marks yet: `auditor invoice WEEK_ENDING` makes one")
